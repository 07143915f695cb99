"""Where benchmark files come from, and the readers every loader shares.

A data file is looked up in this order: an explicit path, the data directory (`resolve_data_dir`: the
`--data-dir` option, else the `CODEPREF_DATA_DIR` environment variable, else a caller's default), and
finally the Hugging Face hub through `datasets` (for users who are online).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codepref.records import read_records
from codepref.tasks.problem import DataFileError

DATA_DIR_ENV = "CODEPREF_DATA_DIR"


def resolve_data_dir(
    data_dir: str | Path | None = None, default: str | Path | None = None
) -> tuple[Path, str] | None:
    """(directory, where it came from): `data_dir`, else $CODEPREF_DATA_DIR, else `default` when it exists.

    None when none applies (meaning: fetch from the hub). The one place a data directory is chosen.
    """
    if data_dir:
        return Path(data_dir), "--data-dir"
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]), f"${DATA_DIR_ENV}"
    if default is not None and Path(default).is_dir():
        return Path(default), "the default data directory"
    return None


def resolve_data_file(
    filename: str, *, path: str | Path | None = None, data_dir: str | Path | None = None
) -> Path | None:
    """Find a benchmark file locally: explicit path > the data directory (`resolve_data_dir`).

    Returns None when neither is given, meaning: fetch from the hub. A location that was given but lacks
    the file is an error rather than a silent fallback, so users never evaluate on the wrong copy.
    """
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise DataFileError(f"{candidate}: no such data file")
        return candidate
    resolved = resolve_data_dir(data_dir)
    if resolved is None:
        return None
    base, origin = resolved
    candidate = base / filename
    if not candidate.is_file():
        raise DataFileError(f"{candidate}: not found (looked there because of {origin})")
    return candidate


def open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) for each non-blank line; a line that is not a JSON object is an error."""
    try:
        yield from read_records(path, DataFileError)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot be read ({err})") from None


def read_json_list(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, record) from a file holding one JSON list of objects."""
    try:
        with open_text(path) as handle:
            data = json.load(handle)
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot be read ({err})") from None
    if not isinstance(data, list):
        raise DataFileError(f"{path}: expected a JSON list of problems, got {type(data).__name__}")
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise DataFileError(f"{path}: item {index}: expected a JSON object, got {type(record).__name__}")
        yield index, record


def field_of(record: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """record[name], checked for presence and type; `where` names the file and line for the error."""
    if name not in record:
        raise DataFileError(f"{where}: field '{name}' is missing")
    value = record[name]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataFileError(f"{where}: field '{name}' should be {expected}, got {type(value).__name__}")
    return value


def load_hub_records(
    repo_id: str, split: str, config: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Records of a Hugging Face hub dataset, for users who are online and gave no local file."""
    try:
        import datasets
    except ImportError as err:  # pragma: no cover - datasets is a dependency
        raise DataFileError(f"no local data file given and `datasets` is unavailable ({err})") from None
    try:
        table = datasets.load_dataset(repo_id, config, split=split)
    except Exception as err:  # network, auth, or missing-repo errors all mean: no data
        raise DataFileError(
            f"hub dataset {repo_id} ({config or 'default'}, split {split}) could not be loaded: {err}; "
            f"pass --data-dir or set ${DATA_DIR_ENV} to a folder holding the file"
        ) from None
    for index, record in enumerate(table):
        yield index, dict(record)
