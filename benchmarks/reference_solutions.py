"""Every benchmark's own reference solutions, run against its own tests in the sandbox.

A reference that fails its own tests is either a dataset defect (MBPP has a few; evalplus documents them)
or a fault in how codepref runs the tests; the gates file lists the known defects with their explanation.
Prints, per benchmark, how many references pass and each failing one with its first error.

    python benchmarks/reference_solutions.py [--benchmarks humaneval,humaneval+,mbpp,mbpp+] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from codepref.evaluate.cli import first_error
from codepref.evaluate.harness import check_references


def reference_figures(benchmark: str, workers: int, backend: str, data_dir: Path | None) -> dict:
    started = time.perf_counter()
    outcomes = check_references(
        benchmark, workers=workers, backend=backend, data_dir=data_dir, progress=False
    )
    failing = [
        {"task_id": problem.task_id, "status": str(verdict.status), "error": first_error(verdict)[:300]}
        for problem, verdict in outcomes
        if not verdict.passed
    ]
    return {
        "benchmark": benchmark,
        "problems": len(outcomes),
        "passing": len(outcomes) - len(failing),
        "failing": failing,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--benchmarks", default="humaneval,humaneval+,mbpp,mbpp+")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("CODEPREF_DATA_DIR"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict = {}
    for benchmark in args.benchmarks.split(","):
        report = reference_figures(benchmark, args.workers, args.backend, args.data_dir)
        figures[benchmark] = report
        print(
            f"{benchmark}: {report['passing']}/{report['problems']} references pass ({report['wall_s']:.0f} s)"
        )
        for entry in report["failing"]:
            print(f"    {entry['task_id']}: {entry['status']}: {entry['error'][:160]}")
    figures["problems_checked"] = sum(report["problems"] for report in figures.values())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
