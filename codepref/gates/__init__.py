"""Benchmarks as CI gates: the gates file, the resumable runner, and the job summary (`codepref bench`)."""

from codepref.gates.check import GateResult, judge
from codepref.gates.file import GatesFile, GatesFileError, load_gates
from codepref.gates.run import BenchmarkResult, run_benchmarks

__all__ = [
    "BenchmarkResult",
    "GateResult",
    "GatesFile",
    "GatesFileError",
    "judge",
    "load_gates",
    "run_benchmarks",
]
