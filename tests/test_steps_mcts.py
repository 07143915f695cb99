import json

import pytest
from steps_policy import Killed, ScriptedPolicy

from codepref.sandbox import Sandbox
from codepref.steps.mcts import TreeSettings, load_tree, search, tree_file, tree_pairs
from codepref.steps.values import RolloutEngine, SampledVerifier, StepProblem

P = "def double(x):\n"
A, B = "    y = x * 2\n", "    y = x + 1\n"
PROBLEM = StepProblem(
    "toy/double",
    P,
    ("\ndef ",),
    SampledVerifier(("assert double(1) == 2", "assert double(2) == 4"), (1, 1), "double"),
)
# Scores (share of the two tests passed) in the comments.
POLICY = {
    P: [A + "    return y\n", B + "    return y\n"],  # 1 and 0.5
    P + A: ["    return y\n", "    return y + 1\n"],  # 1 and 0
    P + B: ["    return y\n", "    return y - 1\n"],  # 0.5 and 0
}
SETTINGS = TreeSettings(budget=8, width=2, exploration=1.0, min_visits=1)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(backend="process", workers=2) as box:
        yield box


def searched(sandbox, directory, policy, settings=SETTINGS):
    engine = RolloutEngine(policy, sandbox, directory / "rollouts.jsonl")
    tree = search(PROBLEM, engine, settings, tree_file(directory / "trees", PROBLEM.task_id))
    return tree, engine


def shape(tree):
    return [
        (tree.prefix(n)[len(P) :], n.visits, round(n.value, 6), n.expanded, n.terminal) for n in tree.nodes
    ]


def test_the_tree_matches_the_one_computed_by_hand(sandbox, tmp_path):
    # Expand the root: A (1 visit, 1) and B (1 visit, 0.5). UCT then picks A (1 + c*sqrt(ln 2)) over B;
    # A's two rollouts end there: A1 (1) and A2 (0), both terminal. Then B: 0.5 + sqrt(ln 4 / 1) = 1.68
    # beats A's 2/3 + sqrt(ln 4 / 3) = 1.35; B1 (0.5) and B2 (0). Every path then ends in a terminal step,
    # so the search stops at 6 of its 8 rollouts.
    tree, engine = searched(sandbox, tmp_path, ScriptedPolicy(POLICY))
    assert tree.rollouts == 6
    assert shape(tree) == [
        ("", 6, round(3 / 6, 6), True, False),
        (A, 3, round(2 / 3, 6), True, False),
        (B, 3, round(1 / 3, 6), True, False),
        (A + "    return y\n", 1, 1.0, False, True),
        (A + "    return y + 1\n", 1, 0.0, False, True),
        (B + "    return y\n", 1, 0.5, False, True),
        (B + "    return y - 1\n", 1, 0.0, False, True),
    ]
    pairs = tree_pairs(tree, SETTINGS, engine)
    assert [(p.prompt[len(P) :], p.chosen, p.rejected, p.depth, round(p.value_gap, 6)) for p in pairs] == [
        ("", A, B, 0, round(1 / 3, 6)),
        (A, "    return y\n", "    return y + 1\n", 1, 1.0),
        (B, "    return y\n", "    return y - 1\n", 1, 0.5),
    ]
    assert all(p.rollouts == 6 and p.executions == 4 for p in pairs)  # A's and B's first programs recur
    # At least two rollouts through each step: only the root's children qualify.
    strict = tree_pairs(tree, TreeSettings(budget=8, width=2, min_visits=2), engine)
    assert [(p.chosen, p.rejected, p.chosen_visits, p.rejected_visits) for p in strict] == [(A, B, 3, 3)]


def test_the_budget_stops_the_search(sandbox, tmp_path):
    tree, engine = searched(sandbox, tmp_path, ScriptedPolicy(POLICY), TreeSettings(budget=4, width=2))
    assert tree.rollouts == 4 and engine.sampled == 4
    assert [n.expanded for n in tree.nodes] == [True, True, False, False, False]


def test_an_interrupted_search_resumes_to_the_same_tree_without_running_anything_twice(sandbox, tmp_path):
    whole, _ = searched(sandbox, tmp_path / "whole", ScriptedPolicy(POLICY))
    with pytest.raises(Killed):  # dies when the third expansion asks for rollouts 5 and 6
        searched(sandbox, tmp_path / "cut", ScriptedPolicy(POLICY, dies_after=4))
    saved = (tmp_path / "cut" / "trees" / "toy_double.jsonl").read_text().splitlines()
    header, nodes = json.loads(saved[0]), [json.loads(line) for line in saved[1:]]
    assert header["rollouts"] == 4 and [n["step"] for n in nodes] == [
        "",
        A,
        B,
        "    return y\n",
        "    return y + 1\n",
    ]
    resumed, engine = searched(sandbox, tmp_path / "cut", ScriptedPolicy(POLICY))
    assert shape(resumed) == shape(whole)
    assert (engine.sampled, engine.executed) == (2, 1)  # B's rollouts; one is a program already run
    again, engine = searched(sandbox, tmp_path / "cut", ScriptedPolicy({}))
    assert shape(again) == shape(whole) and (engine.sampled, engine.executed) == (0, 0)
    assert [p.executions for p in tree_pairs(again, SETTINGS, engine)] == [4, 4, 4]  # counted from the cache


def test_a_tree_searched_with_other_settings_is_not_taken_up(sandbox, tmp_path):
    searched(sandbox, tmp_path, ScriptedPolicy(POLICY), TreeSettings(budget=2, width=2))
    with pytest.raises(ValueError, match="other settings"):
        load_tree(tree_file(tmp_path / "trees", PROBLEM.task_id), PROBLEM, TreeSettings(width=3))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget": 0}, "budget"),
        ({"width": 0}, "width"),
        ({"min_gap": 1.0}, "min_gap"),
        ({"exploration": -1}, "exploration"),
    ],
)
def test_bad_tree_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        TreeSettings(**options)
