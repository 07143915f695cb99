"""Run the gated benchmarks, keep each one's result, and judge the gates.

Each benchmark runs as its own process (the script, its arguments from the gates file), its output streamed
to the console and to `<out>/<name>/log.txt`. Its figures, gate verdicts and wall time are written to
`<out>/results.json` as soon as it finishes, with a fingerprint of its inputs (the script, its arguments,
its data files and the code the gates file lists). A rerun skips every benchmark whose fingerprint is
unchanged and re-judges its kept figures, so an interrupted run resumes where it stopped and an edited
threshold takes effect without rerunning anything. A benchmark that crashed, timed out or lacks a data file
is never kept: its gates fail and the next run retries it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codepref.gates.check import judge, read_speed
from codepref.gates.file import Benchmark, GatesFile

RESULTS_NAME = "results.json"
FINISHED = "finished"


@dataclass
class BenchmarkResult:
    name: str
    fingerprint: str
    status: str  # FINISHED, or what went wrong (missing data, exit status, timeout, no figures)
    wall_s: float
    finished_at: str
    figures: Any = None
    gates: list[dict[str, Any]] = field(default_factory=list)
    speed: list[dict[str, Any]] = field(default_factory=list)
    reused: bool = False  # kept from an earlier run with the same inputs

    @property
    def failures(self) -> list[str]:
        """What failed, each named `benchmark/gate` (or the benchmark alone when it did not finish)."""
        if self.status != FINISHED:
            return [f"{self.name}: {self.status}"]
        return [
            f"{self.name}/{gate['gate']}: {gate['detail'] or describe_miss(gate)}"
            for gate in self.gates
            if not gate["passed"]
        ]

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "reused"}


def describe_miss(gate: dict[str, Any]) -> str:
    return f"{gate['value']} is not {gate['threshold']}"


def run_benchmarks(
    gates: GatesFile,
    out_dir: Path,
    data_dir: Path | None,
    *,
    only: tuple[str, ...] = (),
    backend: str = "auto",
    echo: Callable[[str], None] = print,
) -> list[BenchmarkResult]:
    """Each benchmark of `gates` (or of `only`), run or kept; `backend` fills the {backend} placeholder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS_NAME
    code_digest = digest_paths(gates.path.parent, gates.code)
    results = []
    for benchmark in gates.benchmarks:
        if only and benchmark.name not in only:
            continue
        previous = read_kept(results_path).get("benchmarks", {}).get(benchmark.name)
        result = run_or_reuse(
            benchmark, gates.path.parent, out_dir, data_dir, backend, code_digest, previous, echo
        )
        results.append(result)
        kept = read_kept(results_path).get("benchmarks", {})  # again: another `--only` run may share it
        kept[benchmark.name] = result.to_dict()
        failures = [failure for done in results for failure in done.failures]
        write_json(results_path, {"gates_file": str(gates.path), "failures": failures, "benchmarks": kept})
    return results


def run_or_reuse(
    benchmark: Benchmark,
    root: Path,
    out_dir: Path,
    data_dir: Path | None,
    backend: str,
    code_digest: str,
    previous: dict[str, Any] | None,
    echo: Callable[[str], None],
) -> BenchmarkResult:
    missing = missing_data(benchmark, data_dir)
    if missing:
        return BenchmarkResult(benchmark.name, "", missing, 0.0, now())
    fingerprint = fingerprint_of(benchmark, root, data_dir, backend, code_digest)
    if previous and previous.get("status") == FINISHED and previous.get("fingerprint") == fingerprint:
        echo(f"== {benchmark.name}: inputs unchanged since {previous['finished_at']}, keeping its figures")
        result = BenchmarkResult(
            **{k: previous[k] for k in ("name", "fingerprint", "status", "wall_s", "finished_at", "figures")}
        )
        result.reused = True
    else:
        result = execute(benchmark, root, out_dir / benchmark.name, data_dir, backend, fingerprint, echo)
    if result.status == FINISHED:
        result.gates = [judge(gate, result.figures).to_dict() for gate in benchmark.gates]
        result.speed = [read_speed(speed, result.figures).to_dict() for speed in benchmark.speed]
    return result


def missing_data(benchmark: Benchmark, data_dir: Path | None) -> str:
    if not benchmark.data:
        return ""
    if data_dir is None:
        return f"no data folder given (set $CODEPREF_DATA_DIR or --data-dir); it needs {', '.join(benchmark.data)}"
    absent = [name for name in benchmark.data if not (data_dir / name).is_file()]
    return f"missing data file(s) in {data_dir}: {', '.join(absent)}" if absent else ""


def execute(
    benchmark: Benchmark,
    root: Path,
    work: Path,
    data_dir: Path | None,
    backend: str,
    fingerprint: str,
    echo: Callable[[str], None],
) -> BenchmarkResult:
    """Run the script; its folder is emptied first unless it holds a partial run of the same inputs, which
    the script may resume (rerank_codet keeps its matrices there)."""
    marker = work / "fingerprint"
    if work.exists() and (not marker.exists() or marker.read_text() != fingerprint):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    marker.write_text(fingerprint)
    figures_path = work / benchmark.figures
    figures_path.unlink(missing_ok=True)
    substitutions = {
        "{out}": str(work.resolve()),
        "{data}": str(data_dir.resolve()) if data_dir else "",
        "{backend}": backend,
    }
    args = [substitute(arg, substitutions) for arg in benchmark.args]
    command = [sys.executable, str((root / benchmark.script).resolve()), *args]
    echo(f"== {benchmark.name}: {' '.join(command)}")
    env = dict(os.environ)
    if data_dir is not None:
        env["CODEPREF_DATA_DIR"] = str(data_dir.resolve())
    started = time.perf_counter()
    status = run_streaming(command, root, env, work / "log.txt", benchmark.timeout_min * 60, echo)
    wall_s = round(time.perf_counter() - started, 1)
    if status == FINISHED:
        try:
            figures = json.loads(figures_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            status = f"its figures file {figures_path} could not be read ({err})"
        else:
            echo(f"== {benchmark.name}: finished in {wall_s:.0f} s")
            return BenchmarkResult(benchmark.name, fingerprint, FINISHED, wall_s, now(), figures)
    echo(f"== {benchmark.name}: {status}")
    return BenchmarkResult(benchmark.name, fingerprint, status, wall_s, now())


def run_streaming(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log: Path,
    timeout_s: float,
    echo: Callable[[str], None],
) -> str:
    """Run `command`, echoing and logging its output line by line; FINISHED or what went wrong."""
    timed_out = threading.Event()
    with open(log, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group, so a timeout ends its workers too
        )  # fmt: skip

        def kill() -> None:
            timed_out.set()
            os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                log_file.write(line)
                log_file.flush()
                echo(line.rstrip("\n"))
            code = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:  # interrupted (Ctrl-C): its own session would outlive us otherwise
                os.killpg(process.pid, signal.SIGKILL)
    if timed_out.is_set():
        return f"timed out after {timeout_s / 60:g} min (log: {log})"
    return FINISHED if code == 0 else f"exited with status {code} (log: {log})"


def substitute(arg: str, substitutions: dict[str, str]) -> str:
    for placeholder, value in substitutions.items():
        arg = arg.replace(placeholder, value)
    return arg


def fingerprint_of(
    benchmark: Benchmark, root: Path, data_dir: Path | None, backend: str, code_digest: str
) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([benchmark.script, benchmark.args, benchmark.figures, backend]).encode())
    digest.update(code_digest.encode())
    digest.update(file_digest(root / benchmark.script).encode())
    for name in benchmark.data:
        digest.update(name.encode() + file_digest(data_dir / name).encode())  # type: ignore[operator]
    return digest.hexdigest()[:16]


def digest_paths(root: Path, entries: tuple[str, ...]) -> str:
    """One digest of every file under the listed paths; an entry starting with '!' excludes a path."""
    excluded = [(root / entry[1:]).resolve() for entry in entries if entry.startswith("!")]
    digest = hashlib.sha256()
    for entry in entries:
        if entry.startswith("!"):
            continue
        for path in sorted(walk(root / entry)):
            if any(path.resolve().is_relative_to(skip) for skip in excluded):
                continue
            digest.update(os.path.relpath(path, root).encode() + file_digest(path).encode())
    return digest.hexdigest()


def walk(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for child in path.rglob("*"):
        if child.is_file() and "__pycache__" not in child.parts:
            yield child


def file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_kept(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        kept = json.loads(path.read_text())
    except json.JSONDecodeError:
        return {}  # torn by an interrupted write: start over rather than trust part of it
    return kept if isinstance(kept, dict) else {}


def write_json(path: Path, payload: Any) -> None:
    """Written whole and renamed into place, so an interruption never leaves a torn file."""
    partial = path.with_suffix(f".partial-{os.getpid()}")
    partial.write_text(json.dumps(payload, indent=2) + "\n")
    partial.replace(path)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
