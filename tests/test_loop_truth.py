"""The hidden-test verdicts of a loop round's samples, judged in the loop's own sandbox on real synth
problems, and kept in the round's folder; how right the round's sampled tests are."""

import json
from pathlib import Path

import pytest

from codepref.loop.code_loop import Loop
from codepref.loop.config import EvalSettings, GenerationSettings, LoopConfig, ProblemSet, SandboxSettings
from codepref.loop.stage_outputs import Generated
from codepref.loop.truth import baseline_pairs, round_test_accuracy, round_verdicts
from codepref.records import read_jsonl


def synth_loop(model_dir, runs_dir) -> Loop:
    """A loop on the first two synth-validation problems, judging in a one-worker process sandbox."""
    cfg = LoopConfig(
        name="truth",
        model=str(model_dir),
        runs_dir=str(runs_dir),
        train_problems=ProblemSet("synth-validation", limit=2),
        generation=GenerationSettings(style="completion"),
        sandbox=SandboxSettings(backend="process", workers=1),
        eval=EvalSettings(sets=[]),
    )
    return Loop(cfg)


def write_samples(loop: Loop, texts: dict[str, list[str]]) -> None:
    """Round 1's solutions file, as the generate stage writes it."""
    path = loop.runner.stage_dir(1, "generate") / "solutions.jsonl"
    path.parent.mkdir(parents=True)
    rows = [{"key": key, "completions": [{"text": t} for t in per]} for key, per in texts.items()]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_each_sample_of_the_round_is_judged_by_its_problems_hidden_tests_once(tiny_model_dir, tmp_path):
    loop = synth_loop(tiny_model_dir, tmp_path)
    with loop.session():
        first, second = loop.training_tasks()
        # The round's raw samples: the canonical body, a wrong one, and the canonical body running on into
        # a next function (the prompt's stops cut it off, as they cut every sample's program).
        right = first.problem.canonical_solution
        write_samples(
            loop,
            {
                first.key: [right, "    return None\n", right + "\ndef helper():\n    raise ValueError\n"],
                second.key: [right],
            },
        )
        verdicts = round_verdicts(loop, 1, [first, second])
        assert verdicts == {
            f"{first.key}#0": True,
            f"{first.key}#1": False,
            f"{first.key}#2": True,
            f"{second.key}#0": False,  # another problem's solution
        }
        cache = loop.runner.stage_dir(1, "generate") / "hidden_verdicts.json"
        cache.write_text(json.dumps({"planted": True}))
        assert round_verdicts(loop, 1, [first, second]) == {"planted": True}  # judged once per round


def test_the_oracle_pairs_a_sample_passing_the_hidden_tests_over_one_failing_and_random_pairs_any_two(
    tiny_model_dir, tmp_path
):
    loop = synth_loop(tiny_model_dir, tmp_path)
    with loop.session():
        first, second = loop.training_tasks()
        right, wrong = first.problem.canonical_solution, "    return None\n"
        write_samples(loop, {first.key: [wrong, right, wrong], second.key: [wrong, wrong]})
        solutions = loop.runner.stage_dir(1, "generate") / "solutions.jsonl"
        generated = Generated("completion", str(solutions), "", 2, 5, 0)
        made = {}
        for source in ("oracle", "random"):
            (tmp_path / source).mkdir()
            made[source] = baseline_pairs(loop, 1, generated, source, tmp_path / source)
        oracle_rows = read_jsonl(Path(made["oracle"].pairs_file))
        assert [(row["chosen"], row["rejected"]) for row in oracle_rows] == [(right, wrong)]
        assert made["random"].problems_with_pairs == 1  # the second problem's two samples are one program
        assert {row["chosen"] for row in read_jsonl(Path(made["random"].pairs_file))} <= {right, wrong}
        with pytest.raises(ValueError, match="neither oracle nor random"):
            baseline_pairs(loop, 1, generated, "codet", tmp_path)


def test_the_rounds_test_accuracy_counts_the_sampled_tests_but_not_the_prompts_examples(
    tiny_model_dir, tmp_path
):
    """A column counts only for the times the model itself sampled it (the matrix's `sampled_counts`): one
    example here was never sampled (left out), one was (kept, right), and one sampled test is wrong."""
    import numpy as np

    from codepref import tasks as T
    from codepref.data import load_problems
    from codepref.matrix import ExecutionMatrix, prompt_example_tests, save_matrices

    task = T.make_task(load_problems("synth-validation")[0])
    sampled, unsampled = prompt_example_tests(task.prompt, task.entry_point)
    wrong = f"assert {task.entry_point}('no such input') == 'no such output'"

    def accuracy(example_counts: list[int]) -> tuple[float, int]:
        matrix = ExecutionMatrix(
            task_id=task.key,
            prompt=task.prompt,
            solution_ids=[f"{task.key}#0"],
            solutions=["    return 0\n"],
            test_ids=[f"t{i}" for i in range(3)],
            tests=[sampled, unsampled, wrong],
            test_counts=[30 + 2, 30, 1],
            passed=np.zeros((1, 3), dtype=bool),
            times=np.zeros((1, 3), dtype=np.float32),
            entry_point=task.entry_point,
            example_counts=example_counts,
        )
        loop = synth_loop(tiny_model_dir, tmp_path)
        save_matrices([matrix], loop.runner.stage_dir(1, "matrix") / "matrix.jsonl")
        with loop.session():
            accuracy = round_test_accuracy(loop, 1, [task])
            return accuracy.share, accuracy.asserts

    assert accuracy([30, 30, 0]) == (0.5, 2)
    assert accuracy([0, 0, 0]) == (2 / 3, 3)  # a matrix without examples: all three were sampled
