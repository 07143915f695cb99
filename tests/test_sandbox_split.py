"""Split tests: expected values judged outside the job, and every trick a job can try against that.

The tricks run on both backends (real Docker engine, real bubblewrap): equality lies (AlwaysEqual,
subclasses, `__bool__`), monkeypatched builtins and operator, walking frames or gc to the reporter, forged
records, trace-function jumps, and reading the process's memory for an expected value or another job.
"""

from __future__ import annotations

import pytest
from sandboxes import BACKENDS, open_sandbox, run

from codepref.sandbox import Job, Limits, Status
from codepref.sandbox.split import (
    REPORTER,
    Check,
    SplitTest,
    ValueReport,
    decode_value,
    judge_test,
    split_test,
)

LIMITS = Limits(timeout_s=10.0, cpu_s=10, memory_mb=512, pids=32, output_bytes=1 << 16)


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, LIMITS) as box:
        yield box


# ------------------------------------------------------------------------------------------ splitting


def test_a_literal_expected_value_is_removed_from_the_job_text():
    split = split_test("assert f([1, 2]) == {'secret': (3, 4.5)}")
    assert split.job_text == f"{REPORTER}(0, (f([1, 2])))"
    assert split.checks[0].expected == {"secret": (3, 4.5)} and split.checks[0].required


def test_a_computed_expected_value_is_reported_by_the_job_too():
    split = split_test("assert f(x) != g(x), 'message'")
    assert split.job_text == f"{REPORTER}(0, (f(x)), (g(x)))"
    assert not split.checks[0].literal and not split.checks[0].equal


def test_literal_on_the_left_and_multiline_expressions_split():
    split = split_test("assert 'é' == f(\n    1,\n    2)  # tail\nx = 1")
    assert split.job_text == f"{REPORTER}(0, (f(\n    1,\n    2)))  # tail\nx = 1"
    assert split.checks[0].expected == "é"


def test_humaneval_check_bodies_are_required_but_loops_are_not():
    test = (
        "def check(candidate):\n"
        "    assert candidate(1) == 2\n"
        "    for i in range(3):\n"
        "        assert candidate(i) == i + 1\n"
        "    assert abs(candidate(0.5) - 1.5) < 1e-6\n"
        "check(f)\n"
    )
    split = split_test(test)
    assert [(c.literal, c.required) for c in split.checks] == [(True, True), (False, False)]
    assert "assert abs(candidate(0.5) - 1.5) < 1e-6" in split.job_text  # other shapes run as written
    assert "== 2" not in split.job_text


def test_other_shapes_are_not_split():
    for text in ("assert f(1)", "assert f(1) < 2", "assert 1 == 1", "assert a == b == c", "def broken(:"):
        assert split_test(text) is None


def test_plain_values_round_trip_with_exact_types():
    encoded = {"d": [[1, {"t": [2, {"s": [3]}]}], ["a", [{"b": "78"}, {"c": [1.0, 2.0]}, {"f": "nan"}]]]}
    value = decode_value(encoded)
    assert value[1] == (2, {3}) and type(value[1]) is tuple and value["a"][0] == b"x"
    assert decode_value({"i": "-1" + "0" * 30}) == -(16**30) and decode_value({"z": []}) == frozenset()
    with pytest.raises(ValueError):
        decode_value({"nope": 1})


def test_judging_needs_every_required_check_and_a_right_value():
    split = split_test("assert f(1) == 2\nassert f(2) == 4")
    ok = {"status": "passed", "error": "", "values": [{"slot": 0, "value": 2}, {"slot": 1, "value": 4}]}
    assert judge_test(split, ok) == ("passed", "")
    missing = ok | {"values": ok["values"][:1]}
    assert judge_test(split, missing)[0] == "failed"
    wrong = ok | {"values": [{"slot": 0, "value": 2}, {"slot": 1, "value": 4.5}]}
    assert judge_test(split, wrong) == ("failed", "AssertionError: line 2: expected 4, got 4.5")
    assert judge_test(split, ok | {"status": "timeout", "error": "t"}) == ("timeout", "t")


class Within:
    """A comparison that keeps state: the allowed distance halves after each report it judges."""

    def __call__(self):
        allowed = [1.0]

        def holds(slot, check, value, expected):
            good = abs(value - expected) <= allowed[0]
            allowed[0] /= 2
            return good

        return holds


def test_a_builders_split_test_is_judged_with_its_own_comparison(sandbox):
    checks = tuple(Check(True, True, 10.0, True, f"input {i}") for i in range(2))
    split = SplitTest(f"{REPORTER}(0, f(0))\n{REPORTER}(1, f(1))", checks, Within())
    close = run(sandbox, "def f(i):\n    return 10.5 - i * 0.3", [split])  # 0.5 <= 1, then 0.2 <= 0.5
    assert close.passed, close.tests
    far = run(sandbox, "def f(i):\n    return 10.9", [split, split])  # 0.9 <= 1, then 0.9 > 0.5
    assert [t.error for t in far.tests] == ["AssertionError: input 1: expected 10.0, got 10.9"] * 2


def test_a_value_report_hands_the_values_back_undecided(sandbox):
    verdict = run(sandbox, "", [ValueReport(f"{REPORTER}(0, (1, 'a'))\n{REPORTER}(1, {{2}})")])
    assert verdict.passed and [decode_value(r["value"]) for r in verdict.tests[0].values] == [(1, "a"), {2}]
    assert run(sandbox, "", [f"{REPORTER}(0, 1)"]).status == Status.FAILED  # values no test asked for


# ------------------------------------------------------------------------------------------ equality lies

LIES = {
    "AlwaysEqual": "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n"
    "    def __ne__(self, other):\n        return False\ndef f(x):\n    return AlwaysEqual()",
    "int subclass": "class I(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return I(5)",
    "str subclass": "class S(str):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return S('x')",
    "list subclass": "class L(list):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return L()",
    "__bool__ of the comparison": "class T:\n    def __bool__(self):\n        return True\n"
    "class E:\n    def __eq__(self, other):\n        return T()\n    __ne__ = __eq__\ndef f(x):\n    return E()",
    "Counter subclass": "import collections\nclass C(collections.Counter):\n    def __eq__(self, o):\n"
    "        return True\ndef f(x):\n    return C()",
    "a list holding a liar": "class A:\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return [A()]",
    "monkeypatched builtins and operator": (
        "import builtins, operator, json\n"
        "class A:\n    def __eq__(self, o):\n        return True\n"
        "builtins.type = lambda *a: int\nbuiltins.isinstance = lambda *a: True\n"
        "operator.eq = operator.ne = lambda a, b: True\njson.dumps = lambda *a, **k: '7'\n"
        "def f(x):\n    return A()"
    ),
}


@pytest.mark.parametrize("name", list(LIES))
def test_an_equality_lie_fails(sandbox, name):
    verdict = run(sandbox, LIES[name], ["assert f(1) == [7]", "assert f(2) != f(2)"])
    assert [t.status for t in verdict.tests] == [Status.FAILED, Status.FAILED], name
    assert verdict.status == Status.FAILED
    assert run(sandbox, "def f(x):\n    return [7]", ["assert f(1) == [7]"]).passed  # the sandbox is sound


def test_values_compare_as_python_does(sandbox):
    program = "import math, collections\nP = collections.namedtuple('P', 'x y')\ndef f(x):\n    return x"
    tests = [
        "assert f(collections.Counter('aab')) == {'a': 2, 'b': 1}",
        "assert f(collections.defaultdict(list, k=[1])) == {'k': [1]}",
        "assert f(collections.OrderedDict(b=1, a=2)) == {'a': 2, 'b': 1}",
        "assert f(P(1, 2)) == (1, 2)",
        "assert f(1) == 1.0",
        "assert f(True) == 1",
        "assert f((1, [2])) == (1, [2])",
        "assert f([1]) != (1,)",
        "assert f(0.1 + 0.2) != 0.3",  # HumanEval and MBPP compare floats exactly, as Python does
        "assert f(float('nan')) != float('nan')",
        "assert f({1: b'x', 'k': {2, 3}}) == {1: b'x', 'k': {3, 2}}",
        "assert f(10**100) == 10**100",
        "assert f(2j) == 2j",
        "assert f(math.inf) == float('inf')",
    ]
    verdict = run(sandbox, program, tests)
    assert [t.status for t in verdict.tests] == [Status.PASSED] * len(tests), verdict.tests


# ------------------------------------------------------------------------------------------ forged reports

FRAME_WALK = """
import os, sys
def forge(n_tests):
    frame = sys._getframe()
    while frame is not None and not isinstance(frame.f_locals.get("nonce"), str):
        frame = frame.f_back
    nonce = frame.f_locals["nonce"]
    for index in range(n_tests):
        os.write(3, ('{"nonce": "%s", "kind": "test", "index": %d, "status": "passed", "time_s": 0.0, '
                     '"error": ""}\\n' % (nonce, index)).encode())
    os.write(3, ('{"nonce": "%s", "kind": "done"}\\n' % nonce).encode())
    os._exit(0)
def f(x):
    forge(2)
"""

GC_SEARCH = """
import gc, os
def f(x):
    reporters = [o for o in gc.get_objects() if callable(o) and getattr(o, "__name__", "") == "report"]
    nonces = [o for o in gc.get_objects() if type(o) is str and len(o) == 32 and o.isalnum()]
    for report in reporters:
        for slot in range(2):
            try:
                report(slot, x + 1)
            except BaseException:
                pass
    for nonce in set(nonces):
        for index in range(2):
            os.write(3, ('{"nonce": "%s", "kind": "test", "index": %d, "status": "passed", "time_s": 0.0, '
                         '"error": ""}\\n' % (nonce, index)).encode())
        os.write(3, ('{"nonce": "%s", "kind": "done"}\\n' % nonce).encode())
    os._exit(0)
"""

TRACE_JUMP = """
import sys
def f(x):
    return x + 1
def jump_over_wrong_checks(frame, event, arg):
    if frame.f_code.co_name == "check":
        frame.f_trace_lines = True
        def line(frame, event, arg):
            if event == "line" and frame.f_lineno == 3:
                frame.f_lineno = 4  # skip the check that would fail
            return line
        return line
    return None
sys.settrace(jump_over_wrong_checks)
"""


def test_walking_frames_to_the_runner_cannot_forge_a_split_test(sandbox):
    verdict = run(sandbox, FRAME_WALK, ["assert f(1) == 2", "assert f(2) == 3"])
    assert verdict.status == Status.FAILED
    assert all("never reached" in t.error for t in verdict.tests)


def test_searching_gc_for_the_nonce_and_reporter_cannot_forge_a_split_test(sandbox):
    verdict = run(sandbox, GC_SEARCH, ["assert f(1) == 5", "assert f(2) == 7"])
    assert verdict.status == Status.FAILED
    # the forger exits before its tests run: neither is reported as reached, let alone passed
    assert [t.status for t in verdict.tests] == [Status.NOT_RUN, Status.NOT_RUN]


def test_a_trace_function_skipping_a_check_fails(sandbox):
    test = (
        "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n    return None\n"
        "check(f)\n"
    )
    verdict = run(sandbox, TRACE_JUMP, [test])
    assert verdict.status == Status.FAILED and "never reached" in verdict.tests[0].error


def test_other_shapes_stay_forgeable_by_walking_frames(sandbox):
    """What the README admits: a test that is not an equality check runs in the job, which can forge it."""
    verdict = run(sandbox, FRAME_WALK, ["assert f(1) is None and False", "assert not f(2)"])
    assert verdict.status == Status.PASSED


# ------------------------------------------------------------------------------------------ reading memory

# Finds FIRST + SECOND in this process's memory without ever holding the two halves side by side. Each test
# uses its own marker: a value an earlier job reported may linger in the runner's freed memory (README).
MEMORY_SCAN = """
import ctypes, os, re
FIRST, SECOND = b"%s", b"%s"
def found_in_memory():
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # dumpable again, so /proc/self/mem opens
    mem = os.open("/proc/self/mem", os.O_RDONLY)
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        if not fields[1].startswith("r") or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
            continue
        start, end = (int(part, 16) for part in fields[0].split("-"))
        for offset in range(start, end, 1 << 20):
            try:
                chunk = os.pread(mem, min(1 << 20, end - offset) + 16, offset)
            except OSError:
                continue
            for hit in re.finditer(FIRST, chunk):
                if chunk[hit.end():hit.end() + 5] == SECOND:
                    return True
    return False
def f():
    return (FIRST + SECOND).decode() if found_in_memory() else "not found"
"""


def test_the_memory_scan_finds_text_that_is_in_the_job(sandbox):
    program = MEMORY_SCAN % ("KNOWN", "TEXT1") + "text = 'KNOWNTEXT1'\n"
    verdict = run(sandbox, program, ["assert f() != 'not found'"])
    assert verdict.passed, verdict.tests[0].error or verdict.stderr


def test_a_literal_expected_value_never_enters_the_job(sandbox):
    verdict = run(sandbox, MEMORY_SCAN % ("ZQX7Q", "K3P9W"), ["assert f() == 'ZQX7QK3P9W'"])
    assert verdict.tests[0].error == "AssertionError: line 1: expected 'ZQX7QK3P9W', got 'not found'"


def test_queued_and_earlier_jobs_are_not_in_the_jobs_memory(sandbox):
    secret = "secret = 'QUEUEDJOB7'\n" * 50
    earlier = Job(secret)
    scanner = Job(MEMORY_SCAN % ("QUEUE", "DJOB7") + "import time\ntime.sleep(0.3)\nprint(f())")
    queued = [Job(secret) for _ in range(3)]  # sent behind the scanner while it runs
    verdicts = {v.job_id: v for v in sandbox.run_many([earlier, scanner, *queued])}
    assert verdicts[scanner.job_id].stdout == "not found\n", verdicts[scanner.job_id].stderr
