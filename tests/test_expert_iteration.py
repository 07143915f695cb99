"""benchmarks/expert_iteration.py's own parts: which samples the prompt's examples and the rankers select,
and the summary of several sources. (The oracle and the random control are
codepref.pairs.baselines'.)"""

import json

import pytest

from codepref.data import load_problems


@pytest.fixture(scope="module")
def ei(benchmark_script):
    return benchmark_script("expert_iteration")


def test_the_sole_examples_source_keeps_a_passer_only_where_no_other_distinct_sample_passes(ei):
    shown = {"a": {"x": True, "y": False}, "b": {"x": True, "y": True}, "c": {"x": False}}
    assert ei.sole_passers(shown) == {
        "a": {"x": True, "y": False},
        "b": {"x": False, "y": False},
        "c": {"x": False},
    }


@pytest.mark.parametrize("method", ["codet", "codedpo", "dstc"])
def test_a_ranker_source_keeps_its_trusted_top_set_judged_by_sampled_tests_and_examples_in_the_sandbox(
    ei, tmp_path, method
):
    problem = load_problems("synth-prompts")[1]
    rote = "    return -3 if xs[0] == -1 else -12\n"  # answers the prompt's two examples, nothing else
    completions = {
        problem.task_id: [problem.canonical_solution, rote, problem.canonical_solution, "    return 0\n"]
    }
    # Two test samples as the loop stores them (the prompt ends in "assert "): right asserts from hidden tests.
    sampled = [
        "\nassert ".join(t.removeprefix("assert ") for t in problem.test_list[i : i + 2]) for i in (0, 2)
    ]
    tests = {problem.task_id: sampled}
    tops = ei.ranker_tops(method, [problem], completions, tests, tmp_path, 2)
    kept = ei.trusted_tops(tops, completions, 0.0)
    assert kept[problem.task_id] == {problem.canonical_solution: True, rote: False, "    return 0\n": False}
    assert not any(ei.trusted_tops(tops, completions, 1.0)[problem.task_id].values())  # a gate none clears
    hidden = {problem.task_id: {c: c == problem.canonical_solution for c in completions[problem.task_id]}}
    swept = ei.gate_sweep(tops, completions, hidden)
    assert swept[0] == {"gate": -0.5, "rows": 1, "right": 1}  # the lowest gate keeps every top set


def test_the_summary_of_several_sources_gives_each_change_against_the_base_and_against_random(ei, tmp_path):
    base = {f"t/{i}": 1 for i in range(40)}
    after = {"oracle": {k: 4 for k in base}, "random": {k: 0 for k in base}}
    for source, counts in after.items():
        for r, figures in ((0, base), (1, counts)):
            (tmp_path / source / f"eval-{r}").mkdir(parents=True)
            (tmp_path / source / f"eval-{r}" / "figures.json").write_text(
                json.dumps({"sampled": sum(figures.values()) / 400, "counts": figures})
            )
        history = [{"round": 0}, {"round": 1, "rows": 10, "rows_right": 10 if source == "oracle" else 1}]
        (tmp_path / source / "history.json").write_text(json.dumps(history))

    figures = ei.summarize(tmp_path, ["oracle", "random"])
    oracle = figures["sources"]["oracle"]
    assert oracle["change"]["change"] == pytest.approx(0.3) and oracle["precision"] == 1.0
    assert oracle["minus_random"]["change"] == pytest.approx(0.4)
    assert figures["sources"]["random"]["change"]["change"] == pytest.approx(-0.1)
    assert "minus_random" not in figures["sources"]["random"]
    assert json.loads((tmp_path / "figures.json").read_text()) == figures


def test_a_withheld_share_outside_zero_to_one_is_one_usage_error_before_any_work(ei, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["expert_iteration.py", "--withhold-keys", "1.5", "-o", "unused"])
    with pytest.raises(SystemExit) as exit_info:
        ei.main()
    assert exit_info.value.code == 2
    assert "--withhold-keys: a share in [0, 1], got 1.5" in capsys.readouterr().err
