"""Where the tests read the benchmark data: $CODEPREF_DATA_DIR, else `shared/data` beside the clone (the
Makefile's default). Tests that need a file fail, not skip, when it is absent."""

import os
from pathlib import Path

DATA_DIR = Path(
    os.environ.get("CODEPREF_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
