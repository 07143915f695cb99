"""The problem record every benchmark loader returns, and the error a malformed data file raises.

This is the lowest layer of the package's own records: loaders (codepref.data, codepref.synth) build
`Problem`s, and every stage above reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DataFileError(ValueError):
    """A benchmark file is missing or malformed; the message names the file, the line and the field."""


@dataclass(frozen=True)
class ExpectedOutputs:
    """What the canonical solution returned on a plus problem's inputs, as evalplus computes its oracle.

    Outputs are kept as the sandbox's value reporter sent them (codepref.sandbox.split: JSON with exact
    types tagged, which `decode_value` reads back), so the host never unpickles anything a sandboxed
    process wrote. A check whose outputs are too big to report holds their digests instead
    (`*_by_digest`). Times are the canonical solution's CPU seconds per input; per-input time limits are
    derived from them.
    """

    base: list[Any]
    plus: list[Any]
    base_times: tuple[float, ...]
    plus_times: tuple[float, ...]
    base_by_digest: bool = False
    plus_by_digest: bool = False


@dataclass(frozen=True)
class Problem:
    """One benchmark task, in the same shape for every benchmark.

    `program(completion)` turns a model completion into the full program to run: HumanEval-style prompts
    are continued by the completion (`completion_extends_prompt`), MBPP completions are whole programs.
    How a program is checked depends on what the problem carries: a human-eval `check(candidate)` function
    (`test_code`), assert lines (`test_list`), or, for the plus variants, test inputs whose expected
    outputs come from running `canonical_solution` (differential testing, compared with tolerance `atol`).
    """

    task_id: str
    benchmark: str
    prompt: str
    entry_point: str
    canonical_solution: str  # the reference completion: program(canonical_solution) solves the task
    test_code: str = ""  # human-eval style: defines check(candidate)
    test_list: tuple[str, ...] = ()  # assert statements, each run as its own test
    test_setup_code: str = ""  # MBPP: runs after the solution, before the asserts
    base_inputs: list[Any] = field(default_factory=list)  # plus variants: argument lists, deserialized
    plus_inputs: list[Any] = field(default_factory=list)
    atol: float = 0.0
    completion_extends_prompt: bool = True
    description: str = ""  # MBPP's one-sentence task text
    source: str = ""  # the data file (or hub dataset) the problem was read from
    expected: ExpectedOutputs | None = None  # plus variants, once computed (codepref.evaluate.expected)

    @property
    def is_plus(self) -> bool:
        """Checked differentially (outputs compared with the canonical solution's on the plus inputs). The
        hub copies of the plus variants carry their inputs inside ready test code instead."""
        return self.benchmark.endswith("+") and bool(self.base_inputs or self.plus_inputs)

    def program(self, completion: str) -> str:
        """The program a completion stands for (the prompt prepended where the completion continues it)."""
        return self.prompt + completion if self.completion_extends_prompt else completion

    @property
    def reference_program(self) -> str:
        return self.program(self.canonical_solution)
