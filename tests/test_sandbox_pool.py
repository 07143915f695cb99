"""The pool against a fake sandbox that answers with garbage: every reply is checked on the host, a bad one
fails its job (never an exception, never a hang) and retires the sandbox, and later jobs still run."""

from __future__ import annotations

import queue
import sys
from pathlib import Path

import pytest

from codepref.sandbox.pool import SandboxProcess, WorkerPool
from codepref.sandbox.types import Job, Status, Verdict

pytestmark = pytest.mark.timeout(60)

# A stand-in for sandbox/runner.py: reads framed jobs and answers each after its job id. Ids "garbage:NAME"
# get GARBAGE[NAME]; "sandbox_error" gets the runner's report of its own failure; "flaky" gets that report
# the first time only (a marker file in the folder given as argument remembers it); any other id a pass.
FAKE_SANDBOX = r"""
import json, os, sys

def valid(header, **changes):
    reply = {
        "job_id": header["job_id"], "status": "passed",
        "tests": [{"status": "passed", "time_s": 0.01, "error": ""} for _ in range(header["n_tests"])],
        "exit_code": 0, "signal": None, "stdout": "", "stderr": "", "stdout_truncated": False,
        "stderr_truncated": False, "wall_s": 0.02, "cpu_s": 0.01, "peak_memory_mb": 9.5, "error": "",
        "recycle": False,
    }
    reply.update(changes)
    return json.dumps(reply).encode() + b"\n"

def with_test(header, **changes):
    tests = [{"status": "passed", "time_s": 0.01, "error": "", **changes}]
    return valid(header, tests=tests * header["n_tests"])

def without(header, name):
    reply = json.loads(valid(header))
    del reply[name]
    return json.dumps(reply).encode() + b"\n"

GARBAGE = {
    "invalid JSON": lambda h: b'{"job_id": nope}\n',
    "a JSON list": lambda h: b"[1, 2, 3]\n",
    "nesting 100,000 deep": lambda h: b"[" * 100_000 + b"\n",
    "an empty line": lambda h: b"\n",
    "not UTF-8": lambda h: b'{"job_id": "\xff\xfe"}\n',
    "an unknown status": lambda h: valid(h, status="brilliant"),
    "an unknown test status": lambda h: with_test(h, status="kinda"),
    "a status of the wrong type": lambda h: valid(h, status=["passed"]),
    "tests of the wrong type": lambda h: valid(h, tests={"0": "passed"}),
    "a test of the wrong type": lambda h: valid(h, tests=["passed"]),
    "a string for a number": lambda h: valid(h, wall_s="fast"),
    "a bool for an exit code": lambda h: valid(h, exit_code=True),
    "a negative time": lambda h: with_test(h, time_s=-1.0),
    "NaN": lambda h: valid(h, cpu_s=float("nan")),
    "infinity": lambda h: with_test(h, time_s=float("inf")),
    "a missing status": lambda h: without(h, "status"),
    "a missing stdout": lambda h: without(h, "stdout"),
    "a missing test error": lambda h: valid(h, tests=[{"status": "passed", "time_s": 0.0}] * h["n_tests"]),
    "an unknown field": lambda h: valid(h, attempts=0),
    "an unknown test field": lambda h: with_test(h, note="hi"),
    "values that are not objects": lambda h: with_test(h, values=[1, 2]),
    "an error of a megabyte": lambda h: valid(h, status="failed", error="x" * (1 << 20)),
    "extra tests": lambda h: valid(h, tests=[{"status": "passed", "time_s": 0.0, "error": ""}] * 5),
    "too few tests": lambda h: valid(h, tests=[]),
    "a reply for another job": lambda h: valid(h, job_id="someone-else"),
    "a job id of the wrong type": lambda h: valid(h, job_id=7),
}

state = sys.argv[1]
out = sys.stdout.buffer
out.write(b'{"ready": true}\n')
out.flush()
while True:
    lengths = sys.stdin.buffer.readline()
    if not lengths:
        break
    header_bytes, body_bytes = (int(field) for field in lengths.split())
    header = json.loads(sys.stdin.buffer.read(header_bytes))
    sys.stdin.buffer.read(body_bytes)
    job_id = header["job_id"]
    if job_id == "a partial line, then EOF":
        out.write(b'{"job_id": "a partial line, then EOF", "sta')
        out.flush()
        break
    if job_id.startswith("garbage:"):
        reply = GARBAGE[job_id[len("garbage:"):]](header)
    elif job_id == "sandbox_error" or (job_id == "flaky" and not os.path.exists(os.path.join(state, "flaky"))):
        open(os.path.join(state, "flaky"), "w").close()
        reply = json.dumps({"job_id": job_id, "status": "sandbox_error", "error": "OSError: boom", "recycle": True})
        reply = reply.encode() + b"\n"
    else:
        reply = valid(header)
    out.write(reply)
    out.flush()
"""

GARBAGE_NAMES = [
    "invalid JSON",
    "a JSON list",
    "nesting 100,000 deep",
    "an empty line",
    "not UTF-8",
    "an unknown status",
    "an unknown test status",
    "a status of the wrong type",
    "tests of the wrong type",
    "a test of the wrong type",
    "a string for a number",
    "a bool for an exit code",
    "a negative time",
    "NaN",
    "infinity",
    "a missing status",
    "a missing stdout",
    "a missing test error",
    "an unknown field",
    "an unknown test field",
    "values that are not objects",
    "an error of a megabyte",
    "extra tests",
    "too few tests",
    "a reply for another job",
    "a job id of the wrong type",
]


class FakeSandboxes:
    """Starts fake sandboxes and counts them."""

    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "fake_sandbox.py"
        self.script.write_text(FAKE_SANDBOX)
        self.state = tmp_path
        self.started = 0

    def __call__(self) -> SandboxProcess:
        self.started += 1
        return SandboxProcess([sys.executable, str(self.script), str(self.state)])


def run_all(start, jobs: list[Job]) -> dict[str, Verdict]:
    pool = WorkerPool(start_sandbox=start, workers=1)
    try:
        return {verdict.job_id: verdict for verdict in pool.run_many(jobs)}
    finally:
        pool.close()


def test_every_malformed_reply_fails_its_job_retires_its_sandbox_and_later_jobs_still_run(tmp_path):
    sandboxes = FakeSandboxes(tmp_path)
    jobs = []
    for name in [*GARBAGE_NAMES, "a partial line, then EOF"]:
        job_id = name if name == "a partial line, then EOF" else f"garbage:{name}"
        jobs += [
            Job("pass", ("assert True",), job_id=job_id),
            Job("pass", ("assert True",), job_id=f"after {name}"),
        ]
    verdicts = run_all(sandboxes, jobs)
    assert set(verdicts) == {job.job_id for job in jobs}
    for job in jobs[0::2]:
        verdict = verdicts[job.job_id]
        assert verdict.status == Status.FAILED, (job.job_id, verdict)
        assert verdict.error.startswith("malformed reply from the sandbox: "), (job.job_id, verdict.error)
        assert len(verdict.error) <= 4096 and verdict.tests == []
    for job in jobs[1::2]:
        assert verdicts[job.job_id].status == Status.PASSED, (job.job_id, verdicts[job.job_id])
    assert sandboxes.started == 1 + len(jobs) // 2  # each bad reply retired its sandbox


def test_a_reply_for_another_job_is_named_in_the_error(tmp_path):
    verdicts = run_all(FakeSandboxes(tmp_path), [Job("pass", job_id="garbage:a reply for another job")])
    (verdict,) = verdicts.values()
    assert verdict.error == (
        "malformed reply from the sandbox: a reply for job 'someone-else', not for job "
        "'garbage:a reply for another job'"
    )


def test_a_sandbox_error_is_retried_once_on_a_fresh_sandbox(tmp_path):
    sandboxes = FakeSandboxes(tmp_path)
    verdicts = run_all(sandboxes, [Job("pass", job_id="flaky"), Job("pass", job_id="next")])
    assert verdicts["flaky"].status == Status.PASSED and verdicts["flaky"].attempts == 2
    assert verdicts["next"].status == Status.PASSED
    verdicts = run_all(sandboxes, [Job("pass", job_id="sandbox_error")])
    assert verdicts["sandbox_error"].status == Status.SANDBOX_ERROR
    assert verdicts["sandbox_error"].attempts == 2 and verdicts["sandbox_error"].error == "OSError: boom"


def test_an_unexpected_error_in_a_worker_answers_its_jobs_and_the_pool_still_closes():
    def broken_start() -> SandboxProcess:
        raise OSError("no such engine")  # not a SandboxStartError: nothing in the pool expects it

    verdicts = run_all(broken_start, [Job("pass", job_id=str(i)) for i in range(6)])
    assert sorted(verdicts) == [str(i) for i in range(6)]
    for verdict in verdicts.values():
        assert verdict.status == Status.SANDBOX_ERROR and "OSError('no such engine')" in verdict.error


class ProducerInTheGap(WorkerPool):
    """Submits jobs just after the worker topped up its sandbox and found the queue empty: the moment a slow
    producer (a busy machine) hands over its next jobs."""

    def __init__(self, start_sandbox, late: list[Job], results: queue.Queue) -> None:
        self.late, self.results = late, results
        super().__init__(start_sandbox=start_sandbox, workers=1)

    def _top_up(self, sandbox, in_flight, retry, stopping):
        stopping = super()._top_up(sandbox, in_flight, retry, stopping)
        while self.late:
            self.submit(self.late.pop(0), self.results)
        return stopping


def test_jobs_handed_over_between_two_top_ups_are_sent_before_their_replies_are_awaited(tmp_path):
    results: queue.Queue[Verdict] = queue.Queue()
    late = [Job("pass", ("assert True",), job_id=f"late-{i}") for i in range(3)]
    pool = ProducerInTheGap(FakeSandboxes(tmp_path), late, results)
    for i in range(2):  # two in flight, so a top-up does not wait for the queue
        pool.submit(Job("pass", ("assert True",), job_id=f"early-{i}"), results)
    verdicts = [results.get(timeout=10) for _ in range(5)]
    pool.close()
    assert sorted(v.job_id for v in verdicts) == ["early-0", "early-1", "late-0", "late-1", "late-2"]
    assert all(v.status == Status.PASSED for v in verdicts), [(v.job_id, v.error) for v in verdicts]
