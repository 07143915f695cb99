"""Split tests: expected values judged outside the job, and every trick a job can try against that.

What reaches the job (no comment, no message, no hidden value, in any shape the host judges) is checked on
the job text, and on the job's memory read from the host; each shape also runs end to end. The tricks run
on both backends (real Docker engine, real bubblewrap): equality lies (AlwaysEqual, subclasses, `__bool__`),
monkeypatched builtins and operator. What the runner keeps from the job (frames, gc, tracing, memory,
earlier jobs) is tested in test_sandbox_guard.py.
"""

from __future__ import annotations

import ast
import re

import pytest
from sandboxes import BACKENDS, hold, memory_while_running, open_sandbox, run

from codepref.sandbox import Job, Limits, Status
from codepref.sandbox.hiding import groups
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


def test_literal_on_the_left_and_multiline_expressions_split_keeping_every_line():
    split = split_test("assert 'é' == f(\n    1,\n    2)  # tail\nx = 1")
    assert split.job_text == f"{REPORTER}(0, (f(\n    1,\n    2)))\nx = 1"
    assert split.checks[0].expected == "é"
    dropped = split_test("assert f(1) == [\n    2,\n    3,\n]\nx = 1").job_text
    assert dropped == f"{REPORTER}(0, (f(1))\n\n\n)\nx = 1"  # later lines keep their numbers


def test_humaneval_check_bodies_are_required_but_other_loops_are_not():
    test = (
        "def check(candidate):\n"
        "    assert candidate(1) == 2\n"
        "    for i in range(3):\n"
        "        assert candidate(i) == i + 1\n"
        "    assert abs(candidate(0.5) - 1.5) < 1e-6\n"
        "    return None\n"
        "check(f)\n"
    )
    split = split_test(test)
    assert {c.where: (c.literal, c.required) for c in split.checks} == {
        "line 2": (True, True),
        "line 4": (False, False),
        "line 5": (True, True),
    }
    assert "== 2" not in split.job_text and "1.5" not in split.job_text


def test_a_check_function_that_can_return_early_has_no_required_checks():
    test = "def check(c):\n    if c(0) == 0:\n        return\n    assert c(1) == 2\ncheck(f)"
    assert not split_test(test).checks[-1].required


def test_asserts_a_handler_may_expect_to_raise_are_left_as_written():
    for test in (
        "try:\n    assert f(1) == 2\nexcept AssertionError:\n    pass",
        "with pytest.raises(AssertionError):\n    assert f(1) == 2",
    ):
        split = split_test(test)
        assert split.checks == () and "assert f(1) == 2" in split.job_text


def test_a_test_with_nothing_to_judge_here_runs_as_written():
    for text in ("assert f(1) or f(2)", "assert a == b == c", "assert f(x) is g(x)", "x = f(1)"):
        split = split_test(text)
        assert split.checks == () and split.job_text == text


def test_a_test_that_does_not_compile_here_or_names_the_reporter_is_not_sent():
    for text, raised in (
        ("def broken(:  # 111", "raise SyntaxError("),
        ('x = """111', "raise SyntaxError("),
        ("x = '111\0'", "raise SyntaxError("),
        (f"x = {REPORTER}\nassert f(1) == 111", "raise NameError("),
    ):
        split = split_test(text)
        assert split.job_text.startswith(raised) and "111" not in split.job_text and not split.checks


# ------------------------------------------------------------------------------------------ comments


def test_comments_never_reach_the_job_whether_or_not_the_test_is_split():
    split = split_test("# f(27) is 111\nassert f(27) == 111  # 27 -> 111\n")
    assert "#" not in split.job_text and "111" not in split.job_text
    unsplit = split_test("x = f(27)  # should be 111\nprint(x)  # 111\n# 111")
    assert unsplit.job_text == "x = f(27)\nprint(x)\n\n"


def test_cutting_comments_keeps_every_line_and_every_column():
    text = (
        "def g(a):  # c\n    # c\n    return (a +  # c\n            1)\nassert g(1) == 2 # c\ny = '#'  # c\n"
    )
    job_text = split_test(text).job_text
    assert job_text.count("\n") == text.count("\n") and job_text.splitlines()[5] == "y = '#'"
    assert [n.lineno for n in ast.parse(job_text).body] == [n.lineno for n in ast.parse(text).body]


def test_a_comment_after_a_line_continuation_on_the_last_line_still_compiles():
    split = split_test("assert f(1) == 2\nx = 1 \\\n# 2")
    ast.parse(split.job_text)
    assert "#" not in split.job_text and split.checks[0].expected == 2


# ------------------------------------------------------------------------------------------ shapes


def judged(split, *values, status="passed"):
    """The host's verdict on a test whose job reported `values`, (slot, value) pairs in report order."""
    reports = [{"slot": slot, "value": value} for slot, value in values]
    return judge_test(split, {"status": status, "error": "", "values": reports})


def test_an_and_of_checks_becomes_one_check_per_operand_in_order():
    split = split_test("assert f([1, 2, 3, 4]) == 30 and f([]) == 0 and f(5) != 31, 'msg 30'")
    calls = [f"{REPORTER}(0, (f([1, 2, 3, 4])))", f"{REPORTER}(1, (f([])))", f"{REPORTER}(2, (f(5)))"]
    assert split.job_text == "; ".join(calls)
    assert [(c.expected, c.equal, c.where) for c in split.checks] == [
        (30, True, "line 1, part 1"),
        (0, True, "line 1, part 2"),
        (31, False, "line 1, part 3"),
    ]
    assert judged(split, (0, 30), (1, 0), (2, 1)) == ("passed", "")
    assert judged(split, (0, 30), (1, 1), (2, 1))[1] == "AssertionError: line 1, part 2: expected 0, got 1"


def test_an_and_operand_of_no_host_shape_stays_an_assert_of_its_own():
    split = split_test("assert f(1) == 30 and (f(2) or f(3))")
    assert split.job_text == f"{REPORTER}(0, (f(1))); assert (f(2) or f(3))"


def test_truthiness_and_not_are_judged_on_the_plain_value():
    split = split_test("assert f(1)\nassert not f(2)")
    assert split.job_text == f"{REPORTER}(0, (f(1)))\n{REPORTER}(1, (f(2)))"
    assert judged(split, (0, [0]), (1, "")) == ("passed", "")
    assert judged(split, (0, 0), (1, ""))[1] == "AssertionError: line 1: expected a true value, got 0"
    assert (
        judged(split, (0, 1), (1, [None]))[1] == "AssertionError: line 2: expected a false value, got [None]"
    )


def test_is_none_true_and_false_are_exact_value_checks():
    split = split_test(
        "assert f(1) is None\nassert f(2) is not None\nassert f(3) is True\nassert f(4) is False"
    )
    assert not re.search("None|True|False", split.job_text)
    assert judged(split, (0, None), (1, 0), (2, True), (3, False)) == ("passed", "")
    assert judged(split, (0, None), (1, 0), (2, 1), (3, False))[1] == (
        "AssertionError: line 3: expected value is True, got 1"
    )
    assert judged(split, (0, None), (1, None))[0] == "failed"
    assert judged(split, (0, None), (1, 0), (2, True), (3, 0.0))[0] == "failed"


def test_comparisons_with_a_literal_side_and_chains_are_judged_here():
    split = split_test(
        "assert f(1) < 10\nassert 3 <= f(2)\nassert f(3) > -1.5\nassert f(4) >= 'b'\n"
        "assert f(5) in ('x', 'y')\nassert 'q' not in f(6)\nassert 0 < f(7) < 10 != 11\nassert not f(8) > 2"
    )
    assert split.job_text == "\n".join(f"{REPORTER}({i}, (f({i + 1})))" for i in range(8))
    right = [(0, 9), (1, 3), (2, -1.0), (3, "c"), (4, "y"), (5, "abc"), (6, 5), (7, 2)]
    assert judged(split, *right) == ("passed", "")
    wrong = (dict(right) | {6: 10}).items()
    assert judged(split, *wrong)[1] == "AssertionError: line 7: expected 0 < value < 10 != 11, got 10"
    wrong = (dict(right) | {7: 3}).items()
    assert judged(split, *wrong)[1] == "AssertionError: line 8: expected not (value > 2), got 3"


def test_a_comparison_python_cannot_make_fails_the_check():
    split = split_test("assert f(1) < 10\nassert 'a' in f(2)")
    assert judged(split, (0, "nine"), (1, "abc"))[0] == "failed"
    assert judged(split, (0, 9), (1, 5))[0] == "failed"


def test_tolerance_checks_keep_their_target_and_epsilon_here():
    split = split_test(
        "assert abs(f(1) - 1.25) < 1e-6\nassert abs(2.5 - f(2)) <= 0.125\n"
        "assert math.fabs(f(3) - 7.75) < 0.5\nassert math.isclose(f(4), 3.375, rel_tol=1e-9, abs_tol=0.0)\n"
        "assert not math.isclose(8.5, f(5))"
    )
    assert not re.search(r"1\.25|2\.5|0\.125|7\.75|0\.5|3\.375|8\.5|1e-", split.job_text), split.job_text
    right = [(0, 1.25), (1, 2.5), (2, 8.0), (3, 3.375), (4, 1.0)]
    assert judged(split, *right) == ("passed", "")
    assert judged(split, *(dict(right) | {0: 1.25 + 1e-5}).items())[1] == (
        "AssertionError: line 1: expected abs(value - 1.25) < 1e-06, got 1.25001"
    )
    for slot, wrong in ((1, "2.5"), (2, 8.5), (3, 3.4), (4, 8.5)):
        assert judged(split, *(dict(right) | {slot: wrong}).items())[0] == "failed", slot


def test_math_checks_still_look_math_up_in_the_job():
    """As the assert did: a test using `math` it never imported keeps failing."""
    split = split_test("assert math.isclose(f(1), 2.0)\nassert math.fabs(f(2) - 1) < 0.1")
    assert split.job_text == f"math.isclose; {REPORTER}(0, (f(1)))\nmath.fabs; {REPORTER}(1, (f(2)))"


def test_a_literal_loop_sends_only_its_inputs_and_judges_every_iteration():
    test = (
        "def check(c):\n    for x, want in [(1, 'one'), (2, 'two')]:\n        assert c(x) == want\ncheck(f)"
    )
    split = split_test(test)
    loop = f"def check(c):\n    for (x,) in ((1,), (2,),):\n        {REPORTER}(0, (c(x)))\ncheck(f)"
    assert split.job_text == loop
    assert [(c.expected, c.slot, c.required) for c in split.checks] == [("one", 0, True), ("two", 0, True)]
    assert judged(split, (0, "one"), (0, "two")) == ("passed", "")
    assert judged(split, (0, "one"), (0, "one"))[1] == (
        "AssertionError: line 3, iteration 2: expected 'two', got 'one'"
    )
    assert judged(split, (0, "one"))[1] == "AssertionError: line 3, iteration 2: the check was never reached"


def test_all_over_a_literal_sends_only_its_inputs():
    split = split_test("assert all(abs(f(a, b) - want) < 1e-9 for a, b, want in [(1, 2, 0.5), (3, 4, 0.75)])")
    assert split.job_text == f"[({REPORTER}(0, (f(a, b))),) for (a, b,) in ((1, 2,), (3, 4,),)]"
    assert [c.expected for c in split.checks] == [(1e-9, 0.5), (1e-9, 0.75)]
    assert judged(split, (0, 0.5), (0, 0.75)) == ("passed", "")
    assert judged(split, (0, 0.5), (0, 0.5))[0] == "failed"


def test_a_loop_whose_expected_name_is_used_elsewhere_is_not_unrolled():
    for test in (
        "for x, y in [(1, 2), (3, 4)]:\n    assert f(x) == y\n    print(y)",
        "for x, y in [(1, 2), (3, 4)]:\n    assert f(x) == y\nprint(y)",
        "for x, y in [(1, 2), (3, 4)]:\n    if x:\n        break\n    assert f(x) == y",
        "if ok:\n    for x, y in [(1, 2), (3, 4)]:\n        assert f(x) == y",
    ):
        split = split_test(test)
        assert [c.literal for c in split.checks] == [False], test  # the job computes `y`, as it did


def test_constant_expected_sides_are_folded_here():
    split = split_test(
        "assert f(1) == 2**1000 % (10**9 + 7)\nassert f(2) == [0] * 5\nassert f(3) == float('-inf')\n"
        "assert f(4) == list(range(5))\nassert f(5) == 'ab' * 3\nassert f(6) == tuple()\nassert f(7) == set()\n"
        "assert f(8) == sorted({3: 'x', 1: 'y'})\nassert f(9) == 'abc'[::-1]"
    )
    expected = [
        2**1000 % (10**9 + 7),
        [0] * 5,
        float("-inf"),
        [0, 1, 2, 3, 4],
        "ababab",
        (),
        set(),
        [1, 3],
        "cba",
    ]
    assert [c.expected for c in split.checks] == expected and all(c.literal for c in split.checks)
    assert split.job_text == "\n".join(f"{REPORTER}({i}, (f({i + 1})))" for i in range(9))


def test_folding_refuses_big_or_unknown_expressions():
    for expected in (
        "2**10**9", "'a' * 10**9", "[0] * 10**9", "[[0] * 9999] * 9999", "1 << 10**6", "list(range(10**12))",
        "sum(range(10**12))", "'%0999999999d' % 1", "int('9' * 5000)", "str(10**30000)", "open('x')",
        "x + 1", "max", "pow(2, 10**9)", "(lambda: 1)()", "[i for i in range(3)]", "1 / 0",
    ):  # fmt: skip
        split = split_test(f"assert f(1) == {expected}")
        assert [c.literal for c in split.checks] == [False], expected  # the job computes it, as it did


def test_the_asserts_message_never_reaches_the_job():
    for test in (
        "assert f(1) == 2, 'expected 2 (SECRET)'",
        "assert f(1) and f(2) == 2, 'SECRET'",
        "assert f(1), 'SECRET'",
        "assert True, 'SECRET'",
        "for x, y in [(1, 2)]:\n    assert f(x) == y, 'SECRET'",
    ):
        assert "SECRET" not in split_test(test).job_text, test


def test_a_constant_assert_is_decided_here():
    split = split_test("assert True, 'This prints if this assert fails 1'\nassert (\n    0\n)")
    assert split.job_text == "(None)\nraise AssertionError(\n\n)" and not split.checks


# ------------------------------------------------------------------------------------------ repeated values


def test_a_check_whose_value_its_own_test_repeats_is_reported_not_hidden():
    """HumanEval/151's `i > 0` repeats the expected 0: that check's constant travels, and is reported."""
    test = "assert f([]) == 0\nassert f([5]) == 25\nodd = [i for i in lst if i > 0]"
    ((_, (split,)),) = groups([test])
    assert split.job_text.splitlines()[:2] == [f"{REPORTER}(0, (f([])), (0))", f"{REPORTER}(1, (f([5])))"]
    assert [(c.literal, c.expected) for c in split.checks] == [(False, None), (True, 25)]


def test_a_test_repeating_a_value_another_test_hides_goes_to_a_second_job():
    tests = ["assert f('ab') == 'ba'", "s = 'ba'\nassert f(s) == 'ab'", "assert f('c') == 'c'"]
    (first, first_splits), (second, second_splits) = groups(tests)
    assert first == (0, 2) and second == (1,)
    assert [c.literal for split in (*first_splits, *second_splits) for c in split.checks] == [True] * 3
    assert groups(["assert f(1) == 2", "assert f(2) == 4"])[0][0] == (0, 1)


def test_a_value_is_repeated_when_python_would_find_it_equal():
    hidden = ["assert f(1) == 2", "assert f(2) == (1, [2, 1])", "assert f(3) == {'a': None, 'b': {1, 2}}"]
    for repeated in ("x = 2.0", "x = (1, [2, True])", "x = {'b': {2, 1}, 'a': None}", "x = 2 + 0j"):
        assert [indices for indices, _ in groups([*hidden, repeated])] == [(0, 1, 2), (3,)], repeated


# ------------------------------------------------------------------------------------------ line endings


def test_bare_carriage_returns_end_lines_as_python_reads_them():
    split = split_test("x = 1\rassert f(x) == 2\r\nassert f(2) == \\\r    4  # 4\r")
    assert split.job_text == f"x = 1\n{REPORTER}(0, (f(x)))\n{REPORTER}(1, (f(2))\n)\n"
    assert [(c.expected, c.where) for c in split.checks] == [(2, "line 2"), (4, "line 3")]


def test_a_carriage_return_inside_a_string_is_the_newline_python_reads():
    split = split_test("assert f(1) == '''a\rb'''\nassert f(2) == 3")
    assert [c.expected for c in split.checks] == ["a\nb", 3] and split.job_text.count("\n") == 2


# ------------------------------------------------------------------------------------------ judging


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


# ------------------------------------------------------------------------------------------ shapes, end to end

RIGHT = "import math\ndef f(x):\n    return x * 2\ndef g(x):\n    return None if x == 0 else x > 0\n"
WRONG = "import math\ndef f(x):\n    return x * 2 + 1\ndef g(x):\n    return 0 if x == 0 else int(x > 0)\n"
SHAPES = {
    "and": "assert f(1) == 2 and f(2) == 4 and f(3) != 5",
    "truthiness": "assert f(1)\nassert not f(0)",
    "identity": "assert g(0) is None\nassert g(1) is True\nassert g(-1) is False\nassert g(2) is not None",
    "comparisons": "assert f(1) > 1\nassert 0 < f(2) <= 4\nassert f(3) in (5, 6)\nassert f(4) not in [9]",
    "tolerance": "assert abs(f(0.5) - 1.0) < 1e-9\nassert math.isclose(f(1.5), 3.0, rel_tol=1e-9)",
    "literal loop": "def check(c):\n    for x, y in [(1, 2), (3, 6)]:\n        assert c(x) == y\ncheck(f)",
    "all over a literal": "assert all(f(x) == y for x, y in [(1, 2), (3, 6)])",
    "folded": "assert f(2**10) == 2**11\nassert f(5) == int('10')",
    "comments and carriage returns": "assert f(1) == 2  # 1 -> 2\rassert f(2) == \\\r\n    4  # 4",
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_shape_passes_a_right_program_and_fails_a_wrong_one(sandbox, shape):
    assert run(sandbox, RIGHT, [SHAPES[shape]]).passed, run(sandbox, RIGHT, [SHAPES[shape]]).tests
    wrong = run(sandbox, WRONG, [SHAPES[shape]])
    assert wrong.status == Status.FAILED and wrong.tests[0].error.startswith("AssertionError: line"), (
        wrong.tests
    )


def test_a_job_split_in_two_comes_back_as_one_verdict(sandbox):
    tests = ["assert f(1) == 2", "x = 2\nassert f(x) == 4", "assert f(3) == 6"]  # the second repeats a 2
    assert [indices for indices, _ in groups(tests)] == [(0, 2), (1,)]
    right = run(sandbox, RIGHT, tests)
    assert right.passed and [t.status for t in right.tests] == [Status.PASSED] * 3
    wrong = run(sandbox, "def f(x):\n    return 4 if x == 2 else 0\n", tests)
    assert wrong.status == Status.FAILED
    assert [t.status for t in wrong.tests] == [Status.FAILED, Status.PASSED, Status.FAILED]


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


# ------------------------------------------------------------------------------------------ reading memory


def test_no_shape_puts_its_hidden_value_in_the_jobs_memory(sandbox):
    """The value sits in a comment, a message, a chain, an `and`, a loop's table and a membership tuple;
    the job's whole memory, read from the host while it runs, does not hold it."""
    tests = [
        "assert f() == 'ZQX8QK3P9W'  # 'ZQX8QK3P9W'",
        "assert f() != 'x' and f() <= 'ZQX8Q' + 'K3P9W', 'ZQX8QK3P9W'",
        "def check(c):\n    for n, want in [(0, 'ZQX8QK3P9W')]:\n        assert c() == want\ncheck(f)",
        "assert f() in ('ZQX8QK3P9W',)",
    ]
    job = Job("def f():\n    return 'not found'\n" + hold("scan-shapes"), tuple(tests))
    memory, verdicts = memory_while_running(sandbox, [job], "scan-shapes")
    assert b"ZQX8QK3P9W" not in memory["job"] and b"ZQX8QK3P9W" not in memory["launcher"]
    assert [t.error for t in verdicts[job.job_id].tests] == [
        "AssertionError: line 1: expected 'ZQX8QK3P9W', got 'not found'",
        "AssertionError: line 1, part 2: expected value <= 'ZQX8QK3P9W', got 'not found'",
        "AssertionError: line 3, iteration 1: expected 'ZQX8QK3P9W', got 'not found'",
        "AssertionError: line 1: expected value in ('ZQX8QK3P9W',), got 'not found'",
    ]
