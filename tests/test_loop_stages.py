"""Stage bookkeeping: a stage with unchanged inputs is skipped, a changed input reruns it."""

from dataclasses import dataclass

from codepref.loop.stages import StageRunner, fingerprint


@dataclass
class Counted:
    lines: int


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


def test_fingerprints_see_every_file_of_a_directory(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.bin").write_bytes(b"1")
    before = fingerprint(tmp_path / "m")
    (tmp_path / "m" / "weights.bin").write_bytes(b"2")
    assert fingerprint(tmp_path / "m") != before
