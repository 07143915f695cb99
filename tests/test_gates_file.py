"""The gates file: the repository's own file loads and names real scripts and data; mistakes give one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_dir import DATA_DIR

from codepref.gates.file import GatesFileError, load_gates

REPO = Path(__file__).resolve().parents[1]
REPO_GATES = REPO / "benchmarks" / "gates.toml"

VALID = """
code = ["."]

[[benchmark]]
name = "codet"
script = "rerank.py"
args = ["--out-dir", "{out}", "--data-dir", "{data}"]
figures = "results.json"
timeout_min = 30
data = ["samples.jsonl"]

[[benchmark.gate]]
name = "reproduces-paper"
figure = "rankers.codet.pass1"
kind = "within"
target = 36.7
tolerance = 1.0
baseline = 36.9
date = "2026-11-29"
command = "make bench-ci"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(text)
    return path


def test_the_repository_gates_file_loads_and_names_scripts_and_data_that_exist() -> None:
    gates = load_gates(REPO_GATES)
    assert gates.benchmarks
    for benchmark in gates.benchmarks:
        assert (REPO_GATES.parent / benchmark.script).is_file(), benchmark.script
        for name in benchmark.data:
            assert (DATA_DIR / name).is_file(), f"{name} missing from {DATA_DIR}"
        for gate in benchmark.gates:
            assert gate.date and gate.command, f"{benchmark.name}/{gate.name} lacks its baseline's provenance"


def test_a_valid_file_gives_typed_benchmarks_and_gates(tmp_path: Path) -> None:
    gates = load_gates(write(tmp_path, VALID))
    (benchmark,) = gates.benchmarks
    assert benchmark.data == ("samples.jsonl",)
    assert benchmark.gates[0].params == {"target": 36.7, "tolerance": 1.0, "baseline": 36.9}


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda t: t.replace("tolerance = 1.0\n", ""), ["gate 'reproduces-paper'", "'tolerance' is missing"]),
        (
            lambda t: t.replace("timeout_min = 30", "timeout_minutes = 30"),
            ["benchmark 'codet'", "'timeout_minutes'"],
        ),
        (
            lambda t: t.replace('kind = "within"', 'kind = "near"'),
            ["gate 'reproduces-paper'", "'kind'", "'near'"],
        ),
        (lambda t: t.replace("target = 36.7", 'target = "36.7"'), ["'target' should be a number"]),
        (lambda t: t.replace('"{data}"', '"{dataset}"'), ["'args'", "{dataset}"]),
        (lambda t: t.replace('date = "2026-11-29"\n', ""), ["'date' is missing"]),
        (lambda t: t.replace("[[benchmark.gate]]", "[[benchmark.gate]"), ["not valid TOML"]),
        (lambda t: t + t.split("[[benchmark.gate]]")[0].split("\n", 2)[2], ["'codet' is used twice"]),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(tmp_path: Path, edit, names: list[str]) -> None:
    path = write(tmp_path, edit(VALID))
    with pytest.raises(GatesFileError) as raised:
        load_gates(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for name in names:
        assert name in message


def test_an_exception_list_needs_an_explanation_for_every_item(tmp_path: Path) -> None:
    listed = VALID.split("[[benchmark.gate]]")[0] + (
        '[[benchmark.gate]]\nname = "agree"\nfigure = "disagreements"\nkind = "only_listed"\n'
        'date = "2026-11-29"\ncommand = "make bench-ci"\n[benchmark.gate.allowed]\n"HumanEval/1#3" = ""\n'
    )
    with pytest.raises(GatesFileError, match="gate 'agree': key 'allowed' should map each listed item"):
        load_gates(write(tmp_path, listed))


def test_a_missing_gates_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GatesFileError, match=r"nope\.toml: cannot be read"):
        load_gates(tmp_path / "nope.toml")
