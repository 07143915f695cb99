"""Judging a benchmark's figures against its gates, and reading its speed figures.

A figure is named by a dotted path into the benchmark's JSON: `rankers.codet.pass1`. A list of records is
indexed by one of their fields: `set=canonical.disagreements` is the `disagreements` of the record whose
`set` is `canonical`. A figure that is missing fails its gate, as does one of the wrong type.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from codepref.gates.file import Gate, SpeedFigure

MAX_ITEMS_SHOWN = 10  # unexplained items named in a failure line; the JSON results keep them all


class FigureMissing(LookupError):
    pass


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    value: Any  # the figure (for only_listed: how many items)
    threshold: str  # the rule, as text
    detail: str = ""  # why it failed, or notes (e.g. listed exceptions that no longer occur)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SpeedResult:
    label: str
    ours: float | None
    peer: float | None
    unit: str
    ratio: float | None  # > 1: ours is better (faster rate or shorter time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def figure(figures: Any, path: str) -> Any:
    value = figures
    for segment in path.split("."):
        if isinstance(value, list) and "=" in segment:
            field, wanted = segment.split("=", 1)
            matches = [
                entry for entry in value if isinstance(entry, dict) and str(entry.get(field)) == wanted
            ]
            if len(matches) != 1:
                raise FigureMissing(f"figure '{path}': {len(matches)} records have {field}={wanted}")
            value = matches[0]
        elif isinstance(value, dict) and segment in value:
            value = value[segment]
        else:
            raise FigureMissing(f"figure '{path}' is missing from the results (at '{segment}')")
    return value


def number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise FigureMissing(f"figure '{path}' should be a number, not {value!r}")
    return float(value)


def judge(gate: Gate, figures: Any) -> GateResult:
    rule = describe(gate)
    try:
        value = figure(figures, gate.figure)
        if gate.kind == "only_listed":
            return judge_listed(gate, value, rule)
        if gate.kind == "equals":
            return GateResult(gate.name, value == gate.params["value"], value, rule)
        measured = number(value, gate.figure)
    except FigureMissing as missing:
        return GateResult(gate.name, False, None, rule, str(missing))
    p = gate.params
    if gate.kind == "within":
        passed = abs(measured - p["target"]) <= p["tolerance"]
    elif gate.kind == "at_least":
        passed = measured >= p["min"]
    else:
        passed = measured <= p["max"]
    return GateResult(gate.name, passed, value, rule)


def judge_listed(gate: Gate, items: Any, rule: str) -> GateResult:
    if not isinstance(items, list):
        raise FigureMissing(f"figure '{gate.figure}' should be a list, not {type(items).__name__}")
    try:
        seen = [
            gate.item.format(**item) if isinstance(item, dict) else gate.item.format(item) for item in items
        ]
    except (KeyError, IndexError) as err:
        raise FigureMissing(f"figure '{gate.figure}': item format {gate.item!r} needs field {err}") from None
    allowed = gate.params["allowed"]
    unexplained = [item for item in seen if item not in allowed]
    gone = [item for item in allowed if item not in seen]
    notes = []
    if unexplained:
        shown = ", ".join(unexplained[:MAX_ITEMS_SHOWN])
        more = f" and {len(unexplained) - MAX_ITEMS_SHOWN} more" if len(unexplained) > MAX_ITEMS_SHOWN else ""
        notes.append(f"{len(unexplained)} not listed: {shown}{more}")
    if gone:
        notes.append(f"listed but not seen this run: {', '.join(gone)}")
    return GateResult(gate.name, not unexplained, len(seen), rule, "; ".join(notes))


def describe(gate: Gate) -> str:
    p = gate.params
    if gate.kind == "within":
        return f"{p['target']} ± {p['tolerance']}"
    if gate.kind == "at_least":
        return f">= {p['min']}"
    if gate.kind == "at_most":
        return f"<= {p['max']}"
    if gate.kind == "equals":
        return f"== {p['value']!r}"
    return f"only the {len(p['allowed'])} listed"


def read_speed(speed: SpeedFigure, figures: Any) -> SpeedResult:
    values = []
    for path in (speed.ours, speed.peer):
        try:
            values.append(number(figure(figures, path), path))
        except FigureMissing:
            values.append(None)
    ours, peer = values
    ratio = None
    if ours and peer:
        ratio = ours / peer if speed.better == "higher" else peer / ours
    return SpeedResult(speed.label, ours, peer, speed.unit, ratio)
