"""The pair sources the rankers are measured against: the oracle (by the hidden tests' verdicts) and the
random control, as pairs and as fine-tuning rows."""

import random

from codepref.pairs.baselines import oracle_pairs, oracle_rows, random_pairs, random_rows

TASK, PROMPT = "synth-train/7", "def f(x):\n"


def test_the_oracle_pairs_passing_samples_with_failing_ones_each_used_once():
    texts = ["right a", "right b", "wrong a", "wrong b", "wrong c"]
    pairs = oracle_pairs(TASK, PROMPT, texts, [True, True, False, False, False], random.Random(0), 4)
    assert len(pairs) == 2
    assert {p.chosen for p in pairs} == {"right a", "right b"}
    assert len({p.rejected for p in pairs}) == 2 and all(p.rejected.startswith("wrong") for p in pairs)
    for p in pairs:
        assert (p.chosen_id, p.rejected_id) == (f"{TASK}#{p.chosen_index}", f"{TASK}#{p.rejected_index}")
        assert texts[p.chosen_index] == p.chosen and texts[p.rejected_index] == p.rejected
        assert (p.method, p.task_id, p.prompt, p.kind) == ("oracle", TASK, PROMPT, "correctness")


def test_the_oracle_makes_no_pair_when_every_sample_passes_or_every_sample_fails():
    texts = ["a", "b", "c"]
    assert oracle_pairs(TASK, PROMPT, texts, [True] * 3, random.Random(0), 4) == []
    assert oracle_pairs(TASK, PROMPT, texts, [False] * 3, random.Random(0), 4) == []


def test_the_oracle_counts_a_repeated_sample_once():
    pairs = oracle_pairs(
        TASK, PROMPT, ["ok", "bad", "bad", "bad"], [True, False, False, False], random.Random(0), 4
    )
    assert [(p.chosen, p.rejected) for p in pairs] == [("ok", "bad")]


def test_the_oracle_makes_at_most_the_limit_of_pairs():
    texts = [f"right {i}" for i in range(3)] + [f"wrong {i}" for i in range(3)]
    assert len(oracle_pairs(TASK, PROMPT, texts, [True] * 3 + [False] * 3, random.Random(0), 2)) == 2


def test_random_pairs_are_distinct_samples_whatever_they_score_each_used_once():
    pairs = random_pairs(TASK, PROMPT, ["a", "b", "c", "d", "e"], random.Random(0), 4)
    assert len(pairs) == 2
    assert len({side for p in pairs for side in (p.chosen, p.rejected)}) == 4
    assert all(p.method == "random" for p in pairs)


def test_random_pairs_need_two_distinct_samples_and_stop_at_the_limit():
    assert random_pairs(TASK, PROMPT, ["same", "same", "same"], random.Random(0), 4) == []
    assert len(random_pairs(TASK, PROMPT, ["a", "b", "c", "d"], random.Random(0), 1)) == 1


def test_random_pairs_choose_either_side_of_a_pair():
    chosen = {random_pairs(TASK, PROMPT, ["a", "b"], random.Random(seed), 1)[0].chosen for seed in range(20)}
    assert chosen == {"a", "b"}


VERDICTS = {
    "t/0": {"a": True, "b": False, "c": True},
    "t/1": {"d": False, "e": False},
    "t/2": {"f": True, "g": False, "h": False, "i": False},
}


def test_the_oracle_fine_tunes_on_every_distinct_passing_sample_and_nothing_else():
    assert sorted(oracle_rows(VERDICTS)) == [("t/0", "a"), ("t/0", "c"), ("t/2", "f")]


def test_the_random_rows_are_as_many_distinct_samples_whatever_they_score():
    picks = [random_rows(VERDICTS, random.Random(seed)) for seed in range(40)]
    assert all(len(p) == 3 and len(set(p)) == 3 for p in picks)
    assert any(not VERDICTS[k][c] for p in picks for k, c in p)  # failing samples are taken too
