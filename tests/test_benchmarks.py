"""The scripts under benchmarks/ are not imported by the package, so a moved function breaks them silently;
each must at least import and print its usage."""

import subprocess
import sys
from pathlib import Path

import pytest

# A leading underscore marks a module a script imports (it has no usage of its own): the script's --help
# imports it, so a break there still fails here.
SCRIPTS = sorted(
    p for p in (Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py") if not p.name.startswith("_")
)


def test_there_are_benchmark_scripts_to_check():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_benchmark_script_imports_and_prints_its_usage(script):
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
