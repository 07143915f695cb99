"""JSONL records: strict reading with FILE:LINE errors, torn-tail repair, tolerant log reading."""

from __future__ import annotations

import gzip
import json

import pytest

from codepref.records import RecordError, drop_torn_tail, read_jsonl, read_records


def test_read_records_skips_blank_lines_and_numbers_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert list(read_records(path)) == [(1, {"a": 1}), (3, {"a": 2})]


def test_read_records_reads_gzip(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps({"x": "y"}) + "\n")
    assert list(read_records(path)) == [(1, {"x": "y"})]


@pytest.mark.parametrize(
    ("text", "why"), [('{"a": 1}\n{oops\n', "not valid JSON"), ('{"a": 1}\n[1, 2]\n', "got list")]
)
def test_bad_lines_name_the_file_and_line(tmp_path, text, why):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(RecordError, match=rf"bad.jsonl:2: .*{why}"):
        list(read_records(path))


def test_callers_choose_their_error_type(tmp_path):
    class SamplesError(ValueError):
        pass

    path = tmp_path / "bad.jsonl"
    path.write_text("nope\n")
    with pytest.raises(SamplesError, match="bad.jsonl:1"):
        list(read_records(path, SamplesError))


def test_drop_torn_tail_keeps_whole_lines_only(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": ')
    drop_torn_tail(path)
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'
    drop_torn_tail(path)  # whole lines: unchanged
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'
    drop_torn_tail(tmp_path / "missing.jsonl")


def test_read_jsonl_skips_a_torn_last_line_but_no_other(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"ste')
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]
    assert read_jsonl(tmp_path / "missing.jsonl") == []
    path.write_text('{"step": 1}\n{"ste\n{"step": 3}\n')
    with pytest.raises(RecordError, match=r"log.jsonl:2: not valid JSON"):
        read_jsonl(path)
