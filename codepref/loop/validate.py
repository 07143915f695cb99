"""Reading a loop config: the whole file is checked before any stage runs, and every bad value gets one
line naming the file, the key and what is allowed (`ConfigError`'s message holds one line per problem)."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from codepref.data import split_problem
from codepref.loop.config import (
    TASKS,
    EvalSettings,
    GenerationSettings,
    LoopConfig,
    MatrixSettings,
    ProblemSet,
    SandboxSettings,
)
from codepref.model_judges import JUDGES
from codepref.model_judges.text_task import PromptSource, TextTaskSettings
from codepref.pairs.config import PairConfig
from codepref.records import read_yaml
from codepref.settings import SettingsError, check_settings
from codepref.steps.config import StepPairSettings
from codepref.train.config import LoraSettings, TrainConfig

SECTIONS: dict[str, type] = {
    "train_problems": ProblemSet,
    "generation": GenerationSettings,
    "sandbox": SandboxSettings,
    "matrix": MatrixSettings,
    "pairs": PairConfig,
    "train": TrainConfig,
    "eval": EvalSettings,
    "text": TextTaskSettings,
    "steps": StepPairSettings,
}


class ConfigError(ValueError):
    """A config that cannot run; one line per bad value."""


def load_loop_config(path: str | Path) -> LoopConfig:
    """Read and check a loop config file; raises ConfigError listing every problem."""
    path = Path(path)
    return config_from_dict(read_yaml(path, ConfigError), str(path))


def config_from_dict(data: Any, where: str) -> LoopConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    problems = [f"{where}: {key}: {message}" for key, message in check(data)]
    if problems:
        raise ConfigError("\n".join(problems))
    return build(data)


def check(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, what is wrong) for every bad value of a loop config given as plain data."""
    bad = [(name, "is missing") for name in ("name", "model") if name not in data]
    bad += check_fields(LoopConfig, data, "")
    if bad:
        return bad  # the values below are only meaningful once every type is right
    sections, bad = build_sections(data)
    if bad:
        return bad
    return check_values(LoopConfig(**{**data, **sections}))


def build_sections(data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The section objects of type-checked data, and what their own checks reject."""
    sections, bad = {}, []
    for key, cls in SECTIONS.items():
        if key not in data:
            continue
        values = dict(data[key])
        if cls is EvalSettings and "sets" in values:
            values["sets"] = [ProblemSet(**item) for item in values["sets"]]
        try:
            sections[key] = cls(**values)
        except SettingsError as err:
            bad += [(f"{key}.{name}", message) for name, message in err.problems]
        except ValueError as err:
            bad.append((key, str(err)))
    return sections, bad


def check_fields(cls: type, data: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    bad = [
        (f"{prefix}{key}", f"unknown setting; known: {', '.join(names)}") for key in data if key not in hints
    ]
    for key, value in data.items():
        if key not in hints:
            continue
        name = f"{prefix}{key}"
        if cls is TrainConfig and key == "lora":
            if not (value is None or isinstance(value, bool)):
                bad += check_mapping(LoraSettings, value, name, "true, false or a mapping of LoRA settings")
            continue
        nested = SECTIONS.get(key) if cls is LoopConfig else None
        if nested is not None:
            bad += check_mapping(nested, value, name, "a mapping")
        elif cls is TextTaskSettings and key == "prompts":
            bad += check_mapping(PromptSource, value, name, "a mapping ({path: ...} or {dataset: ...})")
        elif cls is EvalSettings and key == "sets":
            if not isinstance(value, list) or not value:
                bad.append((name, "must be a non-empty list of problem sets ({benchmark: ..., split: ...})"))
            else:
                for i, item in enumerate(value):
                    bad += check_mapping(ProblemSet, item, f"{name}[{i}]", "a mapping")
        elif not matches(value, hints[key]):
            bad.append((name, f"must be {describe(hints[key])}, got {value!r}"))
    return bad


def check_mapping(cls: type, value: Any, name: str, expected: str) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return [(name, f"must be {expected}, got {value!r}")]
    missing = [
        (f"{name}.{f.name}", "is missing")
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in value
    ]
    return missing + check_fields(cls, value, f"{name}.")


def matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, hint) if isinstance(hint, type) else True


def describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(option) for option in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if origin is list:
        return f"a list of {describe(typing.get_args(hint)[0])}"
    if origin is dict:
        return "a mapping"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def build(data: dict[str, Any]) -> LoopConfig:
    """The config object of data that passed `check`."""
    sections, bad = build_sections(data)
    if bad:
        raise ConfigError("\n".join(f"{key}: {message}" for key, message in bad))
    return LoopConfig(**{**data, **sections})


def check_values(cfg: LoopConfig) -> list[tuple[str, str]]:
    """Ranges and choices, once every value has the right type: the fields' declared ones, then the rules
    that tie fields together or look outside the config."""
    bad = check_settings(cfg)
    s, e = cfg.sandbox, cfg.eval
    if s.address is not None and s.backend != "ray":
        bad.append(("sandbox.address", "is only read with sandbox.backend: ray"))
    if not e.ks or not all(1 <= k <= e.samples for k in e.ks):
        bad.append(("eval.ks", f"each k must lie in 1..{e.samples}"))
    bad += text_problems(cfg)
    for name, spec in [("train_problems", cfg.train_problems)] + [
        (f"eval.sets[{i}]", spec) for i, spec in enumerate(e.sets)
    ]:
        problem = split_problem(spec.benchmark, spec.split)  # the benchmark registry says which splits exist
        if problem:
            bad.append((f"{name}.{'benchmark' if 'benchmark' in problem else 'split'}", problem))
    return bad


def text_problems(cfg: LoopConfig) -> list[tuple[str, str]]:
    """What `task` asks of the `text` section, and the text rules no one field declares."""
    if cfg.task not in TASKS:
        return []  # the task's choices are declared on its field
    t = cfg.text
    if cfg.task == "code":
        return [("text", "applies to task: text only")] if t is not None else []
    if t is None:
        return [("text", "is missing (task: text needs text.prompts and a judge)")]
    bad = []
    if len(t.members) < 2 or not all(m in JUDGES and m != "consistency" for m in t.members):
        bad.append(("text.members", "must name two or more judges other than consistency"))
    if cfg.train.loss == "sami" and t.constitution is None:
        bad.append(("text.constitution", "is needed by the sami loss"))
    if t.prompts.path is not None and not Path(t.prompts.path).is_file():
        bad.append(("text.prompts.path", f"no such file: {t.prompts.path}"))
    return bad
