"""Split tests: expected values judged outside the job, and every trick a job can try against that.

The tricks run on both backends (real Docker engine, real bubblewrap): equality lies (AlwaysEqual,
subclasses, `__bool__`), monkeypatched builtins and operator. What the runner keeps from the job (frames,
gc, tracing, memory, earlier jobs) is tested in test_sandbox_guard.py.
"""

from __future__ import annotations

import pytest
from sandboxes import BACKENDS, open_sandbox, run

from codepref.sandbox import Limits, Status
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
