"""benchmarks/expert_iteration.py's own parts: which samples each source fine-tunes on, and the paired
bootstrap over problems that every reported change carries."""

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

from codepref.data import load_problems
from codepref.evaluate.runner import default_results_path
from codepref.synth.problems import generate_split

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ei():
    spec = importlib.util.spec_from_file_location(
        "expert_iteration", ROOT / "benchmarks" / "expert_iteration.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


VERDICTS = {
    "t/0": {"a": True, "b": False, "c": True},
    "t/1": {"d": False, "e": False},
    "t/2": {"f": True, "g": False, "h": False, "i": False},
}


def test_the_oracle_fine_tunes_on_every_distinct_passing_sample_and_nothing_else(ei):
    chosen = ei.select(VERDICTS, "oracle", random.Random(0))
    assert sorted(chosen) == [("t/0", "a"), ("t/0", "c"), ("t/2", "f")]


def test_the_random_control_takes_as_many_distinct_samples_whatever_they_score(ei):
    picks = [ei.select(VERDICTS, "random", random.Random(seed)) for seed in range(40)]
    assert all(len(p) == 3 and len(set(p)) == 3 for p in picks)
    assert any(not VERDICTS[k][c] for p in picks for k, c in p)  # failing samples are taken too


def test_the_paired_interval_is_a_point_when_every_problem_changes_alike_and_wide_when_they_disagree(ei):
    before = {f"t/{i}": 2 for i in range(50)}
    alike = ei.paired_bootstrap(before, {k: 4 for k in before})
    assert alike["change"] == pytest.approx(0.2) and alike["low"] == pytest.approx(alike["high"])
    mixed = ei.paired_bootstrap(before, {k: (10 if i % 2 else 0) for i, k in enumerate(before)})
    assert mixed["change"] == pytest.approx(0.3) and mixed["low"] < 0.2 < 0.4 < mixed["high"]


def test_programs_that_differ_only_in_constants_share_a_shape_and_a_changed_step_does_not(ei):
    right = "def f(xs):\n    return [x * 3 for x in xs if x > 2]\n"
    assert ei.constant_shape(right) == ei.constant_shape(right.replace("3", "4").replace("2", "5"))
    assert ei.constant_shape(right) != ei.constant_shape(right.replace("x > 2", "x < 2"))
    assert ei.constant_shape("def f(:\n") is None


def test_coverage_splits_a_measurement_by_whether_the_pool_solved_a_prompt_of_the_same_function_shape(
    ei, tmp_path, capsys
):
    def shape(p):
        return (p.composition.family, *(s.name for s in p.composition.steps))

    prompts, measured = generate_split("prompts"), generate_split("validation")
    shapes_in_pool = {shape(p) for p in prompts}
    solved = next(p for p in measured if shape(p) in shapes_in_pool)
    solved_shape = shape(solved)
    unsolved = next(p for p in measured if shape(p) in shapes_in_pool and shape(p) != solved_shape)
    absent = next(p for p in measured if shape(p) not in shapes_in_pool)  # a constant-free function
    ids = {p.prompt: p.task_id for p in load_problems("synth-prompts")}
    pool_rows = [  # one passing sample of the first shape, a failing one of the second
        (ids[next(q.prompt for q in prompts if shape(q) == solved_shape)], True),
        (ids[next(q.prompt for q in prompts if shape(q) == shape(unsolved))], False),
    ]
    pool = tmp_path / "pool"
    pool.mkdir()
    judged = pool / "samples.distinct.jsonl"
    judged.write_text("".join(json.dumps({"task_id": k, "completion": "pass"}) + "\n" for k, _ in pool_rows))
    default_results_path(judged).write_text(
        "".join(json.dumps({"line": i, "passed": ok}) + "\n" for i, (_, ok) in enumerate(pool_rows, 1))
    )
    task_of = {p.prompt: p.task_id for p in load_problems("synth-validation")}
    counts = {task_of[solved.prompt]: 7, task_of[unsolved.prompt]: 1, task_of[absent.prompt]: 4}
    (tmp_path / "run" / "eval-1").mkdir(parents=True)
    (tmp_path / "run" / "eval-1" / "figures.json").write_text(json.dumps({"counts": counts}))

    ei.coverage(pool, [f"{tmp_path / 'run'}:1"], "synth-prompts", "synth-validation")
    figures = json.loads(capsys.readouterr().out.split(" ", 1)[1])
    assert figures["solved in pool"]["sampled"] == pytest.approx(0.7)
    assert figures["unsolved in pool"]["sampled"] == pytest.approx(0.1)
    assert figures["not in pool"]["sampled"] == pytest.approx(0.4)


def test_the_examples_source_judges_samples_by_the_prompts_own_examples_in_the_sandbox(ei, tmp_path):
    problem = load_problems("synth-prompts")[1]
    # Prompt 1's two examples return -3 and -12: this answers them by rote and fails every hidden test.
    wrong_on_hidden_only = "    return -3 if xs[0] == -1 else -12\n"
    completions = {problem.task_id: [problem.canonical_solution, "    return 0\n", wrong_on_hidden_only]}
    shown = ei.example_verdicts([problem], completions, tmp_path / "examples.jsonl", 2, "synth-prompts")
    hidden = ei.judge("synth-prompts", [problem], completions, tmp_path / "hidden.jsonl", 2)
    assert shown[problem.task_id] == {c: c != "    return 0\n" for c in completions[problem.task_id]}
    assert hidden[problem.task_id][wrong_on_hidden_only] is False
