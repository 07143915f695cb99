"""Stage bookkeeping: every stage writes under `RUNS/NAME/round-R/STAGE/` and records `stage.json` when it
finishes. A stage whose `stage.json` holds the same inputs hash (its settings and the fingerprints of every
input file) is skipped; an unfinished one resumes from its partial files, so a killed run picks up where
it stopped; one whose inputs changed starts over.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

console = Console(stderr=True, soft_wrap=True)
Record = TypeVar("Record")


MARKER = "stage.json"  # written last: the stage finished, with its inputs hash and record
STARTED = "inputs.json"  # written first: the inputs the stage's partial outputs belong to
RUN_PREFIX = "{run}/"  # a path in a stage record that is relative to the run folder


def fingerprint(path: str | Path) -> str:
    """Content hash of a file or directory; big files (model weights) are hashed by size, mtime and their
    first and last MiB, which is enough to notice a different model without reading gigabytes."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if "checkpoints" in file.parts or file.name == MARKER:
            continue
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        size = file.stat().st_size
        with file.open("rb") as fh:
            if size <= 64 << 20:
                digest.update(fh.read())
            else:
                digest.update(f"{size}:{file.stat().st_mtime_ns}".encode())
                digest.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), 2)
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class StageOutcome:
    name: str
    round: int
    status: str  # "ran" or "skipped"
    summary: dict[str, Any]
    seconds: float


class StageRunner:
    """Runs or skips stages, remembering what happened for the end-of-run report."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.outcomes: list[StageOutcome] = []

    def stage_dir(self, round_index: int, name: str) -> Path:
        return self.run_dir / f"round-{round_index}" / name

    def finished(self, round_index: int, name: str) -> bool:
        return (self.stage_dir(round_index, name) / MARKER).exists()

    def adopt(self, donor: StageRunner, round_index: int, name: str) -> None:
        """Copy `donor`'s finished stage into this run, unless this run finished it already. The copy is
        taken only by a `run` whose inputs match the donor's; otherwise it is discarded and the stage runs."""
        if self.finished(round_index, name):
            return
        directory = self.stage_dir(round_index, name)
        shutil.rmtree(directory, ignore_errors=True)
        shutil.copytree(donor.stage_dir(round_index, name), directory)  # its records name no run folder

    def _to_disk(self, summary: dict[str, Any]) -> dict[str, Any]:
        """The summary as `stage.json` keeps it: a path (a `*_file` or `model` field) inside the run is
        written relative to the run, after `RUN_PREFIX`, so a run folder that was moved or copied resumes."""
        root = self.run_dir.resolve()

        def relative(key: str, value: Any) -> Any:
            is_path = isinstance(value, str) and value and (key.endswith("_file") or key == "model")
            if is_path and Path(value).resolve().is_relative_to(root):
                return RUN_PREFIX + Path(value).resolve().relative_to(root).as_posix()
            return value

        return {key: relative(key, value) for key, value in summary.items()}

    def _from_disk(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {
            key: str(self.run_dir / value.removeprefix(RUN_PREFIX))
            if isinstance(value, str) and value.startswith(RUN_PREFIX)
            else value
            for key, value in summary.items()
        }

    def run(
        self,
        round_index: int,
        name: str,
        inputs: dict[str, Any],
        body: Callable[[Path], Record],
        record_type: type[Record],
    ) -> Record:
        """The stage's record: from `stage.json` when its inputs are unchanged, else from running `body`."""
        directory = self.stage_dir(round_index, name)
        inputs_hash = text_fingerprint(json.dumps(inputs, sort_keys=True, default=str))
        marker, started_file = directory / MARKER, directory / STARTED
        if marker.exists():
            saved = json.loads(marker.read_text(encoding="utf-8"))
            if saved.get("inputs_hash") == inputs_hash:
                console.print(f"round {round_index} {name}: up to date, skipped", highlight=False)
                summary = self._from_disk(saved["summary"])
                self.outcomes.append(StageOutcome(name, round_index, "skipped", summary, 0.0))
                return record_type(**summary)
        if started_file.exists() and json.loads(started_file.read_text()).get("inputs_hash") != inputs_hash:
            shutil.rmtree(directory)  # partial outputs of other inputs: start over
        elif marker.exists():
            marker.unlink()
        directory.mkdir(parents=True, exist_ok=True)
        started_file.write_text(
            json.dumps({"inputs_hash": inputs_hash, "inputs": inputs}, indent=1, default=str)
        )
        console.print(f"round {round_index} {name}: running", highlight=False)
        started = time.perf_counter()
        record = body(directory)
        seconds = time.perf_counter() - started
        summary = asdict(record) if dataclasses.is_dataclass(record) else dict(record)
        saved = {
            "stage": name,
            "round": round_index,
            "inputs_hash": inputs_hash,
            "summary": self._to_disk(summary),
            "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        marker.write_text(json.dumps(saved, indent=1, default=str) + "\n")  # written last: the stage is done
        console.print(
            f"round {round_index} {name}: done in {seconds:.1f} s {summary_line(summary)}", highlight=False
        )
        self.outcomes.append(StageOutcome(name, round_index, "ran", summary, seconds))
        return record


def summary_line(summary: dict[str, Any]) -> str:
    shown = {
        k: v
        for k, v in _flat(summary).items()
        if isinstance(v, int | float | str) and k != "model" and not k.endswith("_file")
    }
    return (
        "("
        + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
        + ")"
    )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        out.update(_flat(value, name + " ") if isinstance(value, dict) else {name: value})
    return out
