"""benchmarks/step_pairs.py's instance-level baseline: the rankers' whole-program pairs on the problems and
sampled tests the step sources use, judged by the hidden tests in a real sandbox."""

import pytest
from steps_policy import ScriptedPolicy

from codepref import tasks
from codepref.data import load_problems
from codepref.generate import generate_jsonl, prompt_records
from codepref.generate.base import GenerationRequest
from codepref.generate.sampling import problem_prompt
from codepref.sandbox import Sandbox


@pytest.fixture(scope="module")
def step_pairs(benchmark_script):
    return benchmark_script("step_pairs")


def test_the_instance_baseline_counts_right_wrong_and_tied_pairs_by_the_hidden_tests(step_pairs, tmp_path):
    problem = load_problems("synth-validation")[0]
    programs = [problem.canonical_solution, "    return None\n", "    return 0\n", problem.canonical_solution]
    task = tasks.make_task(problem)
    # Sampled tests as the step sources store them: right asserts taken from the hidden tests.
    raw = ["\nassert ".join(t.removeprefix("assert ") for t in problem.test_list[i : i + 2]) for i in (0, 2)]
    tests_prompt = tasks.test_prompt(task, "completion", None, None)
    tests_file = tmp_path / "tests.jsonl"
    generate_jsonl(
        ScriptedPolicy({tests_prompt.text: raw}),
        prompt_records([task], {task.key: tests_prompt}),
        tests_file,
        GenerationRequest(prompts=(), n=2),
    )
    policy = ScriptedPolicy({problem_prompt(problem).text: programs})
    with Sandbox(backend="process", workers=2) as sandbox:
        report = step_pairs.instance_pairs(
            [problem], policy, sandbox, tmp_path / "instance", 4, tests_file, 0
        )
    assert report["executions"] == 3  # one job per distinct program
    for method in ("codet", "codedpo"):
        figures = report[method]
        assert figures["pairs"] >= 1 and figures["wrong"] == 0
        assert figures["right"] == figures["pairs"]  # the canonical solution over a program that fails
        assert figures["executions_per_pair"] == 3 / figures["pairs"]
