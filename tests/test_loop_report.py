"""codepref.loop.report: the end-of-run table says what the run trained on and measured."""

import json

from codepref.loop.config import ProblemSet
from codepref.loop.report import RoundResult, trained_and_measured, write_summary


def test_the_caption_names_the_training_problems_and_every_measured_set():
    caption = trained_and_measured(
        ProblemSet("synth-train", offset=2000, limit=64),
        [ProblemSet("synth-heldout", limit=100), ProblemSet("mbpp", "test")],
    )
    assert (
        caption
        == "trained on synth-train problems 2000-2063; measured on synth-heldout problems 0-99, mbpp-test (all)"
    )


def test_problem_sets_without_a_limit_or_with_chosen_ids_are_described_as_such():
    assert ProblemSet("humaneval", offset=10).describe() == "humaneval from problem 10"
    assert (
        ProblemSet("mbpp", "train", task_ids=["Mbpp/1", "Mbpp/2"]).describe()
        == "mbpp-train (2 chosen problems)"
    )


def test_the_summary_prints_its_caption_under_the_table_and_keeps_every_round(tmp_path, capsys):
    results = [
        RoundResult(0, "start", {"synth-heldout": {"pass@1": 0.15}}),
        RoundResult(1, "round-1", {"synth-heldout": {"pass@1": 0.2}}, pairs=12, train_loss=0.6, trained=True),
    ]
    write_summary(tmp_path, results, [1], "trained on A; measured on B")
    printed = capsys.readouterr().out
    assert "trained on A; measured on B" in printed and "0.200" in printed
    assert [row["round"] for row in json.loads((tmp_path / "summary.json").read_text())] == [0, 1]
    assert (tmp_path / "summary.png").exists()
