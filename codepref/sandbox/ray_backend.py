"""The sandbox pool across a Ray cluster: the local pool on every node, inside a Ray actor, fed batches.

    with Sandbox(backend="ray", address="head-host:6379", workers=8) as sandbox:
        for verdict in sandbox.run_many(jobs):
            ...

Each node runs the same pool a single machine does (Docker, or bubblewrap where Docker is missing) inside a
`NodeSandbox` actor, `workers` sandboxes per actor, one actor per node unless told otherwise; actors are
placed on the nodes Ray reports alive with CPUs and pinned there. The driver cuts the job stream into
batches so one Ray round trip carries many jobs, keeps at most `batches_per_actor` batches in flight per
actor (so a million-job stream holds only those in memory), and yields each batch's verdicts, tagged with
their job ids, as the batch returns.

Faults: a batch whose actor dies (actor killed, node gone) never returned a verdict, so it is sent once
more to another live actor with its jobs' `attempts` counted; lost a second time, its jobs are reported
`sandbox_error`. Only returned batches are reported, so no job is lost or reported twice. A dead actor is
replaced on its node if the node is still alive. When the driver goes away, Ray ends its actors; their
sandboxes end with them (a container's runner exits when its stdin closes, bubblewrap dies with its
parent).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Annotated, Any

import typer

from codepref.sandbox.backends import BackendUnavailable, make_backend
from codepref.sandbox.image import image_tag
from codepref.sandbox.pool import DEFAULT_WORKERS, WorkerPool
from codepref.sandbox.types import Job, Limits, Status, Verdict

log = logging.getLogger(__name__)

BATCH_SIZE = 16
BATCHES_PER_ACTOR = 3  # one running, the next ones queued on the node so its sandboxes never wait on Ray
ACTOR_READY_TIMEOUT_S = 120.0
STARTS_PER_NODE = 3  # a node whose actors keep dying is given up on
WAIT_TICK_S = 1.0  # how often the driver looks at actors that are still starting


RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Run the sandboxes on this Ray cluster (host:port of its head, or 'auto'); never chosen by auto.",
        show_default=False,
    ),
]


def backend_for(ray_address: str | None, backend: str) -> str:
    """A command's sandbox backend once `--ray ADDRESS` is taken into account.

    The address travels the way Ray's own tools pass it, in RAY_ADDRESS, so the code between the command
    line and `Sandbox(...)` need not carry it.
    """
    if ray_address is None:
        return backend
    os.environ["RAY_ADDRESS"] = ray_address
    return "ray"


class NodeSandbox:
    """Runs on one Ray node: the local sandbox pool, serving several batches of jobs at once."""

    def __init__(self, node_backend: str, limits: Limits, image: str | None, workers: int) -> None:
        self.backend = make_backend(node_backend, limits, image)
        self.pool = WorkerPool(self.backend.start, workers)

    def describe(self) -> dict[str, Any]:
        import ray

        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "backend": self.backend.name,
        }

    def run_batch(self, jobs: list[Job]) -> list[Verdict]:
        return list(self.pool.run_many(jobs))

    def close(self) -> None:
        self.pool.close()
        self.backend.close()


@dataclass
class _Batch:
    jobs: list[Job]
    lost: int = 0  # times its actor died before it returned


@dataclass
class _Actor:
    handle: Any
    node_id: str
    info: dict[str, Any] = field(default_factory=dict)
    in_flight: int = 0
    alive: bool = True


@dataclass
class _Starting:
    handle: Any
    node_id: str
    since: float


class RayPool:
    """The driver's side: connects to the cluster, starts one `NodeSandbox` per node, streams batches."""

    name = "ray"

    def __init__(
        self,
        address: str | None,
        limits: Limits,
        image: str | None = None,
        workers: int = DEFAULT_WORKERS,
        node_backend: str = "auto",
        actors_per_node: int = 1,
        batch_size: int = BATCH_SIZE,
        batches_per_actor: int = BATCHES_PER_ACTOR,
        ready_timeout_s: float = ACTOR_READY_TIMEOUT_S,
    ) -> None:
        ray = _import_ray()
        self._ray = ray
        self._owns_connection = connect(address)
        self.limits = limits
        self.image = image or _local_image_tag(node_backend)
        self.workers = workers
        self.node_backend = node_backend
        self.actors_per_node = actors_per_node
        self.batch_size = max(1, batch_size)
        self.batches_per_actor = max(1, batches_per_actor)
        self.ready_timeout_s = ready_timeout_s
        self._actor_class = ray.remote(NodeSandbox)
        self._actors: list[_Actor] = []
        self._starting: dict[Any, _Starting] = {}
        self._starts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._closed = False
        self._start_missing_actors()
        problems = self._await_starting(block=True)
        if not self._actors:
            self.close()
            raise BackendUnavailable(
                "no sandbox actor could start on the Ray cluster: " + ("; ".join(problems) or "no live nodes")
            )
        for problem in problems:
            log.warning("ray sandbox: %s", problem)

    @property
    def actors(self) -> list[dict[str, Any]]:
        """What each live actor reported at start: node id, host, pid, local backend."""
        return [a.info | {"handle": a.handle} for a in self._actors if a.alive]

    def run_many(self, jobs: Iterable[Job]) -> Iterator[Verdict]:
        """Verdicts in completion order (batch by batch), each tagged with its job's `job_id`."""
        ray = self._ray
        if self._closed:
            raise RuntimeError("the sandbox pool is closed")
        batches = _batches(jobs, self.batch_size)
        retry: deque[_Batch] = deque()
        pending: dict[Any, tuple[_Batch, _Actor]] = {}
        exhausted = False
        try:
            while True:
                exhausted = self._dispatch(batches, retry, pending, exhausted)
                if not pending:
                    if exhausted and not retry:
                        return
                    if not self._starting and not self._live_actors():
                        yield from self._fail_remaining(retry, batches)
                        return
                waiting = list(pending) + list(self._starting)
                done, _ = ray.wait(waiting, num_returns=1, timeout=WAIT_TICK_S)
                for ref in done:
                    if ref in pending:
                        yield from self._collect(ref, pending, retry)
                for problem in self._await_starting(block=False):
                    log.warning("ray sandbox: %s", problem)
        finally:  # a caller that stops reading early frees the slots its unread batches hold
            for _, actor in pending.values():
                actor.in_flight -= 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        ray = self._ray
        live = [a.handle for a in self._actors if a.alive]
        if live:
            try:  # removes the nodes' containers; killing alone would leave them to the runner's stdin EOF
                ray.get([h.close.remote() for h in live], timeout=60)
            except ray.exceptions.RayError as exc:
                log.warning("ray sandbox: closing an actor failed: %s", _first_line(exc))
        for handle in live + [s.handle for s in self._starting.values()]:
            ray.kill(handle, no_restart=True)
        self._actors.clear()
        self._starting.clear()
        if self._owns_connection:
            ray.shutdown()

    # ------------------------------------------------------------------ dispatching and collecting

    def _dispatch(self, batches: Iterator[_Batch], retry: deque, pending: dict, exhausted: bool) -> bool:
        """Give every actor with a free slot a batch: retried ones first, then new ones from the stream."""
        while True:
            actor = min(
                (a for a in self._live_actors() if a.in_flight < self.batches_per_actor),
                key=lambda a: a.in_flight,
                default=None,
            )
            if actor is None:
                return exhausted
            if retry:
                batch = retry.popleft()
            elif not exhausted:
                batch = next(batches, None)
                if batch is None:
                    return True
            else:
                return exhausted
            pending[actor.handle.run_batch.remote(batch.jobs)] = (batch, actor)
            actor.in_flight += 1

    def _collect(self, ref: Any, pending: dict, retry: deque) -> Iterator[Verdict]:
        batch, actor = pending.pop(ref)
        actor.in_flight -= 1
        try:
            verdicts = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            yield from self._on_lost_batch(batch, actor, exc, retry)
            return
        for verdict in verdicts:
            verdict.attempts += batch.lost
            yield verdict

    def _on_lost_batch(self, batch: _Batch, actor: _Actor, exc: Exception, retry: deque) -> Iterator[Verdict]:
        if isinstance(exc, self._ray.exceptions.RayActorError) and actor.alive:
            log.warning("ray sandbox: actor on node %s died: %s", actor.node_id[:12], _first_line(exc))
            actor.alive = False
            self._ray.kill(actor.handle, no_restart=True)
            self._start_missing_actors()
        batch.lost += 1
        if batch.lost < 2:
            retry.append(batch)
            return
        message = f"the Ray actor running this job was lost twice ({_first_line(exc)})"
        for job in batch.jobs:
            yield Verdict(job_id=job.job_id, status=Status.SANDBOX_ERROR, error=message, attempts=batch.lost)

    def _fail_remaining(self, retry: deque, batches: Iterator[_Batch]) -> Iterator[Verdict]:
        """No actor is alive and none can start: every job not yet run is a sandbox error, never dropped."""
        message = "no live sandbox actor left on the Ray cluster"
        for batch in [*retry, *batches]:
            for job in batch.jobs:
                yield Verdict(
                    job_id=job.job_id, status=Status.SANDBOX_ERROR, error=message, attempts=max(1, batch.lost)
                )

    def _live_actors(self) -> list[_Actor]:
        self._actors = [a for a in self._actors if a.alive or a.in_flight]
        return [a for a in self._actors if a.alive]

    # ------------------------------------------------------------------ placement

    def _start_missing_actors(self) -> None:
        """Start actors on every live node with CPUs that has fewer than `actors_per_node` of them."""
        with self._lock:
            placed = Counter(a.node_id for a in self._actors if a.alive)
            placed.update(s.node_id for s in self._starting.values())
            for node_id, cpus in live_nodes().items():
                for _ in range(self.actors_per_node - placed[node_id]):
                    if self._starts[node_id] >= STARTS_PER_NODE:
                        break
                    self._starts[node_id] += 1
                    handle = self._actor_class.options(
                        num_cpus=min(self.workers, cpus),
                        max_concurrency=self.batches_per_actor + 2,  # + describe and close
                        max_restarts=0,
                        scheduling_strategy=on_node(node_id),
                    ).remote(self.node_backend, self.limits, self.image, self.workers)
                    self._starting[handle.describe.remote()] = _Starting(handle, node_id, time.monotonic())

    def _await_starting(self, block: bool) -> list[str]:
        """Promote actors that answered; drop those that failed or are late. Returns why each was dropped."""
        problems: list[str] = []
        with self._lock:
            if not self._starting:
                return problems
            refs = list(self._starting)
            timeout = self.ready_timeout_s if block else 0
            ready, late = self._ray.wait(refs, num_returns=len(refs), timeout=timeout)
            for ref in ready:
                start = self._starting.pop(ref)
                try:
                    info = self._ray.get(ref)
                except self._ray.exceptions.RayError as exc:
                    problems.append(f"node {start.node_id[:12]}: {_cause(exc)}")
                    continue
                self._actors.append(_Actor(start.handle, start.node_id, info))
                if info["backend"] != "docker" and self.node_backend == "auto":
                    log.warning(
                        "ray sandbox: node %s has no Docker engine or image: bubblewrap", info["host"]
                    )
            for ref in late:
                start = self._starting[ref]
                if block or time.monotonic() - start.since > self.ready_timeout_s:
                    del self._starting[ref]
                    self._ray.kill(start.handle, no_restart=True)
                    problems.append(
                        f"node {start.node_id[:12]}: its actor did not start within {self.ready_timeout_s:.0f}s"
                        " (are the node's CPUs taken?)"
                    )
        return problems


def connect(address: str | None) -> bool:
    """Join the Ray cluster at `address` (None: RAY_ADDRESS, else the one `ray start` left on this machine;
    never a new one) unless this process already has; True when this call made the connection."""
    ray = _import_ray()
    if ray.is_initialized():
        return False
    target = address or "auto"
    try:
        ray.init(address=target, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BackendUnavailable(
            f"no Ray cluster at {target}: {_first_line(exc)} (start one with `ray start --head`, or pass its address)"
        ) from exc
    return True


def live_nodes() -> dict[str, float]:
    """CPU count of each live node that has CPUs, by node id."""
    import ray

    nodes = ray.nodes()
    return {
        n["NodeID"]: n["Resources"]["CPU"]
        for n in nodes
        if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1
    }


def on_node(node_id: str) -> Any:
    """A scheduling strategy that pins an actor to this node (never elsewhere: its work is that node's)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


def _batches(jobs: Iterable[Job], size: int) -> Iterator[_Batch]:
    iterator = iter(jobs)
    while chunk := list(islice(iterator, size)):
        yield _Batch(chunk)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailable("the ray sandbox backend needs Ray: pip install 'codepref[ray]'") from exc
    return ray


def _local_image_tag(node_backend: str) -> str | None:
    """The image every node must run: the one this driver's sandbox/ content hashes to."""
    if node_backend == "process":
        return None
    return image_tag()


def _cause(exc: Exception) -> str:
    """The user-facing reason inside a Ray error (an actor's constructor raising BackendUnavailable, say)."""
    text = str(exc)
    for line in reversed(text.splitlines()):
        if "BackendUnavailable" in line or "Error:" in line:
            return line.strip()
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
