"""The matrix file format: JSONL, one line per problem, plain JSON fields `task_id, prompt, entry_point,
solution_ids, solutions, test_ids, tests, test_counts, example_counts, n, m, job_status, format`, plus `passed` (the N x M
bool matrix, row-major, `numpy.packbits` big-endian bit order, base64) and `times` (N x M little-endian
float32 seconds, row-major, base64; NaN where a test did not run). Every line is a flat record that
`datasets.load_dataset("json", ...)` reads. A line of another format is refused, not guessed at: format 1
had no `example_counts`, so its prompt-example columns could not be told from sampled ones.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from codepref.records import append_record, read_records

FORMAT = "codepref.matrix/2"


@dataclass
class ExecutionMatrix:
    """One problem's N solutions against its M distinct tests.

    `passed[i, j]` is True when solution i ran test j to completion; `times[i, j]` is that test's wall time
    in seconds (NaN where it did not run). `test_counts[j]` is how many sampled test lines were this test
    before deduplication, of which `example_counts[j]` came from the prompt's own examples
    (`matrix.prompt_examples`), not from the model: `sampled_counts` is the rest. `solutions` are
    completions: the program that ran is `prompt + solution`.
    `job_status[i]` is the sandbox status of solution i's job ("" when not recorded); `test_timeout_s` the
    per-test limit the tests ran under; `entry_point` the function the tests call ("" when not recorded).
    """

    task_id: str
    prompt: str
    solution_ids: list[str]
    solutions: list[str]
    test_ids: list[str]
    tests: list[str]
    test_counts: list[int]
    passed: np.ndarray  # bool, shape (N, M)
    times: np.ndarray  # float32 seconds, shape (N, M)
    job_status: list[str] = field(default_factory=list)
    test_timeout_s: float | None = None
    entry_point: str = ""
    example_counts: list[int] = field(default_factory=list)  # empty: no test is a prompt example

    def __post_init__(self) -> None:
        if not self.example_counts:
            self.example_counts = [0] * len(self.tests)
        if len(self.example_counts) != len(self.tests):
            raise ValueError(
                f"{self.task_id}: {len(self.example_counts)} example counts for {len(self.tests)} tests"
            )

    @property
    def shape(self) -> tuple[int, int]:
        return self.passed.shape

    @property
    def sampled_counts(self) -> list[int]:
        """How many times the model itself sampled each test (0 for an example it never wrote)."""
        return [c - e for c, e in zip(self.test_counts, self.example_counts, strict=True)]

    def to_record(self) -> dict[str, Any]:
        n, m = self.shape
        return {
            "format": FORMAT,
            "task_id": self.task_id,
            "prompt": self.prompt,
            "n": n,
            "m": m,
            "solution_ids": list(self.solution_ids),
            "solutions": list(self.solutions),
            "test_ids": list(self.test_ids),
            "tests": list(self.tests),
            "test_counts": [int(c) for c in self.test_counts],
            "example_counts": [int(c) for c in self.example_counts],
            "job_status": list(self.job_status),
            "test_timeout_s": self.test_timeout_s,
            "entry_point": self.entry_point,
            "passed": _encode_bits(self.passed),
            "times": _encode_floats(self.times),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], where: str = "record") -> ExecutionMatrix:
        if record.get("format") != FORMAT:
            raise ValueError(
                f"{where}: format {record.get('format')!r}, not {FORMAT!r}; rebuild the matrix with this "
                "version of codepref"
            )
        for key in (
            "task_id",
            "prompt",
            "n",
            "m",
            "solution_ids",
            "solutions",
            "test_ids",
            "tests",
            "test_counts",
            "example_counts",
            "passed",
            "times",
        ):
            if key not in record:
                raise ValueError(f"{where}: missing field {key!r}")
        n, m = int(record["n"]), int(record["m"])
        for key, size in (
            ("solution_ids", n),
            ("solutions", n),
            ("test_ids", m),
            ("tests", m),
            ("test_counts", m),
            ("example_counts", m),
        ):
            if len(record[key]) != size:
                raise ValueError(f"{where}: field {key!r} has {len(record[key])} entries, expected {size}")
        try:
            passed = _decode_bits(record["passed"], n, m)
            times = _decode_floats(record["times"], n, m)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        return cls(
            task_id=record["task_id"],
            prompt=record["prompt"],
            solution_ids=list(record["solution_ids"]),
            solutions=list(record["solutions"]),
            test_ids=list(record["test_ids"]),
            tests=list(record["tests"]),
            test_counts=[int(c) for c in record["test_counts"]],
            passed=passed,
            times=times,
            job_status=list(record.get("job_status") or []),
            test_timeout_s=record.get("test_timeout_s"),
            entry_point=record.get("entry_point") or "",
            example_counts=[int(c) for c in record["example_counts"]],
        )


def write_matrix(out: IO[str], matrix: ExecutionMatrix) -> ExecutionMatrix:
    """Append one matrix to an open file and flush it (a killed build loses at most this line)."""
    append_record(out, matrix.to_record())
    out.flush()
    return matrix


def save_matrices(matrices: Iterable[ExecutionMatrix], path: str | Path) -> Path:
    """Write matrices to a JSONL file (one line per problem), replacing it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for matrix in matrices:
            write_matrix(out, matrix)
    return path


def load_matrices(path: str | Path) -> Iterator[ExecutionMatrix]:
    """Read the matrices of a file written by `save_matrices` or `build_matrices`."""
    for _, matrix in iter_matrix_file(Path(path)):
        yield matrix


def iter_matrix_file(path: Path) -> Iterator[tuple[str, ExecutionMatrix]]:
    """(FILE:LINE, matrix) per line; a torn last line (a killed build) is skipped."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such matrix file")
    for number, record in read_records(path):
        where = f"{path}:{number}"
        yield where, ExecutionMatrix.from_record(record, where)


def _encode_bits(passed: np.ndarray) -> str:
    return base64.b64encode(np.packbits(np.asarray(passed, dtype=bool).ravel()).tobytes()).decode("ascii")


def _decode_bits(text: str, n: int, m: int) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    if raw.size != math.ceil(n * m / 8):
        raise ValueError(
            f"field 'passed' holds {raw.size} bytes, expected {math.ceil(n * m / 8)} for {n}x{m}"
        )
    return np.unpackbits(raw, count=n * m).astype(bool).reshape(n, m)


def _encode_floats(times: np.ndarray) -> str:
    return base64.b64encode(np.asarray(times, dtype="<f4").tobytes()).decode("ascii")


def _decode_floats(text: str, n: int, m: int) -> np.ndarray:
    raw = base64.b64decode(text)
    if len(raw) != 4 * n * m:
        raise ValueError(f"field 'times' holds {len(raw)} bytes, expected {4 * n * m} for {n}x{m}")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(n, m)
