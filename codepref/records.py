"""JSONL records, the format every stage reads and writes: strict parsing with `FILE:LINE` errors, and the
torn-tail repair that lets an interrupted writer resume by appending."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class RecordError(ValueError):
    """A record that cannot be used; the message starts with `FILE:LINE:` and names the field."""


def parse_record(text: str, where: str, error: type[ValueError] = RecordError) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise error(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def read_records(path: Path, error: type[ValueError] = RecordError) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each non-blank line of a JSONL file, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, parse_record(line, f"{path}:{number}", error)


def read_finished_records(path: Path) -> list[dict[str, Any]]:
    """Records of a log that a killed writer may have left torn: unreadable lines are skipped, not errors."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def drop_torn_tail(path: Path) -> None:
    """Cut a last line that lacks its newline (its writer was killed), so appends start on a line of their own."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
