"""Settings declared once, on their dataclass fields: a field's default, help, allowed choices and range all
live in its `setting(...)`, so the class's own check, the loop config's validator and the command-line
options read one declaration (TRL's `field(metadata={"help": ...})` pattern, with the rules beside the help).

`check_settings` checks every declared choice and range of an instance, nested settings included, and names
each bad value in one line: the key and what is allowed. Rules that tie two fields together cannot be
declared on one field; their classes check them in code beside the `check_settings` call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Any


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    choices: Sequence[Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field carrying its help and rules: `choices` it must be one of, `minimum` / `maximum` it
    must not pass, bounds it must lie strictly `above` or `below`. Where the default is None, None (unset)
    passes."""
    rules = {"choices": choices, "minimum": minimum, "maximum": maximum, "above": above, "below": below}
    metadata = {"help": help, **{name: rule for name, rule in rules.items() if rule is not None}}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


class SettingsError(ValueError):
    """Bad settings, every one of them: `problems` holds (key, what is allowed) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


def raise_problems(problems: list[tuple[str, str]]) -> None:
    """A class's own check: every problem at once, or nothing."""
    if problems:
        raise SettingsError(problems)


def check_settings(instance: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(key, what is wrong) for every value outside its declared choices or range; nested settings (a field
    holding a dataclass, or a list of them) are checked under `prefix + name + "."`."""
    bad = []
    for f in dataclasses.fields(instance):
        value, key = getattr(instance, f.name), f"{prefix}{f.name}"
        nullable = f.default is None  # None means unset there, and is never checked
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            bad += check_settings(value, f"{key}.")
        elif isinstance(value, list) and value and all(dataclasses.is_dataclass(item) for item in value):
            for i, item in enumerate(value):
                bad += check_settings(item, f"{key}[{i}].")
        elif not (value is None and nullable) and not allowed(value, f.metadata):
            bad.append((key, f"must {in_words(f.metadata)}{' or null' if nullable else ''}, got {value!r}"))
    return bad


def allowed(value: Any, rules: Any) -> bool:
    if "choices" in rules and value not in rules["choices"]:
        return False
    low_ok = rules.get("minimum") is None or value >= rules["minimum"]
    above_ok = rules.get("above") is None or value > rules["above"]
    high_ok = rules.get("maximum") is None or value <= rules["maximum"]
    below_ok = rules.get("below") is None or value < rules["below"]
    return low_ok and above_ok and high_ok and below_ok


def in_words(rules: Any) -> str:
    """ "be one of a, b", "be >= 1", "lie in (0, 1]"."""
    allowed_text = allowed_values(rules)
    return f"{'lie in' if allowed_text[0] in '[(' else 'be'} {allowed_text}"


def allowed_values(rules: Any) -> str:
    """What a field's rules allow, in words: "one of a, b", ">= 1", "(0, 1]"; "" where it declares none."""
    if "choices" in rules:
        return f"one of {', '.join(map(str, rules['choices']))}"
    low = f"[{rules['minimum']}" if "minimum" in rules else f"({rules['above']}" if "above" in rules else None
    if low is not None and "maximum" in rules:
        return f"{low}, {rules['maximum']}]"
    if low is not None and "below" in rules:
        return f"{low}, {rules['below']})"
    if "minimum" in rules:
        return f">= {rules['minimum']}"
    if "above" in rules:
        return f"> {rules['above']}"
    if "below" in rules:
        return f"< {rules['below']}"
    return f"<= {rules['maximum']}" if "maximum" in rules else ""


def settings_table(cls: type, leave_out: Collection[str] = ()) -> list[str]:
    """A markdown table of the class's settings (but `leave_out`), read from their fields: name, default,
    what is allowed, help."""
    rows = ["| setting | default | allowed | help |", "| --- | --- | --- | --- |"]
    for f in (f for f in dataclasses.fields(cls) if f.name not in leave_out):
        default = declared_default(f)
        shown = "required" if default is dataclasses.MISSING else f"`{as_yaml(default)}`"
        cells = [f"`{f.name}`", shown, allowed_values(f.metadata), f.metadata.get("help", "")]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return rows


def declared_default(f: dataclasses.Field) -> Any:
    """The field's default (its factory's value); MISSING for a required field."""
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def as_yaml(value: Any) -> str:
    """A default as a YAML config writes it; nested settings by the values that differ from their fields'
    defaults (`{benchmark: mbpp, split: test}`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        own = [
            (f.name, getattr(value, f.name)) for f in fields if getattr(value, f.name) != declared_default(f)
        ]
        return "{" + ", ".join(f"{name}: {as_yaml(item)}" for name, item in own) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(as_yaml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {as_yaml(item)}" for key, item in value.items()) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
