"""Benchmark loaders on the real files, source resolution, and clear errors for bad files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from data_dir import DATA_DIR

from codepref.data import DATA_DIR_ENV, DataFileError, load_problems
from codepref.data.mbpp import deserialize_mbpp_plus_inputs


@pytest.fixture(autouse=True)
def _no_data_dir_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


def by_id(bench: str, **kwargs) -> dict:
    return {p.task_id: p for p in load_problems(bench, DATA_DIR, **kwargs)}


@pytest.mark.parametrize(
    ("bench", "count", "first"),
    [
        ("humaneval", 164, "HumanEval/0"),
        ("humaneval+", 164, "HumanEval/0"),
        ("mbpp", 974, "Mbpp/1"),
        ("mbpp-sanitized", 427, "MbppEval/2"),
        ("mbpp+", 399, "Mbpp/2"),
    ],
)
def test_each_loader_reads_the_real_file(bench: str, count: int, first: str) -> None:
    problems = load_problems(bench, DATA_DIR)
    assert len(problems) == count
    assert problems[0].task_id == first
    assert len({p.task_id for p in problems}) == count
    for problem in problems:
        assert problem.benchmark == bench
        assert problem.prompt and problem.entry_point and problem.canonical_solution
        assert f"def {problem.entry_point}" in problem.reference_program
        assert problem.test_code or problem.test_list or problem.base_inputs
        if problem.is_plus:
            assert problem.base_inputs and all(
                isinstance(args, (list, tuple)) for args in problem.base_inputs
            )


def test_humaneval_comes_from_the_package_by_default() -> None:
    problems = by_id("humaneval")
    assert problems["HumanEval/0"].source.endswith("HumanEval.jsonl.gz")
    assert "check(candidate)" in problems["HumanEval/0"].test_code
    assert problems["HumanEval/0"].program("    return 1\n").startswith(problems["HumanEval/0"].prompt)


def test_humaneval_plus_fields() -> None:
    problems = by_id("humaneval+")
    assert problems["HumanEval/2"].atol == 1e-6
    assert problems["HumanEval/0"].atol == 0
    assert sum(len(p.plus_inputs) for p in problems.values()) > 100_000
    assert problems["HumanEval/0"].base_inputs[0] == [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3]


def test_mbpp_splits_by_task_id() -> None:
    sizes = {
        split: len(load_problems("mbpp", DATA_DIR, split=split))
        for split in ("train", "validation", "test", "prompt")
    }
    assert sizes == {"train": 374, "validation": 90, "test": 500, "prompt": 10}
    test_ids = {p.task_id for p in load_problems("mbpp", DATA_DIR, split="test")}
    assert "Mbpp/11" in test_ids and "Mbpp/510" in test_ids and "Mbpp/511" not in test_ids
    with pytest.raises(DataFileError, match="unknown mbpp split 'dev'"):
        load_problems("mbpp", DATA_DIR, split="dev")
    with pytest.raises(DataFileError, match="humaneval has no splits"):
        load_problems("humaneval", DATA_DIR, split="test")


def test_mbpp_problem_shape() -> None:
    problem = by_id("mbpp")["Mbpp/2"]
    assert problem.entry_point == "similar_elements"
    assert not problem.completion_extends_prompt and problem.program("x = 1") == "x = 1"
    assert len(problem.test_list) == 3 and all(t.startswith("assert") for t in problem.test_list)
    assert "\r" not in problem.canonical_solution
    assert "similar_elements((3, 4, 5, 6),(5, 7, 4, 10))" in problem.prompt


def test_sanitized_references_compile_after_reindenting() -> None:
    problem = by_id("mbpp-sanitized")["MbppEval/616"]  # released with 2-space bodies under 4-space docstrings
    compile(problem.reference_program, "<reference>", "exec")


def test_mbpp_plus_inputs_are_rebuilt_as_evalplus_does() -> None:
    problems = by_id("mbpp+")
    assert problems["Mbpp/2"].base_inputs[0] == [(3, 4, 5, 6), (5, 7, 4, 10)]
    assert problems["Mbpp/124"].base_inputs[0] == (0.0, 1j)
    assert problems["Mbpp/252"].base_inputs[0] == [complex(1)]
    assert problems["Mbpp/115"].base_inputs[0] == [[{}, {}, {}]]
    assert problems["Mbpp/115"].base_inputs[1] == [[{1, 2}, {}, {}]]
    assert isinstance(problems["Mbpp/580"].base_inputs[0], tuple)
    assert problems["Mbpp/793"].plus_inputs == []  # stored as {} in v0.1.0
    assert problems["Mbpp/581"].atol == 0 and any(p.atol == 1e-4 for p in problems.values())
    assert deserialize_mbpp_plus_inputs(9999, [[[1]]]) == [[[1]]]


def test_explicit_path_wins(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    rows = [json.loads(line) for line in gzip.open(DATA_DIR / "HumanEvalPlus-v0.1.10.jsonl.gz", "rt")][:2]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    problems = load_problems("humaneval+", DATA_DIR, path=path)
    assert [p.task_id for p in problems] == ["HumanEval/0", "HumanEval/1"]
    assert problems[0].source == str(path)


def test_data_dir_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(DATA_DIR))
    assert len(load_problems("mbpp+")) == 399


def test_missing_files_are_named(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(DataFileError, match=r"nowhere\.json: no such data file"):
        load_problems("mbpp+", path=tmp_path / "nowhere.json")
    with pytest.raises(
        DataFileError, match=r"MbppPlus-v0\.1\.0\.json: not found \(looked there because of --data-dir\)"
    ):
        load_problems("mbpp+", tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match=r"mbpp\.jsonl: not found .*CODEPREF_DATA_DIR"):
        load_problems("mbpp")
    assert len(load_problems("humaneval")) == 164  # an empty data dir still has the packaged HumanEval
    with pytest.raises(DataFileError, match="unknown benchmark 'apps'"):
        load_problems("apps", tmp_path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"task_id": "HumanEval/0", "prompt": "p"', r"bad\.jsonl:2: not valid JSON"),
        (
            '{"task_id": "HumanEval/0", "prompt": "p", "canonical_solution": "c", "test": "t"}',
            r"bad\.jsonl:2: field 'entry_point' is missing",
        ),
        (
            '{"task_id": 0, "prompt": "p", "canonical_solution": "c", "test": "t", "entry_point": "f"}',
            r"bad\.jsonl:2: field 'task_id' should be str, got int",
        ),
        ("[1, 2]", r"bad\.jsonl:2: expected a JSON object, got list"),
    ],
)
def test_malformed_records_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    good = '{"task_id": "HumanEval/9", "prompt": "p", "canonical_solution": "c", "test": "t", "entry_point": "f"}'
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(DataFileError, match=message):
        load_problems("humaneval", path=path)


def test_malformed_plus_inputs(tmp_path: Path) -> None:
    row = json.loads(gzip.open(DATA_DIR / "HumanEvalPlus-v0.1.10.jsonl.gz", "rt").readline())
    row["plus_input"] = [[1], 2]
    path = tmp_path / "plus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(
        DataFileError, match=r"plus\.jsonl:1: field 'plus_input'\[1\] should be a list of arguments"
    ):
        load_problems("humaneval+", path=path)
    row["plus_input"] = [[1]]
    del row["atol"]
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataFileError, match="field 'atol' is missing"):
        load_problems("humaneval+", path=path)


def test_duplicate_task_ids_are_rejected(tmp_path: Path) -> None:
    row = '{"task_id": "HumanEval/9", "prompt": "p", "canonical_solution": "c", "test": "t", "entry_point": "f"}\n'
    path = tmp_path / "dup.jsonl"
    path.write_text(row + row)
    with pytest.raises(DataFileError, match="HumanEval/9 appears twice"):
        load_problems("humaneval", path=path)


# --- the hub's copies, read from small local fixtures in exactly the hub's shape ---------------------------

HUMANEVAL_PLUS_HUB_ROW = {  # evalplus/humanevalplus: no input columns, the inputs live inside `test`
    "task_id": "HumanEval/0",
    "prompt": 'def add(a, b):\n    """Add two numbers."""\n',
    "canonical_solution": "    return a + b\n",
    "entry_point": "add",
    "test": "\n\ndef check(candidate):\n    inputs = [[1, 2], [3, 4]]\n    results = [3, 7]\n"
    "    for inp, exp in zip(inputs, results):\n        assert candidate(*inp) == exp\n",
}
MBPP_PLUS_HUB_ROW = {  # evalplus/mbppplus: task_id is a number, the prompt a task sentence
    "task_id": 2,
    "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n",
    "prompt": "Write a function to find the shared elements from the given two lists.",
    "source_file": "Benchmark Questions Verification V2.ipynb",
    "test_imports": [],
    "test_list": ["assert set(similar_elements((3, 4, 5, 6), (5, 7, 4, 10))) == set((4, 5))"],
    "test": "inputs = [[(3, 4, 5, 6), (5, 7, 4, 10)]]\nresults = [(4, 5)]\n"
    "for inp, exp in zip(inputs, results):\n    assert set(similar_elements(*inp)) == set(exp)\n",
}


def hub_fixture(tmp_path: Path, row: dict) -> str:
    """A local dataset folder that `datasets.load_dataset` reads like the hub repository (split test)."""
    folder = tmp_path / "hub"
    folder.mkdir()
    (folder / "test.jsonl").write_text(json.dumps(row) + "\n")
    return str(folder)


def test_humaneval_plus_from_the_hub_reads_the_hubs_columns(tmp_path: Path, monkeypatch) -> None:
    import codepref.data.humaneval as humaneval

    monkeypatch.setattr(humaneval, "HUMANEVAL_PLUS_HUB", hub_fixture(tmp_path, HUMANEVAL_PLUS_HUB_ROW))
    (problem,) = load_problems("humaneval+")
    assert (problem.task_id, problem.benchmark, problem.entry_point) == ("HumanEval/0", "humaneval+", "add")
    assert "def check(candidate)" in problem.test_code and not problem.is_plus  # checked by its test code
    assert problem.reference_program.startswith(problem.prompt)


def test_mbpp_plus_from_the_hub_reads_the_hubs_columns(tmp_path: Path, monkeypatch) -> None:
    import codepref.data.mbpp as mbpp

    monkeypatch.setattr(mbpp, "MBPP_PLUS_HUB", hub_fixture(tmp_path, MBPP_PLUS_HUB_ROW))
    (problem,) = load_problems("mbpp+")
    assert (problem.task_id, problem.benchmark, problem.entry_point) == (
        "Mbpp/2",
        "mbpp+",
        "similar_elements",
    )
    assert problem.prompt.startswith('"""\nWrite a function to find the shared elements')
    assert problem.test_list == (MBPP_PLUS_HUB_ROW["test"],) and not problem.is_plus


@pytest.mark.docker
def test_hub_shaped_plus_problems_pass_their_own_reference_in_the_sandbox(
    tmp_path: Path, monkeypatch
) -> None:
    import codepref.data.humaneval as humaneval
    import codepref.data.mbpp as mbpp
    from codepref.evaluate.harness import check_references

    (tmp_path / "he").mkdir()
    (tmp_path / "mb").mkdir()
    monkeypatch.setattr(humaneval, "HUMANEVAL_PLUS_HUB", hub_fixture(tmp_path / "he", HUMANEVAL_PLUS_HUB_ROW))
    monkeypatch.setattr(mbpp, "MBPP_PLUS_HUB", hub_fixture(tmp_path / "mb", MBPP_PLUS_HUB_ROW))
    for benchmark in ("humaneval+", "mbpp+"):
        ((problem, verdict),) = check_references(benchmark, workers=1, backend="docker", progress=False)
        assert verdict.passed, (benchmark, verdict.error, verdict.tests)


def test_the_two_sanitized_mbpps_have_different_names(tmp_path: Path) -> None:
    codet = load_problems("mbpp-sanitized", DATA_DIR)
    assert codet[0].task_id == "MbppEval/2" and codet[0].test_code  # CodeT's: check functions
    google = tmp_path / "sanitized-mbpp.json"
    row = {"source_file": "x", "task_id": 2, "prompt": "Find shared elements.", "code": MBPP_PLUS_HUB_ROW["code"],
           "test_imports": [], "test_list": MBPP_PLUS_HUB_ROW["test_list"]}  # fmt: skip
    google.write_text(json.dumps([row]))
    (problem,) = load_problems("mbpp-sanitized-google", tmp_path)
    assert (problem.task_id, problem.benchmark) == ("MbppSanitized/2", "mbpp-sanitized-google")
    assert problem.test_list == tuple(row["test_list"]) and not problem.completion_extends_prompt


def test_a_new_benchmark_needs_one_registration(tmp_path: Path, monkeypatch) -> None:
    from codepref.data import BENCHMARK_LOADERS, benchmark_names, register_benchmark, split_problem

    monkeypatch.setattr("codepref.data.BENCHMARK_LOADERS", dict(BENCHMARK_LOADERS))
    calls = []

    def load_toy(data_dir, *, split=None, path=None):
        calls.append(split)
        return load_problems("humaneval")[:2]

    register_benchmark("toy", load_toy, splits=("train", "heldout"))
    assert "toy" in benchmark_names() and split_problem("toy", "heldout") is None
    assert "unknown toy split" in split_problem("toy", "test")
    assert len(load_problems("toy", split="train")) == 2 and calls == ["train"]
