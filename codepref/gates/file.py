"""The gates file: which benchmarks CI runs, how, and the pass/fail rule for each of their figures.

One TOML file in the repository (benchmarks/gates.toml) declares everything: a benchmark is a script run with
its arguments, which writes its figures as JSON; each gate names one figure (a dotted path into that JSON)
and a rule; speed figures are listed apart and are only printed. Every gate carries the date and command
that produced its baseline, so changing a threshold is a reviewed edit of this file, never a flag.

Any mistake in the file is reported as one line naming the file and the key (GatesFileError).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GATE_KINDS = ("within", "at_least", "at_most", "equals", "only_listed")
# The keys each kind needs besides the common ones; `only_listed` checks a list of items (e.g. disagreeing
# verdicts) against explained exceptions: `item` formats an item's identity from its fields.
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "within": ("target", "tolerance", "baseline"),
    "at_least": ("min", "baseline"),
    "at_most": ("max", "baseline"),
    "equals": ("value", "baseline"),
    "only_listed": ("allowed",),
}
COMMON_GATE_KEYS = ("name", "figure", "kind", "date", "command")
OPTIONAL_GATE_KEYS = ("item", "why")
BENCHMARK_KEYS = ("name", "script", "args", "figures", "timeout_min")
OPTIONAL_BENCHMARK_KEYS = ("data", "gate", "speed")
SPEED_KEYS = ("label", "ours", "peer", "unit", "better")
PLACEHOLDERS = ("{out}", "{data}", "{backend}")


class GatesFileError(ValueError):
    """The gates file cannot be used; the message is one line naming the file and the key."""


@dataclass(frozen=True)
class Gate:
    name: str
    figure: str  # dotted path into the benchmark's figures; `key=value` picks a list element by a field
    kind: str  # one of GATE_KINDS
    date: str  # when the baseline was measured
    command: str  # the command that measured it
    params: dict[str, Any]  # the kind's own keys (target, tolerance, min, max, value, allowed, baseline)
    item: str = "{}"  # only_listed: format of an item's identity from its fields
    why: str = ""  # where the threshold comes from


@dataclass(frozen=True)
class SpeedFigure:
    """A speed figure and its peer measured in the same run; printed with their ratio, never gated."""

    label: str
    ours: str  # figure path
    peer: str  # figure path
    unit: str
    better: str  # "higher" (rates) or "lower" (times)


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str  # path from the repository root
    args: tuple[str, ...]  # {out}: its output folder; {data}: the data folder; {backend}: the sandbox backend
    figures: str  # the JSON file the script writes, relative to {out}
    timeout_min: float
    data: tuple[str, ...] = ()  # files the benchmark reads from the data folder; a missing one fails it
    gates: tuple[Gate, ...] = ()
    speed: tuple[SpeedFigure, ...] = ()


@dataclass(frozen=True)
class GatesFile:
    path: Path
    code: tuple[str, ...]  # paths whose content, with each benchmark's own inputs, decides reruns
    benchmarks: tuple[Benchmark, ...] = field(default_factory=tuple)

    def benchmark(self, name: str) -> Benchmark:
        for benchmark in self.benchmarks:
            if benchmark.name == name:
                return benchmark
        raise GatesFileError(f"{self.path}: no benchmark named '{name}'")


def load_gates(path: str | Path) -> GatesFile:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise GatesFileError(f"{path}: cannot be read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise GatesFileError(f"{path}: not valid TOML ({err})") from None
    check_keys(raw, ("code", "benchmark"), (), f"{path}")
    code = string_list(raw, "code", f"{path}: key 'code'")
    benchmarks = raw["benchmark"]
    if not isinstance(benchmarks, list) or not benchmarks:
        raise GatesFileError(f"{path}: key 'benchmark' should be a non-empty array of tables ([[benchmark]])")
    parsed = [parse_benchmark(entry, str(path), index + 1) for index, entry in enumerate(benchmarks)]
    names = [b.name for b in parsed]
    for name in names:
        if names.count(name) > 1:
            raise GatesFileError(f"{path}: benchmark name '{name}' is used twice")
    return GatesFile(path=path, code=tuple(code), benchmarks=tuple(parsed))


def parse_benchmark(entry: Any, file: str, number: int) -> Benchmark:
    if not isinstance(entry, dict):
        raise GatesFileError(f"{file}: benchmark #{number}: should be a table")
    where = f"{file}: benchmark {label(entry, number)}"
    check_keys(entry, BENCHMARK_KEYS, OPTIONAL_BENCHMARK_KEYS, where)
    name = typed(entry, "name", str, where)
    args = string_list(entry, "args", f"{where}: key 'args'")
    for arg in args:
        stripped = arg
        for placeholder in PLACEHOLDERS:
            stripped = stripped.replace(placeholder, "")
        if "{" in stripped or "}" in stripped:
            raise GatesFileError(
                f"{where}: key 'args' item {arg!r} has an unknown placeholder (known: {', '.join(PLACEHOLDERS)})"
            )
    timeout = typed(entry, "timeout_min", (int, float), where)
    if timeout <= 0:
        raise GatesFileError(f"{where}: key 'timeout_min' should be positive")
    gates = entry.get("gate", [])
    speed = entry.get("speed", [])
    if not isinstance(gates, list) or not isinstance(speed, list):
        raise GatesFileError(f"{where}: keys 'gate' and 'speed' should be arrays of tables")
    parsed_gates = tuple(parse_gate(gate, where, i + 1) for i, gate in enumerate(gates))
    gate_names = [gate.name for gate in parsed_gates]
    for gate_name in gate_names:
        if gate_names.count(gate_name) > 1:
            raise GatesFileError(f"{where}: gate name '{gate_name}' is used twice")
    return Benchmark(
        name=name,
        script=typed(entry, "script", str, where),
        args=tuple(args),
        figures=typed(entry, "figures", str, where),
        timeout_min=float(timeout),
        data=tuple(string_list(entry, "data", f"{where}: key 'data'")) if "data" in entry else (),
        gates=parsed_gates,
        speed=tuple(parse_speed(item, f"{where} speed #{i + 1}") for i, item in enumerate(speed)),
    )


def parse_gate(entry: Any, benchmark_where: str, number: int) -> Gate:
    if not isinstance(entry, dict):
        raise GatesFileError(f"{benchmark_where} gate #{number}: should be a table")
    where = f"{benchmark_where} gate {label(entry, number)}"
    kind = entry.get("kind")
    if kind not in GATE_KINDS:
        raise GatesFileError(f"{where}: key 'kind' should be one of {', '.join(GATE_KINDS)}, not {kind!r}")
    check_keys(entry, COMMON_GATE_KEYS + KIND_KEYS[kind], OPTIONAL_GATE_KEYS, where)
    name = typed(entry, "name", str, where)
    params = {key: entry[key] for key in KIND_KEYS[kind]}
    for key in ("target", "tolerance", "min", "max"):
        if key in params and (isinstance(params[key], bool) or not isinstance(params[key], int | float)):
            raise GatesFileError(f"{where}: key '{key}' should be a number")
    if kind == "only_listed":
        allowed = params["allowed"]
        if not isinstance(allowed, dict) or not all(
            isinstance(v, str) and v.strip() for v in allowed.values()
        ):
            raise GatesFileError(f"{where}: key 'allowed' should map each listed item to its explanation")
    return Gate(
        name=name,
        figure=typed(entry, "figure", str, where),
        kind=kind,
        date=typed(entry, "date", str, where),
        command=typed(entry, "command", str, where),
        params=params,
        item=typed(entry, "item", str, where) if "item" in entry else "{}",
        why=typed(entry, "why", str, where) if "why" in entry else "",
    )


def parse_speed(entry: Any, where: str) -> SpeedFigure:
    if not isinstance(entry, dict):
        raise GatesFileError(f"{where}: should be a table")
    check_keys(entry, SPEED_KEYS, (), where)
    figure = SpeedFigure(**{key: typed(entry, key, str, where) for key in SPEED_KEYS})
    if figure.better not in ("higher", "lower"):
        raise GatesFileError(f"{where}: key 'better' should be 'higher' or 'lower'")
    return figure


def label(entry: dict, number: int) -> str:
    """How an entry is named in messages: by its name when it has one, else by its position."""
    return f"'{entry['name']}'" if isinstance(entry.get("name"), str) else f"#{number}"


def check_keys(entry: dict, required: tuple[str, ...], optional: tuple[str, ...], where: str) -> None:
    for key in entry:  # first, so that a misspelt key is named as such rather than as a missing one
        if key not in required and key not in optional:
            raise GatesFileError(f"{where}: unknown key '{key}' (known: {', '.join(required + optional)})")
    for key in required:
        if key not in entry:
            raise GatesFileError(f"{where}: key '{key}' is missing")


def typed(entry: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise GatesFileError(f"{where}: key '{key}' should be a {names}, not {value!r}")
    return value


def string_list(entry: dict, key: str, where: str) -> list[str]:
    value = entry[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise GatesFileError(f"{where} should be a list of strings")
    return value
