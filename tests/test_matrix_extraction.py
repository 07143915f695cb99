"""CodeT's test extraction: snippets from sampled test completions, pooled with their sampling counts."""

from __future__ import annotations

import json

from data_dir import DATA_DIR

from codepref.matrix.extraction import collect_tests, extract_tests, snippet_id


def test_extract_tests_follows_codet_rules():
    # the raw text follows a prompt ending in "assert "
    raw = (
        "f(1) == 2\n"
        "assert f(2) == 3, 'message'\n"
        "assert \n    f(3) == 4\n"  # `assert` then a newline does not compile: dropped
        "assert g(1) == 1\n"  # does not mention the entry point: dropped
        "assert f(4) == 5\n# trailing comment\nassert f(5) == 6\n"  # cut at "\n#"
        "assert f(6 == 7\n"  # does not parse, and takes the next line with it:
        "assert\tf(7) == 8\n"  # CodeT splits on "assert " (with the space), so this line is not split off
        "assert f(8) == 9\n"
        "assert f(9) == 10\n"
    )
    got = extract_tests(raw, "f", limit=None)
    assert got == [
        "assert f(1) == 2",
        "assert f(2) == 3, 'message'",
        "assert f(4) == 5",
        "assert f(5) == 6",
        "assert f(8) == 9",
        "assert f(9) == 10",
    ]
    assert extract_tests(raw, "f") == got[:5]  # CodeT keeps the first 5 per sample
    assert extract_tests("\n", "f") == []
    assert extract_tests("____ == f(1)\n", "f") == ["assert ____ == f(1)"]  # parses; it just fails when run


def test_multiline_assert_is_kept_whole():
    raw = "f([1,\n    2]) == [\n    3]\nassert f([]) == []\n"
    assert extract_tests(raw, "f") == ["assert f([1,\n    2]) == [\n    3]", "assert f([]) == []"]


def test_collect_tests_deduplicates_with_counts_in_first_seen_order():
    raws = ["f(1) == 1\nassert f(2) == 2\n", "f(2) == 2\n", "f(3) == 3\nassert f(1) == 1\n", "\n"]
    pool = collect_tests(raws, "f")
    assert pool.tests == ["assert f(1) == 1", "assert f(2) == 2", "assert f(3) == 3"]
    assert pool.counts == [2, 2, 1]
    assert pool.ids == [snippet_id(t) for t in pool.tests] and len(set(pool.ids)) == 3


def test_limit_applies_per_sample_before_pooling():
    raw = "".join(f"assert f({i}) == {i}\n" for i in range(8))[len("assert ") :]
    assert len(collect_tests([raw, raw], "f").tests) == 5
    assert collect_tests([raw, raw], "f").counts == [2] * 5
    assert len(collect_tests([raw], "f", limit=None).tests) == 8


def test_most_of_codets_released_test_samples_yield_a_usable_assert():
    data = DATA_DIR
    with (data / "codet_humaneval_codegen16B_test_case.jsonl").open() as fh:
        record = next(r for r in map(json.loads, fh) if "def has_close_elements" in r["prompt"])
    per_sample = [extract_tests(s, "has_close_elements") for s in record["samples"]]
    assert all(t.startswith("assert ") and "has_close_elements" in t for tests in per_sample for t in tests)
    assert sum(bool(t) for t in per_sample) >= 20
