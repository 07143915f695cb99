import pytest

from codepref.steps.split import prefix_after, split_steps

PROMPT = 'def summarize(rows: list[dict]) -> dict:\n    """Totals per key."""\n'

# A real function body with every kind of step: a comment before a statement, a statement over several
# lines in brackets, a backslash continuation, nested blocks, a decorated helper, a triple-quoted string.
BODY = (
    "    # totals start empty\n"
    "    totals = {\n"
    "        'count': 0,\n"
    "        'sum': 0,\n"
    "    }\n"
    "    limit = 10 + \\\n"
    "        len(rows)\n"
    "    for row in rows:\n"
    "        if row.get('skip'):\n"
    "            continue\n"
    "        for key, value in row.items():\n"
    "            totals[key] = totals.get(key, 0) + value\n"
    "\n"
    "    @functools.lru_cache\n"
    "    @staticmethod\n"
    "    def scale(x):\n"
    "        return x * 2\n"
    "    note = '''many\n"
    "lines'''\n"
    "    return {k: scale(v) for k, v in totals.items()}\n"
)


def test_a_body_splits_into_its_statements_with_their_blocks_comments_and_decorators():
    steps = split_steps(BODY)
    assert steps == [
        "    # totals start empty\n    totals = {\n        'count': 0,\n        'sum': 0,\n    }\n",
        "    limit = 10 + \\\n        len(rows)\n",
        "    for row in rows:\n        if row.get('skip'):\n            continue\n"
        "        for key, value in row.items():\n            totals[key] = totals.get(key, 0) + value\n",
        "\n    @functools.lru_cache\n    @staticmethod\n    def scale(x):\n        return x * 2\n",
        "    note = '''many\nlines'''\n",
        "    return {k: scale(v) for k, v in totals.items()}\n",
    ]
    assert "".join(steps) == BODY


def test_the_prefix_after_k_steps_is_the_prompt_and_those_steps():
    steps = split_steps(BODY)
    assert prefix_after(PROMPT, steps, 0) == PROMPT
    assert prefix_after(PROMPT, steps, 2) == PROMPT + steps[0] + steps[1]
    assert prefix_after(PROMPT, steps, len(steps)) == PROMPT + BODY


def test_a_completion_cut_inside_a_bracket_keeps_its_whole_statements_and_splits_the_rest_by_lines():
    cut = "    xs = sorted(xs)\n    if xs:\n        return [\n            x * 2,\n            x"
    assert split_steps(cut) == [
        "    xs = sorted(xs)\n",
        "    if xs:\n",
        "        return [\n",
        "            x * 2,\n",
        "            x",
    ]


def test_a_completion_with_a_bad_dedent_splits_the_rest_by_lines():
    bad = "    total = 0\n    for x in xs:\n        total += x\n  return total\n    pass\n"
    steps = split_steps(bad)
    assert steps[:1] == ["    total = 0\n"]
    assert steps[-2:] == ["  return total\n", "    pass\n"]
    assert "".join(steps) == bad


def test_an_unterminated_string_splits_the_rest_by_lines():
    bad = "    x = 1\n    s = '''open\n    y = 2\n"
    assert split_steps(bad) == ["    x = 1\n", "    s = '''open\n", "    y = 2\n"]


def test_a_last_line_without_newline_and_trailing_comments_stay_in_the_last_step():
    assert split_steps("    x = 1\n    return x") == ["    x = 1\n", "    return x"]
    assert split_steps("    x = 1\n    # done\n\n") == ["    x = 1\n    # done\n\n"]
    assert split_steps("") == []


def test_code_after_the_body_is_a_step_of_its_own():
    text = "    return 1\n\nprint(f())\n"
    assert split_steps(text) == ["    return 1\n", "\nprint(f())\n"]


def test_a_fixed_number_of_lines_per_step():
    steps = split_steps(BODY, lines_per_step=4)
    assert [s.count("\n") for s in steps] == [4, 4, 4, 4, 4]
    assert "".join(steps) == BODY
    with pytest.raises(ValueError, match="lines_per_step"):
        split_steps(BODY, lines_per_step=0)
