"""Stage bookkeeping: a stage with unchanged inputs is skipped, a changed input reruns it."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from codepref.loop.stages import StageRunner, fingerprint


@dataclass
class Counted:
    lines: int


@dataclass
class Written:
    rows_file: str  # a path field, named as the loop records name theirs


def test_unchanged_inputs_skip_and_changed_inputs_rerun(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("a\nb\n")
    runner = StageRunner(tmp_path / "run")
    calls = []

    def body(out):
        calls.append(out)
        (out / "partial").write_text("x")
        return Counted(len(data.read_text().splitlines()))

    first = runner.run(1, "count", {"data": fingerprint(data)}, body, Counted)
    again = runner.run(1, "count", {"data": fingerprint(data)}, body, Counted)
    assert first == again == Counted(2) and len(calls) == 1
    data.write_text("a\nb\nc\n")
    assert runner.run(1, "count", {"data": fingerprint(data)}, body, Counted) == Counted(3)
    assert [o.status for o in runner.outcomes] == ["ran", "skipped", "ran"]


def test_a_stage_adopted_from_another_run_is_skipped_when_its_inputs_match_and_rerun_when_not(tmp_path):
    calls = []

    def body(out):
        calls.append(out)
        (out / "rows.txt").write_text("a\nb\n")
        return Written(str(out / "rows.txt"))

    donor = StageRunner(tmp_path / "donor")
    donor.run(1, "write", {"v": 1}, body, Written)
    adopter = StageRunner(tmp_path / "adopter")
    assert not adopter.finished(1, "write") and donor.finished(1, "write")
    adopter.adopt(donor, 1, "write")
    record = adopter.run(1, "write", {"v": 1}, body, Written)
    assert len(calls) == 1 and adopter.outcomes[-1].status == "skipped"
    assert record.rows_file == str(tmp_path / "adopter" / "round-1" / "write" / "rows.txt")
    assert Path(record.rows_file).read_text() == "a\nb\n"

    other = StageRunner(tmp_path / "other")
    other.adopt(donor, 1, "write")
    other.run(1, "write", {"v": 2}, body, Written)
    assert len(calls) == 2 and other.outcomes[-1].status == "ran"


def test_adopting_keeps_a_stage_this_run_already_finished(tmp_path):
    donor, own = StageRunner(tmp_path / "donor"), StageRunner(tmp_path / "own")
    donor.run(1, "count", {"v": 1}, lambda out: Counted(1), Counted)
    own.run(1, "count", {"v": 1}, lambda out: Counted(2), Counted)
    own.adopt(donor, 1, "count")
    assert own.run(1, "count", {"v": 1}, lambda out: Counted(3), Counted) == Counted(2)


def test_fingerprints_see_every_file_of_a_directory(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.bin").write_bytes(b"1")
    before = fingerprint(tmp_path / "m")
    (tmp_path / "m" / "weights.bin").write_bytes(b"2")
    assert fingerprint(tmp_path / "m") != before


def test_a_run_folder_moved_elsewhere_resumes_with_its_records_naming_files_at_the_new_place(tmp_path):
    calls = []

    def body(out):
        calls.append(out)
        (out / "rows.txt").write_text("a\n")
        return Written(str(out / "rows.txt"))

    StageRunner(tmp_path / "here" / "run").run(1, "write", {"v": 1}, body, Written)
    (tmp_path / "there").mkdir()
    shutil.move(tmp_path / "here" / "run", tmp_path / "there" / "run")
    moved = StageRunner(tmp_path / "there" / "run")
    record = moved.run(1, "write", {"v": 1}, body, Written)
    assert len(calls) == 1 and moved.outcomes[-1].status == "skipped"
    assert record.rows_file == str(tmp_path / "there" / "run" / "round-1" / "write" / "rows.txt")
    assert Path(record.rows_file).read_text() == "a\n"
    assert str(tmp_path) not in (tmp_path / "there" / "run" / "round-1" / "write" / "stage.json").read_text()


def test_a_path_outside_the_run_is_kept_as_it_was_given(tmp_path):
    outside = str(tmp_path / "models" / "base")
    runner = StageRunner(tmp_path / "run")
    runner.run(1, "keep", {}, lambda out: Written(outside), Written)
    assert (
        StageRunner(tmp_path / "run").run(1, "keep", {}, lambda out: Written("rerun"), Written).rows_file
        == outside
    )
