"""How to start one sandbox process: a locked-down Docker container, or bubblewrap where Docker is missing.

Both run the same runner as PID 1 of a fresh PID namespace, with no network, a read-only root, a small
tmpfs as the only writable place, a non-root user and no capabilities.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

import docker
import docker.errors

from codepref.sandbox.image import (
    RUNNER_DIR_IN_IMAGE,
    RUNNER_PATH_IN_IMAGE,
    SANDBOX_UID,
    find_image,
    image_exists,
    runner_files,
    sandbox_dir,
)
from codepref.sandbox.pool import SandboxProcess
from codepref.sandbox.seccomp import SeccompUnavailable, compile_filter, program_fd
from codepref.sandbox.types import Limits

CONTAINER_LABEL = "codepref.sandbox"
OWNER_LABEL = "codepref.owner.id"  # owner_id(): what the reaper decides on
# Earlier codepref versions remove every sandbox container whose "codepref.owner" is not a live host:pid of
# theirs; this label keeps them off containers of this version that share their engine.
LEGACY_OWNER_LABEL = "codepref.owner"
JOBS_PER_CONTAINER = 1000
DEV_SHM_MB = 8  # /dev/shm under both backends (docker --shm-size)
NOBODY = 65534


class BackendUnavailable(RuntimeError):
    pass


def runner_limits(limits: Limits, nproc: int | None = None) -> str:
    settings = asdict(limits) | {"jobs_per_container": JOBS_PER_CONTAINER}
    if nproc:
        settings["nproc"] = nproc
    return json.dumps(settings)


def owner_id(pid: int | None = None) -> str:
    """Who owns a sandbox, in terms only this machine can check: its boot, PID namespace, pid and start time.

    A Docker engine can be shared by several hosts (or containers) whose pids mean nothing here; an owner
    recorded under another boot or PID namespace is never judged dead from this one.
    """
    pid = pid or os.getpid()
    return f"{_boot_id()}:{_pid_namespace()}:{pid}:{_start_time(pid)}"


def _boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def _pid_namespace() -> str:
    return os.readlink("/proc/self/ns/pid").strip("pid:[]")


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("gone" if it has exited): tells reused pids apart."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "gone"


# ---------------------------------------------------------------------------------------------- docker


class DockerBackend:
    name = "docker"

    def __init__(self, limits: Limits, image: str | None = None) -> None:
        self.limits = limits
        self.client = docker_client()
        self.image = image or find_image(self.client)
        if self.image is None or not image_exists(self.client, self.image):
            raise BackendUnavailable(
                f"sandbox image {image or 'for this runner'} is missing: "
                "build it with `codepref sandbox build --offline`"
            )
        self.owner = owner_id()
        reap_orphans(self.client)

    def argv(self) -> list[str]:
        limits = self.limits
        return [
            "docker", "run", "-i", "--rm",
            "--name", f"codepref-sbx-{uuid.uuid4().hex[:12]}",
            "--label", f"{CONTAINER_LABEL}=1", "--label", f"{OWNER_LABEL}={self.owner}",
            "--label", f"{LEGACY_OWNER_LABEL}={socket.gethostname()}:{os.getpid()}",
            "--network", "none",
            "--read-only",
            "--tmpfs", f"/tmp:rw,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777",
            "--ipc", "private", "--shm-size", f"{DEV_SHM_MB}m",
            "--user", f"{SANDBOX_UID}:{SANDBOX_UID}",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m",
            "--pids-limit", str(limits.pids),
            "--cpus", f"{min(limits.cpus, os.cpu_count() or 1):g}",  # Docker refuses more than the host has
            "--ulimit", "core=0",
            "--log-driver", "none",
            "--workdir", "/tmp",
            self.image,
            "python3", "-I", RUNNER_PATH_IN_IMAGE, runner_limits(limits),
        ]  # fmt: skip

    def start(self) -> SandboxProcess:
        return SandboxProcess(self.argv())

    def close(self) -> None:
        remove_containers(self.client, owner=self.owner)


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        raise BackendUnavailable(f"Docker engine unreachable: {str(exc).splitlines()[0]}") from exc


def reap_orphans(client: docker.DockerClient) -> int:
    """Remove sandbox containers left by crashed runs of this host: same boot and PID namespace, owner gone.

    Containers of other hosts, other PID namespaces, or live owners are never touched, whatever their label.
    """
    removed = 0
    here = f"{_boot_id()}:{_pid_namespace()}:"
    for container in _labelled(client, CONTAINER_LABEL):
        owner = (container.get("Labels") or {}).get(OWNER_LABEL, "")
        if not owner.startswith(here) or not _owner_dead(owner[len(here) :]):
            continue
        _remove(client, container["Id"])
        removed += 1
    return removed


def _owner_dead(pid_and_start: str) -> bool:
    pid, _, start = pid_and_start.partition(":")
    return pid.isdigit() and _start_time(int(pid)) != start


def remove_containers(client: docker.DockerClient, owner: str) -> None:
    for container in _labelled(client, f"{OWNER_LABEL}={owner}"):
        _remove(client, container["Id"])


def _labelled(client: docker.DockerClient, label: str) -> list[dict]:
    """Containers with this label, as listed (not inspected one by one: on a shared engine, containers
    started with --rm can vanish between the listing and an inspection)."""
    return client.api.containers(all=True, filters={"label": label})


def _remove(client: docker.DockerClient, container_id: str) -> None:
    try:
        client.api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


# ---------------------------------------------------------------------------------------------- bubblewrap


class ProcessBackend:
    """The runner under bubblewrap: new user, PID, network, IPC, UTS and mount namespaces, read-only system,
    and a seccomp filter at least as strict as Docker's default profile (codepref.sandbox.seccomp)."""

    name = "process"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise BackendUnavailable("bubblewrap is not installed (apt-get install -y bubblewrap)")
        self.python = _system_python()
        self.runner_files = runner_files()
        try:
            self.seccomp = compile_filter()
        except SeccompUnavailable as exc:  # never a sandbox without the filter
            raise BackendUnavailable(str(exc)) from exc

    def argv(self, seccomp_fd: int) -> list[str]:
        argv = [
            self.bwrap, "--seccomp", str(seccomp_fd),  # loaded right before the runner is exec'd
            "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--unshare-pid", "--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
        ]  # fmt: skip
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            path = Path(top)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), top]
            elif path.is_dir():
                argv += ["--ro-bind", top, top]
        prefix = Path(self.python).resolve().parents[1]
        if not str(prefix).startswith("/usr"):
            argv += ["--ro-bind", str(prefix), str(prefix)]
        for source in self.runner_files:  # the runner's files alone, where the image has them
            target = f"{RUNNER_DIR_IN_IMAGE}/{source.relative_to(sandbox_dir()).as_posix()}"
            argv += ["--ro-bind", str(source), target]
        argv += [
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(DEV_SHM_MB << 20), "--tmpfs", "/dev/shm",  # capped, and wiped after each job
            "--mqueue", "/dev/mqueue",  # POSIX message queues, visible so they can be wiped after each job
            "--remount-ro", "/dev",  # device nodes stay usable; nothing new can be created in /dev
            "--size", str(self.limits.tmpfs_mb << 20), "--tmpfs", "/tmp",
            "--remount-ro", "/",
            "--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
            self.python, "-I", RUNNER_PATH_IN_IMAGE, runner_limits(self.limits, nproc=self.limits.pids),
        ]  # fmt: skip
        return argv

    def start(self) -> SandboxProcess:
        # As root, drop to nobody first: inside, the sandbox user then maps to an unprivileged host uid, so
        # RLIMIT_NPROC applies (the kernel exempts uid 0) and nothing can reach root-owned files.
        options = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}
        seccomp_fd = program_fd(self.seccomp)
        try:
            return SandboxProcess(self.argv(seccomp_fd), options | {"pass_fds": (seccomp_fd,)})
        finally:
            os.close(seccomp_fd)  # bwrap has its own copy, read by the time the runner says it is ready

    def close(self) -> None:
        pass


def unenforced_limits() -> list[tuple[str, str]]:
    """The limits the bubblewrap backend cannot enforce on this host, and what stands in for each.

    bubblewrap creates no cgroup, so nothing caps a sandbox's resident memory, process count or CPU share
    as Docker's cgroup limits do.
    """
    gaps = [
        (
            "memory cgroup",
            "only RLIMIT_AS per process: address space, not resident memory; tmpfs pages uncounted",
        ),
        ("pids cgroup", "only RLIMIT_NPROC, which counts every process of the sandbox user on the host"),
        ("CPU quota (Limits.cpus)", "none: a job can busy every core up to its process limit"),
    ]
    if os.geteuid() != 0:
        gaps.append(("per-sandbox user", "not root: RLIMIT_NPROC counts all of this user's processes"))
    return gaps


def _system_python() -> str:
    """A Python outside any private home directory, readable by the unprivileged sandbox user."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if candidate and os.access(candidate, os.X_OK) and not candidate.startswith(("/root", "/home")):
            return candidate
    raise BackendUnavailable("no system python3 outside /root or /home for the bubblewrap sandbox")


log = logging.getLogger(__name__)
BACKENDS = ("auto", "docker", "process")


def make_backend(backend: str, limits: Limits, image: str | None = None) -> DockerBackend | ProcessBackend:
    if backend not in BACKENDS:
        raise ValueError(f"unknown sandbox backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "docker":
        return DockerBackend(limits, image)
    if backend == "process":
        return ProcessBackend(limits)
    try:
        return DockerBackend(limits, image)
    except BackendUnavailable as exc:
        log.warning("%s; falling back to the bubblewrap process sandbox", exc)
        return ProcessBackend(limits)


def make_backend_or_none(
    backend: str, limits: Limits
) -> tuple[DockerBackend | ProcessBackend | None, str | None]:
    try:
        return make_backend(backend, limits), None
    except BackendUnavailable as exc:
        return None, str(exc)
