"""The in-sandbox runner's reply lines, checked before the host uses any of them.

A reply is untrusted input: the runner relays what a job's records say (a job that finds its nonce can
write any record), and a broken or subverted sandbox can write anything at all. So a reply must be one
whole JSON object holding the verdict's fields and nothing else, each of its type, with statuses the runner
can produce, one result per test of the job, finite non-negative numbers and bounded text. Anything else
raises `MalformedReply`, which the pool turns into a failed verdict for the job and a fresh sandbox.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from codepref.sandbox.types import Status

# The longest reply the runner can write: stdout and stderr up to the largest output cap (64 MiB each),
# JSON-escaped at up to 6 bytes per byte, plus the 16 MiB result stream. A longer line is not a reply.
MAX_REPLY_BYTES = 1 << 30
MAX_ERROR_CHARS = 4096  # the runner cuts its own error messages to 500 characters
VERDICT_STATUSES = frozenset(Status) - {Status.NOT_RUN}  # the runner writes a test it never reached as failed
TEST_STATUSES = frozenset({Status.PASSED, Status.FAILED, Status.TIMEOUT, Status.MEMORY_EXCEEDED})


class MalformedReply(ValueError):
    """A reply line the host cannot use; the message says what is wrong with it."""


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_error(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_ERROR_CHARS


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _is_optional_int(value: Any) -> bool:
    return value is None or type(value) is int  # not bool, which is an int too


def _is_amount(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _status_in(statuses: frozenset[Status]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in statuses


ERROR_RULE = (_is_error, f"a string of at most {MAX_ERROR_CHARS} characters")
AMOUNT_RULE = (_is_amount, "a finite number >= 0")
# Every field a verdict line may hold: how to check it, and what it must be.
VERDICT_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "job_id": (_is_text, "a string"),
    "status": (_status_in(VERDICT_STATUSES), "a verdict status"),
    "tests": (_is_list, "a list"),
    "exit_code": (_is_optional_int, "an integer or null"),
    "signal": (_is_optional_int, "an integer or null"),
    "stdout": (_is_text, "a string"),
    "stderr": (_is_text, "a string"),
    "stdout_truncated": (_is_flag, "a boolean"),
    "stderr_truncated": (_is_flag, "a boolean"),
    "wall_s": AMOUNT_RULE,
    "cpu_s": AMOUNT_RULE,
    "peak_memory_mb": AMOUNT_RULE,
    "error": ERROR_RULE,
    "recycle": (_is_flag, "a boolean"),
}
# What the runner's report of its own failure carries (its other fields are optional, still checked).
SANDBOX_ERROR_FIELDS = frozenset({"job_id", "status", "error", "recycle"})
TEST_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "status": (_status_in(TEST_STATUSES), "a test status"),
    "time_s": AMOUNT_RULE,
    "error": ERROR_RULE,
    "values": (
        lambda value: isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "a list of objects",
    ),
}
OPTIONAL_TEST_FIELDS = frozenset({"values"})  # only tests that report values carry them


def parse_line(line: bytes) -> dict[str, Any]:
    """One reply line (as read with a limit of MAX_REPLY_BYTES + 1) as a JSON object."""
    if not line.endswith(b"\n"):
        too_long = len(line) > MAX_REPLY_BYTES
        raise MalformedReply(f"a line over {MAX_REPLY_BYTES} bytes" if too_long else "an unfinished line")
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError) as exc:  # deep nesting raises RecursionError, not ValueError
        raise MalformedReply(f"not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(reply, dict):
        raise MalformedReply(f"a JSON {type(reply).__name__}, not an object")
    return reply


def check_reply(reply: dict[str, Any], job_id: str, n_tests: int) -> None:
    """Raise MalformedReply unless `reply` is a verdict the runner could have written for this job."""
    _check_fields(reply, VERDICT_FIELDS, set(), "the reply")
    if reply["job_id"] != job_id:
        raise MalformedReply(f"a reply for job {reply['job_id'][:80]!r}, not for job {job_id!r}")
    required = SANDBOX_ERROR_FIELDS if reply["status"] == Status.SANDBOX_ERROR else set(VERDICT_FIELDS)
    if missing := sorted(required - set(reply)):
        raise MalformedReply(f"the reply lacks {', '.join(missing)}")
    tests = reply.get("tests", [])
    expected = 0 if reply["status"] == Status.SANDBOX_ERROR else n_tests  # the runner's fault: no test ran
    if len(tests) != expected:
        raise MalformedReply(f"{len(tests)} test results for a job of {expected} tests")
    for index, result in enumerate(tests):
        if not isinstance(result, dict):
            raise MalformedReply(f"test {index} is not an object")
        _check_fields(result, TEST_FIELDS, set(TEST_FIELDS) - OPTIONAL_TEST_FIELDS, f"test {index}")


def _check_fields(data: dict, rules: dict, required: set[str], where: str) -> None:
    if unknown := sorted(str(name)[:40] for name in set(data) - set(rules)):
        raise MalformedReply(f"{where} has unknown fields {', '.join(unknown[:5])}")
    if missing := sorted(required - set(data)):
        raise MalformedReply(f"{where} lacks {', '.join(missing)}")
    for name, value in data.items():
        check, meaning = rules[name]
        if not check(value):
            raise MalformedReply(f"{where}: {name} must be {meaning}, got {type(value).__name__}")
