"""Split tests under fuzzing: odd whitespace, line endings, unicode, comments, parentheses, continuations.

No sandbox: the job text runs here in a plain `exec`, with a reporter that records values as the runner
encodes them, and the host's verdict (`judge_test`) is compared with running the original test as written.
"""

from __future__ import annotations

import ast
import io
import math
import tokenize

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codepref.sandbox.fold import NotConstant, fold, value_key
from codepref.sandbox.hiding import groups
from codepref.sandbox.split import REPORTER, SplitTest, judge_test, split_test

RIGHT = "import math\ndef f(x):\n    return x * 2 if isinstance(x, (int, float)) else x[::-1]\n"
WRONG = "import math\ndef f(x):\n    return x * 2 + 1 if isinstance(x, (int, float)) else x[1:] + x[:1]\n"
FUZZ = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------------ running here


class NotPlain(Exception):
    pass


def encode(value):
    """A value as the runner reports it (sandbox/runner.py `_plain`), for the shapes these tests produce."""
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if -(1 << 53) < value < (1 << 53) else {"i": format(value, "x")}
    if kind is float:
        return value if math.isfinite(value) else {"f": repr(value)}
    if kind is list:
        return [encode(item) for item in value]
    if kind is tuple:
        return {"t": [encode(item) for item in value]}
    raise NotPlain(kind.__name__)


def run_as_written(program: str, test: str) -> str:
    namespace: dict = {}
    exec(compile(program, "<program>", "exec"), namespace)
    try:
        exec(compile(test, "<test>", "exec"), namespace)
    except Exception:  # noqa: BLE001 - the test's failure, whatever it raised
        return "failed"
    return "passed"


def run_split(program: str, split: SplitTest) -> str:
    reported = []

    def report(slot, value, *expected):
        try:
            record = {"slot": slot, "value": encode(value)}
            if expected:
                record["expected"] = encode(expected[0])
        except NotPlain as exc:
            reported.append({"slot": slot, "unplain": str(exc)})
            raise AssertionError("not plain data") from None
        reported.append(record)

    namespace: dict = {}
    exec(compile(program, "<program>", "exec"), namespace)
    namespace[REPORTER] = report
    status = "passed"
    try:
        exec(compile(split.job_text, "<test>", "exec"), namespace)
    except Exception:  # noqa: BLE001
        status = "failed"
    return judge_test(split, {"status": status, "error": "", "values": reported})[0]


def hidden_values_in_text(split: SplitTest, hidden: set) -> list:
    """Constants of the job text, outside what the job evaluates for its checks, equal to a hidden value."""
    found = []
    pending: list[ast.AST] = [ast.parse(split.job_text)]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == REPORTER:
            continue  # the values the job reports on
        if isinstance(node, ast.For) and REPORTER in ast.unparse(node):
            pending.extend(node.body)  # a literal loop's inputs
            continue
        if isinstance(node, ast.ListComp) and REPORTER in ast.unparse(node.elt):
            continue  # a literal `all(...)`'s inputs
        try:
            key = value_key(fold(node))
            if key in hidden:
                found.append(ast.unparse(node))
        except NotConstant:
            pass
        pending.extend(ast.iter_child_nodes(node))
    return found


def comments_in(text: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


# ------------------------------------------------------------------------------------------ generating

inputs = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=6),
    st.lists(st.integers(-9, 9), max_size=4),
)
space = st.sampled_from(["", " ", "  ", "\t", " \\\n  "])  # a line continuation is whitespace too
names = st.sampled_from(["x", "ñ", "变量", "_q1", "Δx"])


def right(x):
    return x * 2 if isinstance(x, (int, float)) else x[::-1]


@st.composite
def checks(draw) -> str:
    """One assert about `f`, true for RIGHT, in one of the shapes split tests judge here (or not)."""
    x = draw(inputs)
    y = right(x)
    s = draw(space)
    call = draw(st.sampled_from(["f({x!r})", "(f({x!r}))", "f(\n    {x!r})"])).format(x=x)
    shapes = [
        f"assert {call}{s}=={s}{y!r}",
        f"assert {y!r} == {call}, {str(y)!r}",
        f"assert not {call} != {y!r}",
        f"assert {call} in ({y!r}, None)",
        f"assert {call} not in [{y!r} + 1]" if isinstance(y, (int, float)) else f"assert {call}",
        f"assert {call} is not None",
        f"assert ({call} is None) is False",
        f"assert {call} == {call}",
        f"assert {call} == {y!r} and {call} == {y!r}",
        f"assert {call} == {y!r} or {call} is None",
    ]
    if isinstance(y, (int, float)):
        shapes += [
            f"assert {y!r} - 1 < {call} <= {y!r}",
            f"assert abs({call} - {y!r}) < 1e-9",
            f"assert abs({y!r} - {call}){s}<= 0.5",
            f"assert math.fabs({call} - {y!r}) < 1e-6",
            f"assert math.isclose({call}, {y!r}, rel_tol=1e-9)",
            f"assert {call} == {y!r} + 0 * 7",
            f"assert {call} == float({str(float(y))!r})",
        ]
    else:
        shapes += [f"assert {call} == {y[:1]!r} + {y[1:]!r}", f"assert {call}[::-1] == {x!r}"]
    return draw(st.sampled_from(shapes))


@st.composite
def loops(draw) -> str:
    rows = draw(st.lists(inputs, min_size=1, max_size=3))
    table = ", ".join(f"({x!r}, {right(x)!r})" for x in rows)
    a, b = draw(st.sampled_from([("a", "b"), ("xs", "want"), ("é", "ü"), ("i1", "i2")]))
    if draw(st.booleans()):
        return f"for {a}, {b} in [{table}]:\n    assert f({a}) == {b}"
    return f"assert all(f({a}) == {b} for {a}, {b} in ({table},))"


@st.composite
def texts_of_tests(draw) -> str:
    statements = draw(st.lists(st.one_of(checks(), loops()), min_size=1, max_size=4))
    lines = []
    for statement in statements:
        comment = "# " + statement.replace("\n", " ")  # repeating the expected value
        if draw(st.booleans()):
            lines.append(comment)
        lines.append(statement + draw(st.sampled_from(["", "  # 27 -> 111", "  " + comment])))
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"{draw(names)} = {draw(inputs)!r}")  # a statement the job runs as written
    body = "\n".join(lines)
    if draw(st.booleans()):
        body = "def check():\n" + "\n".join("    " + line for line in body.split("\n")) + "\ncheck()"
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return body.replace("\n", ending) + draw(st.sampled_from(["", ending]))


# ------------------------------------------------------------------------------------------ properties


@FUZZ
@given(texts_of_tests())
def test_the_host_decides_as_the_test_would_and_the_job_never_sees_a_hidden_value_or_a_comment(test):
    for program in (RIGHT, WRONG):
        verdicts = []
        for indices, splits in groups([test]):
            assert indices == (0,)
            verdicts.append(run_split(program, splits[0]))
        assert verdicts == [run_as_written(program, test)], (program, test, splits[0].job_text)
    split = groups([test])[0][1][0]
    hidden = {value_key(value) for check in split.checks for value in check.held()}
    assert not hidden_values_in_text(split, hidden), split.job_text
    assert not comments_in(split.job_text)


@FUZZ
@given(st.lists(texts_of_tests(), min_size=2, max_size=4))
def test_tests_of_one_job_never_carry_a_value_another_hides(texts):
    for _indices, splits in groups(texts):
        hidden = {value_key(value) for split in splits for check in split.checks for value in check.held()}
        for split in splits:
            assert not hidden_values_in_text(split, hidden), split.job_text


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.one_of(
        st.text(),
        texts_of_tests()
        .flatmap(lambda t: st.tuples(st.just(t), st.integers(0, len(t)), st.text(max_size=3)))
        .map(lambda tic: tic[0][: tic[1]] + tic[2] + tic[0][tic[1] :]),
    )
)
def test_splitting_never_raises_and_sends_only_text_that_parses_without_comments(text):
    split = split_test(text)
    ast.parse(split.job_text)
    assert not comments_in(split.job_text)
    assert split.job_text.count(REPORTER) == len(
        [
            n
            for n in ast.walk(ast.parse(split.job_text))
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == REPORTER
        ]
    )
