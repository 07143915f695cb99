"""Turning what the runner collected of one job (its records, streams, wait status, resource use) into
the verdict the host reads. The job writes its records itself, so nothing in them is trusted: only
well-formed records carrying the job's nonce count, and nothing the job writes can make this raise."""

import json
import os
import signal

RECORD_FIELDS = {  # what each record must carry, with its type: anything else on the result pipe is ignored
    "program": {"ok": bool},
    "test": {"index": int, "status": str, "time_s": float, "error": str},
    "value": {"index": int, "slot": int},
    "done": {},
}
TEST_STATUSES = frozenset({"passed", "failed", "timeout", "memory_exceeded"})


def parse_records(raw: bytes, nonce: str) -> list:
    """The job's records: lines carrying this job's nonce and the fields of their kind. The job can write
    anything to its result pipe (records of its own, deep nesting, invalid text): nothing it writes can
    make this raise."""
    records = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and record.get("nonce") == nonce and _well_formed(record):
            records.append(record)
    return records


def _well_formed(record: dict) -> bool:
    fields = RECORD_FIELDS.get(record.get("kind"))
    if fields is None or any(type(record.get(name)) is not kind for name, kind in fields.items()):
        return False
    if record["kind"] == "test":
        return record["status"] in TEST_STATUSES
    if record["kind"] == "program" and not record["ok"]:
        return type(record.get("error")) is str and type(record.get("exc")) is str
    return True


def judge(job: dict, nonce: str, collected: dict, limits: dict) -> dict:
    records = parse_records(bytes(collected["streams"]["result"]), nonce)
    program = next((r for r in records if r["kind"] == "program"), None)
    done = any(r["kind"] == "done" for r in records)
    tests = _test_results(job, records, collected["outcome"] == "timeout")
    status, usage = collected["status"], collected["usage"]
    ended = status is not None  # None: the launcher died, and with it the job's wait status
    signal_number = os.WTERMSIG(status) if ended and os.WIFSIGNALED(status) else None
    exit_code = os.WEXITSTATUS(status) if ended and os.WIFEXITED(status) else None
    cpu_s = usage.ru_utime + usage.ru_stime
    verdict_status = _overall_status(collected, program, done, tests, signal_number, exit_code, cpu_s, limits)
    error = program["error"] if program and not program["ok"] and verdict_status != "passed" else ""
    if verdict_status != "passed" and not error:
        error = _explain(collected, program, done, signal_number, exit_code, cpu_s, limits)
    return {
        "job_id": job["job_id"],
        "status": verdict_status,
        "tests": tests,
        "exit_code": exit_code,
        "signal": signal_number,
        "stdout": _text(collected, "stdout"),
        "stderr": _text(collected, "stderr"),
        "stdout_truncated": collected["sizes"]["stdout"] > collected["cap"],
        "stderr_truncated": collected["sizes"]["stderr"] > collected["cap"],
        "cpu_s": cpu_s,
        "peak_memory_mb": usage.ru_maxrss / 1024,
        "error": error,
    }


def _test_results(job: dict, records: list, timed_out: bool) -> list:
    by_index = {r["index"]: r for r in records if r["kind"] == "test"}
    values = {}
    for record in records:
        if record["kind"] == "value":
            report = {
                name: record[name] for name in ("slot", "value", "expected", "unplain") if name in record
            }
            values.setdefault(record["index"], []).append(report)
    results = []
    for index in range(job["n_tests"]):
        record = by_index.get(index)
        if record:
            result = {"status": record["status"], "time_s": record["time_s"], "error": record["error"]}
        elif timed_out and index == len(by_index):
            result = {
                "status": "timeout",
                "time_s": 0.0,
                "error": "job wall-clock limit reached during this test",
            }
        else:
            result = {"status": "failed", "time_s": 0.0, "error": "not run: the job ended before this test"}
        if index in values:
            result["values"] = values[index]
        results.append(result)
    return results


def _overall_status(collected, program, done, tests, signal_number, exit_code, cpu_s, limits) -> str:
    outcome = collected["outcome"]
    if outcome in ("timeout", "output_exceeded"):
        return outcome
    if collected["oom_killed"]:
        return "memory_exceeded"
    if collected["launcher_gone"]:
        return "failed"
    if _hit_cpu_limit(signal_number, cpu_s, limits):
        return "timeout"
    if _raised_memory_error(program, tests):
        return "memory_exceeded"
    if not tests:  # a program alone passes by exiting with status 0, however it got there
        return "passed" if exit_code == 0 else "failed"
    if program and program["ok"] and done and all(t["status"] == "passed" for t in tests):
        return "passed"
    if any(t["status"] == "timeout" for t in tests):
        return "timeout"
    return "failed"


def _hit_cpu_limit(signal_number, cpu_s: float, limits: dict) -> bool:
    """The kernel's CPU-time limit: SIGXCPU at the soft limit, SIGKILL at the hard one. Soft and hard are
    equal here, so a busy loop usually dies by SIGKILL; its CPU time tells it from a job that killed itself."""
    return signal_number in (signal.SIGXCPU, signal.SIGKILL) and cpu_s >= limits["cpu_s"] - 0.5


def _raised_memory_error(program, tests: list) -> bool:
    return bool(program and program.get("exc") == "MemoryError") or any(
        t["status"] == "memory_exceeded" for t in tests
    )


def _explain(
    collected: dict, program, done: bool, signal_number, exit_code, cpu_s: float, limits: dict
) -> str:
    if collected["outcome"] == "timeout":
        return "wall-clock limit reached"
    if collected["outcome"] == "output_exceeded":
        return f"output exceeded {collected['cap']} bytes"
    if collected["oom_killed"]:
        return "killed by the sandbox's memory limit (OOM)"
    if collected["launcher_gone"]:
        return "the job killed or stopped the sandbox's job launcher"
    if _hit_cpu_limit(signal_number, cpu_s, limits):
        return f"CPU-time limit of {limits['cpu_s']} s reached"
    if signal_number:
        name = signal.Signals(signal_number).name if signal_number in signal.valid_signals() else ""
        return f"killed by signal {signal_number} {name}".rstrip()
    if program is None:
        return f"the process exited with status {exit_code} before the program finished"
    if not done:
        return f"the process exited with status {exit_code} before the tests finished"
    return "a test failed"


def _text(collected: dict, name: str) -> str:
    return bytes(collected["streams"][name][: collected["cap"]]).decode("utf-8", "replace")
