"""JSONL records, the format every stage reads and writes, with one torn-tail policy.

A writer appends `json + "\\n"` per record and flushes, so the only damage a killed writer can leave is a
last line without its newline. Readers drop that line (and `drop_torn_tail` cuts it from the file before
appending); any other line that is not a JSON object is an error naming `FILE:LINE`. Settings files (the
loop's and training's configs) are YAML, read by `read_yaml` with the same one-line errors.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml


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
    """(line number, record) for each non-blank line of a JSONL file, gzipped or not; a torn last line is
    skipped, any other bad line raises `error`."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        previous: tuple[int, str] | None = None
        for number, line in enumerate(handle, start=1):
            if previous is not None:
                yield previous[0], parse_record(previous[1], f"{path}:{previous[0]}", error)
            previous = (number, line) if line.strip() else None
        if previous is not None:
            number, line = previous
            if line.endswith("\n"):
                yield number, parse_record(line, f"{path}:{number}", error)
            else:
                try:
                    yield number, parse_record(line, f"{path}:{number}", error)
                except ValueError:
                    return  # a torn tail: its writer was killed mid-line


def read_jsonl(path: Path, error: type[ValueError] = RecordError) -> list[dict[str, Any]]:
    """Every record of a JSONL file (none when it does not exist yet)."""
    path = Path(path)
    return [record for _, record in read_records(path, error)] if path.exists() else []


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Replace `path` with these records, atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            append_record(handle, row)
    tmp.replace(path)
    return path


def append_record(handle: IO[str], row: dict[str, Any]) -> None:
    handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def drop_torn_tail(path: Path) -> None:
    """Cut a last line that lacks its newline (its writer was killed), so appends start on a line of their own."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def read_yaml(path: Path, error: type[ValueError] = ValueError) -> Any:
    """The data of a YAML settings file; a file that is missing, unreadable or not YAML raises `error` with one
    line naming the file (and the line of a YAML error)."""
    if path.is_dir():
        raise error(f"{path}: is a directory; give a config file (see configs/)")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot be read ({err})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise error(f"{path}:{line} invalid YAML: {getattr(err, 'problem', err)}") from None
