"""Every `codepref` option that sets a config field defaults to that field's default, declared once."""

import dataclasses
import typing

import typer.main

from codepref.cli import app
from codepref.loop.config import GenerationSettings, MatrixSettings, SandboxSettings
from codepref.model_judges.text_task import TextTaskSettings
from codepref.pairs.config import PairConfig
from codepref.sandbox import Limits
from codepref.settings import declared_default
from codepref.steps.config import StepPairSettings
from codepref.steps.source import VerifierSettings
from codepref.train.config import TrainConfig

# The config classes whose fields each command's options set (matched by name).
CONFIGS = {
    "generate": (GenerationSettings,),
    "eval": (SandboxSettings,),
    "matrix": (MatrixSettings, SandboxSettings),
    "pairs": (PairConfig, SandboxSettings),
    "train": (TrainConfig,),
    "judge": (TextTaskSettings,),
    "bench": (SandboxSettings,),
    "sandbox run": (Limits, SandboxSettings),
    "sandbox smoke": (SandboxSettings,),
    "steps pairs": (StepPairSettings, VerifierSettings, SandboxSettings),
    "steps mix": (StepPairSettings,),
}
# Options named otherwise than their field.
FIELD_OF = {
    "batch": "batch_size",
    "repeats": "timing_repeats",
    "test_timeout": "test_timeout_s",
    "timeout": "timeout_s",
}


def options_by_command() -> dict[str, dict[str, typing.Any]]:
    """{"sandbox run": {option name: the click option}, ...} for every command of the `codepref` app."""
    found = {}

    def walk(command, path: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())
        if not hasattr(command, "commands"):
            found[path] = {p.name: p for p in command.params if p.param_type_name == "option"}

    walk(typer.main.get_command(app), "")
    return found


def field_defaults(cls: type) -> dict[str, typing.Any]:
    declared = {f.name: declared_default(f) for f in dataclasses.fields(cls)}
    return {name: default for name, default in declared.items() if default is not dataclasses.MISSING}


def as_option_value(value: typing.Any) -> typing.Any:
    """A list default as a comma-separated option takes it (codepref judge --members)."""
    return ",".join(value) if isinstance(value, list) else value


def test_every_option_that_sets_a_config_field_defaults_to_the_fields_default():
    commands = options_by_command()
    assert set(CONFIGS) <= set(commands)
    differing, compared = [], 0
    for command, classes in CONFIGS.items():
        for name, option in commands[command].items():
            for cls in classes:
                defaults = field_defaults(cls)
                field = FIELD_OF.get(name, name)
                if field not in defaults:
                    continue
                compared += 1
                expected = as_option_value(defaults[field])
                if (
                    option.default is None and expected is not None
                ):  # unset: the --config file's, else the field's
                    assert option.show_default == str(expected), (command, name)
                elif option.default != expected:
                    differing.append(f"{command} --{name}: {option.default!r}, its field {expected!r}")
    assert compared > 40
    assert not differing, "\n".join(differing)


def test_codepref_train_has_an_option_for_every_train_config_field():
    options = options_by_command()["train"]
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= set(options)
    assert {"--lr", "--learning-rate"} <= set(options["learning_rate"].opts)
    assert options["lora"].secondary_opts == ["--no-lora"]
