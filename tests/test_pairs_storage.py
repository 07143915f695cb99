"""Pair output: TRL preference and KTO files that `datasets` loads, resuming, and training rows."""

import json

import numpy as np
import pytest
from matrices import CODET, make_matrix, ranked

from codepref.pairs.config import PairConfig
from codepref.pairs.selection import PreferencePair, correctness_pairs
from codepref.pairs.storage import ChatSamples, PairStore, chat_samples, kto_rows, training_rows, write_pairs
from codepref.rank.dstc import concatenate


def test_kto_rows_label_each_side_once():
    matrix = make_matrix("p", CODET)
    config = PairConfig(method="codet", pairs_per_problem=3)
    pairs = correctness_pairs(matrix, ranked(matrix, config), config)
    rows = kto_rows(pairs)
    assert sum(r["label"] for r in rows) == len({p.chosen for p in pairs})
    assert {r["completion"] for r in rows if not r["label"]} == {p.rejected for p in pairs}
    assert set(rows[0]) >= {"prompt", "completion", "label"}


def test_files_load_with_datasets_and_resume(tmp_path):
    from datasets import load_dataset

    matrices = [make_matrix(f"task/{k}", CODET) for k in range(3)] + [
        make_matrix("task/none", np.zeros((2, 2)))
    ]
    config = PairConfig(method="codet", pairs_per_problem=2)
    out = tmp_path / "pairs"
    rankings = {m.task_id: ranked(m, config) for m in matrices}
    summary = write_pairs(matrices[:2], rankings, out, config)
    assert summary == {"problems": 2, "pairs": 4, "kto_rows": 8, "fallback_pairs": 0}

    # An interrupted run: a pair row of an unfinished problem and a torn last line.
    with (out / "pairs.jsonl").open("a") as handle:
        handle.write(json.dumps({"task_id": "task/2", "prompt": "stale"}) + "\n" + '{"task_id": "ta')
    summary = write_pairs(matrices, rankings, out, config)
    assert summary == {"problems": 4, "pairs": 6, "kto_rows": 12, "fallback_pairs": 0}
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in rows] == ["task/0"] * 2 + ["task/1"] * 2 + ["task/2"] * 2

    for name in ("pairs", "kto"):
        from_json = load_dataset("json", data_files=str(out / f"{name}.jsonl"), split="train")
        from_parquet = load_dataset("parquet", data_files=str(out / f"{name}.parquet"), split="train")
        assert len(from_json) == len(from_parquet) == (6 if name == "pairs" else 12)
        assert from_json.column_names == from_parquet.column_names
    pairs = load_dataset("parquet", data_files=str(out / "pairs.parquet"), split="train")
    assert {
        "prompt",
        "chosen",
        "rejected",
        "method",
        "task_id",
        "chosen_score",
        "rejected_score",
        "margin",
        "kind",
    } <= set(pairs.column_names)
    assert set(load_dataset("json", data_files=str(out / "kto.jsonl"), split="train")["label"]) == {
        True,
        False,
    }

    with pytest.raises(ValueError, match="other settings"):
        PairStore(out, PairConfig(method="dstc"))


def pair(kind="correctness", chosen_test="", rejected_test=""):
    return PreferencePair(
        prompt="def f(x):\n",
        chosen="    return 1\n",
        rejected="    return 0\n",
        method="dstc" if chosen_test else "codedpo",
        task_id="T",
        chosen_score=1.0,
        rejected_score=0.0,
        margin=1.0,
        kind=kind,
        chosen_id="T#1",
        rejected_id="T#0",
        chosen_test=chosen_test,
        rejected_test=rejected_test,
        chosen_index=1,
        rejected_index=0,
    )


def test_completion_rows_train_on_exactly_what_ran():
    (row,) = training_rows([pair()])
    assert (row["prompt"], row["chosen"], row["rejected"]) == (
        "def f(x):\n",
        "    return 1\n",
        "    return 0\n",
    )


def test_chat_rows_train_on_the_chat_prompt_and_whole_answers_found_by_index():
    chat = {"T": ChatSamples(prompt="<chat prompt>", answers=["answer 0", "answer 1"])}
    (row,) = training_rows([pair()], chat)
    assert (row["prompt"], row["chosen"], row["rejected"]) == ("<chat prompt>", "answer 1", "answer 0")


def test_dstc_rows_keep_each_sides_test_in_both_styles():
    dstc = pair(chosen_test="assert f(1) == 1", rejected_test="assert f(0) == 1")
    dstc.chosen = concatenate(dstc.chosen, dstc.chosen_test)
    dstc.rejected = concatenate(dstc.rejected, dstc.rejected_test)
    (completion,) = training_rows([dstc])
    assert completion["chosen"].endswith("assert f(1) == 1\n")
    chat = {"T": ChatSamples(prompt="<chat prompt>", answers=["answer 0", "answer 1"])}
    (row,) = training_rows([dstc], chat)
    assert row["chosen"] == concatenate("answer 1", "assert f(1) == 1")
    assert row["rejected"] == concatenate("answer 0", "assert f(0) == 1")


def test_chat_samples_keep_each_tasks_chat_prompt_and_whole_answers():
    chat = chat_samples({"t": {"prompt": "<chat>", "completions": [{"text": "a"}, {"text": "b"}]}})
    assert chat["t"].prompt == "<chat>" and chat["t"].answers == ["a", "b"]
