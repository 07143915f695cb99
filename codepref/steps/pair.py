"""A step pair: the prompt continued by the steps before this one, a better next step and a worse one.

Written as TRL preference rows (`prompt`, `chosen`, `rejected`, plus metadata columns the trainer drops),
so `codepref train` and `codepref.train.train` read a step-pairs file as any other pairs file; `mix_pairs`
puts instance-level and step-level rows into one training set at a chosen ratio.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from codepref.records import read_jsonl, write_jsonl

STEP_METHODS = ("step-dpo", "mcts")


@dataclass(frozen=True)
class StepPair:
    prompt: str  # the problem's prompt followed by the steps before this one
    chosen: str  # the next step that keeps the value high
    rejected: str  # the next step after which the value falls
    task_id: str
    method: str  # one of STEP_METHODS
    depth: int  # steps before this one
    chosen_value: float  # value of the prompt continued by the chosen step
    rejected_value: float
    chosen_visits: int  # rollouts behind each value
    rejected_visits: int
    rollouts: int  # rollouts the problem's search had used when the pair was made
    executions: int  # distinct programs it had run in the sandbox

    def __post_init__(self) -> None:
        if self.method not in STEP_METHODS:
            raise ValueError(f"step pair method {self.method!r}: choose one of {', '.join(STEP_METHODS)}")
        if self.chosen == self.rejected:
            raise ValueError(f"{self.task_id}: a step pair needs two different steps")

    @property
    def value_gap(self) -> float:
        return self.chosen_value - self.rejected_value

    def to_row(self) -> dict[str, Any]:
        return asdict(self) | {"value_gap": self.value_gap}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StepPair:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


def write_step_pairs(path: str | Path, pairs: Iterable[StepPair]) -> Path:
    return write_jsonl(Path(path), [pair.to_row() for pair in pairs])


def read_step_pairs(path: str | Path) -> list[StepPair]:
    return [StepPair.from_row(row) for row in read_jsonl(Path(path))]


def parse_ratio(text: str) -> tuple[int, int]:
    """ "2:1" -> (2, 1): instance-level rows to step-level rows."""
    try:
        instance, step = (int(part) for part in text.split(":"))
    except ValueError:
        raise ValueError(f"ratio {text!r}: write it INSTANCE:STEP, e.g. 1:1 or 3:1") from None
    if instance < 0 or step < 0 or instance + step == 0:
        raise ValueError(f"ratio {text!r}: both parts must be >= 0 and one of them positive")
    return instance, step


def mix_pairs(
    instance_rows: list[dict[str, Any]],
    step_rows: list[dict[str, Any]],
    ratio: tuple[int, int],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """As many rows as the ratio allows, instance-level to step-level rows as `ratio[0]` to `ratio[1]`,
    drawn at random from each side (the scarcer side all used) and shuffled together."""
    a, b = ratio
    units = min(len(instance_rows) // a if a else float("inf"), len(step_rows) // b if b else float("inf"))
    rng = random.Random(seed)
    mixed = rng.sample(instance_rows, int(units * a)) + rng.sample(step_rows, int(units * b))
    rng.shuffle(mixed)
    return mixed
