"""A pool of long-lived sandboxes, each running `sandbox/runner.py`: framed jobs in, JSON verdict lines out.

Backends only say how to start one sandbox process (a `docker run -i` or a `bwrap`); everything else is
here: one thread per worker keeps a few jobs in flight to its sandbox, so the runner never waits on a
round trip, restarts the sandbox when the runner asks to be recycled or when it dies, and retries the job
that was running when a sandbox died or failed, once, on a fresh one, before reporting `sandbox_error`.
Every reply is checked before use (codepref.sandbox.replies): a malformed one fails its job and retires
the sandbox that wrote it. Split tests (codepref.sandbox.split) are rewritten before a job is sent, or come
split by the job's builder, and are judged here when its verdict comes back.
A job whose tests must not share one job's text (a test repeating a value another hides,
codepref.sandbox.hiding) runs as two, whose verdicts merge back into one.
"""

from __future__ import annotations

import json
import logging
import queue
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from codepref.sandbox.hiding import groups
from codepref.sandbox.replies import MAX_ERROR_CHARS, MAX_REPLY_BYTES, MalformedReply, check_reply, parse_line
from codepref.sandbox.split import SplitTest, ValueReport, judge_test
from codepref.sandbox.types import Job, Status, Verdict

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
# Sandboxes in a pool (per Ray node) unless told otherwise: every command, the loop config and the Makefile's
# WORKERS agree on it.
DEFAULT_WORKERS = 2
IN_FLIGHT_PER_WORKER = 4


class SandboxStartError(RuntimeError):
    pass


@dataclass
class _Task:
    job: Job
    results: queue.Queue | _Part
    attempts: int = 0
    wire: bytes = field(default=b"", repr=False)
    splits: tuple[SplitTest | ValueReport, ...] = ()


def frame(job: Job, splits: tuple[SplitTest | ValueReport, ...]) -> bytes:
    """The job as the runner reads it: lengths, a header the runner keeps, a body only the job's process reads.

    Tests travel in their job-side form (`splits`, one per test): values they hide stay in this process.
    """
    header = json.dumps(
        {"job_id": job.job_id, "timeout_s": job.timeout_s, "n_tests": len(job.tests)}
    ).encode()
    tests = [split.job_text for split in splits]
    body = json.dumps(
        {
            "program": job.program,
            "tests": tests,
            "stdin": job.stdin,
            "as_main": job.as_main,
            "test_timeout_s": job.test_timeout_s,
            "entry_point": job.entry_point,
        }
    ).encode()
    return b"%09d %09d\n" % (len(header), len(body)) + header + body


class SandboxProcess:
    """One running sandbox: a child process whose stdin/stdout carry the runner protocol."""

    def __init__(self, argv: list[str], popen_options: dict | None = None) -> None:
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **(popen_options or {}),
        )
        # Drained all the time so a chatty engine can never block on a full pipe; the tail explains failures.
        self.stderr_tail: deque[str] = deque(maxlen=5)
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        ready = self._read_line_with_timeout(START_TIMEOUT_S)
        if ready is None or not ready.get("ready"):
            self.close()
            self._stderr_reader.join(timeout=5)
            raise SandboxStartError(f"sandbox did not start: {' | '.join(self.stderr_tail) or 'no output'}")

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_tail.append(line.decode(errors="replace").strip())

    def _read_line_with_timeout(self, timeout: float) -> dict | None:
        box: list = []
        reader = threading.Thread(target=lambda: box.append(self.receive()), daemon=True)
        reader.start()
        reader.join(timeout)
        return box[0] if box else None

    def send(self, payload: bytes) -> bool:
        try:
            self.process.stdin.write(payload)
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def receive(self) -> dict | None:
        """The next reply line as a JSON object; None at the end of the stream. Raises MalformedReply for
        anything else (codepref.sandbox.replies), after which the stream is no longer to be trusted."""
        line = self.process.stdout.readline(MAX_REPLY_BYTES + 1)
        if not line:
            return None
        return parse_line(line)

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


class WorkerPool:
    """`workers` threads, each owning one sandbox process started by `start_sandbox`."""

    def __init__(self, start_sandbox: Callable[[], SandboxProcess], workers: int) -> None:
        self._start_sandbox = start_sandbox
        self._tasks: queue.Queue[_Task | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"sandbox-{i}", daemon=True) for i in range(workers)
        ]
        self._closed = False
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job, results: queue.Queue) -> None:
        if self._closed:
            raise RuntimeError("the sandbox pool is closed")
        planned = groups(job.tests)
        if len(planned) == 1:
            splits = planned[0][1]
            self._tasks.put(_Task(job, results, wire=frame(job, splits), splits=splits))
            return
        merger = _Merger(job, [indices for indices, _ in planned], results)
        for part, (indices, splits) in enumerate(planned):
            subjob = replace(job, tests=tuple(job.tests[i] for i in indices))
            self._tasks.put(_Task(subjob, _Part(merger, part), wire=frame(subjob, splits), splits=splits))

    def run_many(self, jobs: Iterable[Job], window: int = 1024) -> Iterator[Verdict]:
        """Submit lazily (at most `window` pending) and yield verdicts in completion order."""
        results: queue.Queue[Verdict] = queue.Queue()
        pending = 0
        for job in jobs:
            self.submit(job, results)
            pending += 1
            while pending >= window:
                yield results.get()
                pending -= 1
        for _ in range(pending):
            yield results.get()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()

    # ------------------------------------------------------------------ worker thread

    def _serve(self) -> None:
        """Serve jobs until told to stop. A worker never dies with jobs waiting on it: an unexpected error
        answers every job it holds (sandbox_error) and serving goes on with a fresh sandbox."""
        sandbox: SandboxProcess | None = None
        in_flight: deque[_Task] = deque()
        retry: deque[_Task] = deque()
        stopping = False
        while True:
            try:
                # Every job taken into in_flight while a sandbox runs is sent to it at once (a job taken but
                # never sent would leave the next reply answering the wrong job).
                if sandbox is None:
                    stopping = self._fill(in_flight, retry, stopping)
                else:
                    stopping = self._top_up(sandbox, in_flight, retry, stopping)
                if not in_flight:
                    break
                if sandbox is None:
                    sandbox = self._start_or_fail(in_flight)
                    if sandbox is None:
                        continue
                    for task in in_flight:
                        sandbox.send(task.wire)
                if not self._take_reply(sandbox, in_flight, retry):
                    sandbox.close()
                    sandbox = None
            except Exception as exc:  # noqa: BLE001 - else the callers of its jobs would wait forever
                log.exception("sandbox worker failed; answering its jobs and starting a fresh sandbox")
                for task in (*in_flight, *retry):
                    task.results.put(_sandbox_error(task, f"the host failed while running this job: {exc!r}"))
                in_flight.clear()
                retry.clear()
                sandbox = _discard(sandbox)
        if sandbox is not None:
            sandbox.close()

    def _take_reply(self, sandbox: SandboxProcess, in_flight: deque, retry: deque) -> bool:
        """Answer the job at the head of in_flight from the sandbox's next reply; False when the sandbox must
        go (it died, asked to be recycled, failed the job itself, or wrote a malformed reply). The jobs it
        still holds then move to the retry list: each job is answered exactly once."""
        try:
            reply: dict | MalformedReply | None = sandbox.receive()
        except MalformedReply as exc:
            reply = exc
        if reply is None:
            self._on_sandbox_death(in_flight, retry)
            return False
        task = in_flight.popleft()
        task.attempts += 1
        try:
            verdict, keep = _verdict_from_reply(reply, task)
        except MalformedReply as exc:
            verdict, keep = _malformed(task, str(exc)), False
            sandbox.process.kill()  # it may be blocked writing more replies, and is no longer trusted anyway
        if verdict.status == Status.SANDBOX_ERROR and task.attempts < 2:
            log.warning(
                "sandbox error on job %s (%s); retrying it on a fresh sandbox", task.job.job_id, verdict.error
            )
            retry.append(task)
            keep = False
        else:
            task.results.put(verdict)
        if not keep:
            retry.extend(in_flight)  # never answered: the next sandbox runs them
            in_flight.clear()
        return keep

    def _fill(self, in_flight: deque, retry: deque, stopping: bool) -> bool:
        """Bring in_flight up to depth from the retry list, then the shared queue; True once told to stop."""
        while retry and len(in_flight) < IN_FLIGHT_PER_WORKER:
            in_flight.append(retry.popleft())
        while not stopping and len(in_flight) < IN_FLIGHT_PER_WORKER:
            try:
                task = self._tasks.get(block=not in_flight)
            except queue.Empty:
                break
            if task is None:
                return True
            in_flight.append(task)
        return stopping

    def _top_up(self, sandbox: SandboxProcess, in_flight: deque, retry: deque, stopping: bool) -> bool:
        before = len(in_flight)
        stopping = self._fill(in_flight, retry, stopping)
        for task in list(in_flight)[before:]:
            sandbox.send(task.wire)
        return stopping

    def _start_or_fail(self, in_flight: deque) -> SandboxProcess | None:
        """Start a sandbox, trying twice (a start can fail for passing reasons); else fail the waiting jobs."""
        for attempt in range(2):
            try:
                return self._start_sandbox()
            except SandboxStartError as exc:
                error = exc
                log.warning("%s%s", exc, "; trying again" if attempt == 0 else "")
        while in_flight:
            task = in_flight.popleft()
            task.results.put(_sandbox_error(task, str(error)))
        return None

    def _on_sandbox_death(self, in_flight: deque, retry: deque) -> None:
        """The job at the head was running when the sandbox died: retry it once; the others never started."""
        head = in_flight.popleft()
        head.attempts += 1
        if head.attempts >= 2:
            head.results.put(_sandbox_error(head, "the sandbox died while running this job, twice"))
        else:
            log.warning("sandbox died during job %s; retrying it on a fresh sandbox", head.job.job_id)
            retry.append(head)
        retry.extend(in_flight)
        in_flight.clear()


class _Merger:
    """Collects the verdicts of a job run as several parts and hands on one verdict once all are in."""

    def __init__(self, job: Job, parts: list[tuple[int, ...]], results: queue.Queue) -> None:
        self.job, self.parts, self.results = job, parts, results
        self.verdicts: dict[int, Verdict] = {}
        self.lock = threading.Lock()

    def put(self, part: int, verdict: Verdict) -> None:
        with self.lock:
            self.verdicts[part] = verdict
            if len(self.verdicts) < len(self.parts):
                return
        self.results.put(
            _merge(self.job, [(self.parts[i], self.verdicts[i]) for i in range(len(self.parts))])
        )


@dataclass(frozen=True)
class _Part:
    """Where a part's verdict goes: its merger, as a results queue would take it."""

    merger: _Merger
    index: int

    def put(self, verdict: Verdict) -> None:
        self.merger.put(self.index, verdict)


def _merge(job: Job, parts: list[tuple[tuple[int, ...], Verdict]]) -> Verdict:
    """One verdict for the job: its tests back in their places, the status and error of the first part
    that did not pass (a part without per-test results, such as a sandbox error, stands for the job)."""
    for indices, verdict in parts:
        if len(verdict.tests) != len(indices):
            return replace(verdict, job_id=job.job_id)
    verdicts = [verdict for _, verdict in parts]
    lead = next((v for v in verdicts if v.status != Status.PASSED), verdicts[0])
    tests = [None] * len(job.tests)
    for indices, verdict in parts:
        for index, result in zip(indices, verdict.tests, strict=True):
            tests[index] = result
    return replace(
        lead,
        job_id=job.job_id,
        tests=tests,
        stdout="".join(v.stdout for v in verdicts),
        stderr="".join(v.stderr for v in verdicts),
        stdout_truncated=any(v.stdout_truncated for v in verdicts),
        stderr_truncated=any(v.stderr_truncated for v in verdicts),
        wall_s=sum(v.wall_s for v in verdicts),
        cpu_s=sum(v.cpu_s for v in verdicts),
        peak_memory_mb=max(v.peak_memory_mb for v in verdicts),
        attempts=max(v.attempts for v in verdicts),
    )


def _verdict_from_reply(reply: dict | MalformedReply, task: _Task) -> tuple[Verdict, bool]:
    """The job's verdict, and whether the sandbox that replied may run more jobs. Raises MalformedReply for
    a reply that cannot be used: the runner never writes one, so the job (by forging records) or a broken
    sandbox did."""
    if isinstance(reply, MalformedReply):
        raise reply
    try:
        check_reply(reply, task.job.job_id, len(task.job.tests))
        reply = dict(reply, attempts=task.attempts)
        keep = not reply.pop("recycle")
        if reply.get("tests"):
            _judge_split_tests(reply, task.splits)
        return Verdict.from_dict(reply), keep
    except MalformedReply:
        raise
    except Exception as exc:  # noqa: BLE001 - a forged reply may trip judging in ways no check foresees
        raise MalformedReply(f"{type(exc).__name__}: {exc}") from exc


def _judge_split_tests(reply: dict, splits: tuple[SplitTest | ValueReport, ...]) -> None:
    """Decide split tests here, from the values the job reported; a wrong value fails a job that says passed.
    A value report's values are handed back as reported."""
    for result, split in zip(reply["tests"], splits, strict=True):
        values = result.pop("values", None)
        if isinstance(split, ValueReport):
            result["values"] = values or []
        else:
            result["status"], result["error"] = judge_test(split, result | {"values": values or ()})
    if reply["status"] == "passed" and any(result["status"] != "passed" for result in reply["tests"]):
        reply["status"], reply["error"] = "failed", "a test failed"


def _malformed(task: _Task, reason: str) -> Verdict:
    """A failed verdict: the job's reply could not be used."""
    log.warning("malformed reply from the sandbox for job %s: %s", task.job.job_id, reason[:200])
    error = f"malformed reply from the sandbox: {reason}"[:MAX_ERROR_CHARS]
    return Verdict(job_id=task.job.job_id, status=Status.FAILED, error=error, attempts=task.attempts)


def _sandbox_error(task: _Task, message: str) -> Verdict:
    return Verdict(
        job_id=task.job.job_id,
        status=Status.SANDBOX_ERROR,
        error=message[:MAX_ERROR_CHARS],  # an exception's text may carry reply data of any size
        attempts=max(task.attempts, 1),
    )


def _discard(sandbox: SandboxProcess | None) -> None:
    """Close a sandbox after an unexpected error, whatever state it is in."""
    if sandbox is not None:
        try:
            sandbox.close()
        except Exception:  # noqa: BLE001 - it is being thrown away; the error that led here is logged
            log.exception("could not close a sandbox")
