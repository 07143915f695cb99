"""How to start one sandbox process: a locked-down Docker container, or bubblewrap where Docker is missing.

Both run the same runner as PID 1 of a fresh PID namespace, with no network, a read-only root, a small
tmpfs as the only writable place, a non-root user and no capabilities.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

import docker
import docker.errors

from codepref.sandbox.image import RUNNER_PATH_IN_IMAGE, SANDBOX_UID, image_exists, image_tag, runner_source
from codepref.sandbox.pool import SandboxProcess
from codepref.sandbox.types import Limits

CONTAINER_LABEL = "codepref.sandbox"
OWNER_LABEL = "codepref.owner"
JOBS_PER_CONTAINER = 1000
NOBODY = 65534


class BackendUnavailable(RuntimeError):
    pass


def runner_limits(limits: Limits, nproc: int | None = None) -> str:
    settings = asdict(limits) | {"jobs_per_container": JOBS_PER_CONTAINER}
    if nproc:
        settings["nproc"] = nproc
    return json.dumps(settings)


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------------------------------------- docker


class DockerBackend:
    name = "docker"

    def __init__(self, limits: Limits, image: str | None = None) -> None:
        self.limits = limits
        self.client = docker_client()
        self.image = image or image_tag()
        if not image_exists(self.client, self.image):
            raise BackendUnavailable(
                f"sandbox image {self.image} is missing: build it with `codepref sandbox build --offline`"
            )
        self.owner = owner_id()
        reap_orphans(self.client)

    def argv(self) -> list[str]:
        limits = self.limits
        return [
            "docker", "run", "-i", "--rm",
            "--name", f"codepref-sbx-{uuid.uuid4().hex[:12]}",
            "--label", f"{CONTAINER_LABEL}=1", "--label", f"{OWNER_LABEL}={self.owner}",
            "--network", "none",
            "--read-only",
            "--tmpfs", f"/tmp:rw,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777",
            "--ipc", "private", "--shm-size", "8m",
            "--user", f"{SANDBOX_UID}:{SANDBOX_UID}",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m",
            "--pids-limit", str(limits.pids),
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
    """Remove sandbox containers whose owning process on this host is gone (left by a crashed run)."""
    host = socket.gethostname()
    removed = 0
    for container in client.containers.list(
        all=True, filters={"label": CONTAINER_LABEL}, ignore_removed=True
    ):
        owner_host, _, pid = container.labels.get(OWNER_LABEL, ":").partition(":")
        if owner_host == host and pid.isdigit() and _process_alive(int(pid)):
            continue
        _remove(container)
        removed += 1
    return removed


def remove_containers(client: docker.DockerClient, owner: str) -> None:
    for container in client.containers.list(
        all=True, filters={"label": f"{OWNER_LABEL}={owner}"}, ignore_removed=True
    ):
        _remove(container)


def _remove(container) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


# ---------------------------------------------------------------------------------------------- bubblewrap


class ProcessBackend:
    """The runner under bubblewrap: new user, PID, network, IPC, UTS and mount namespaces, read-only system."""

    name = "process"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise BackendUnavailable("bubblewrap is not installed (apt-get install -y bubblewrap)")
        self.python = _system_python()
        self.runner = str(runner_source())

    def argv(self) -> list[str]:
        argv = [
            self.bwrap, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
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
        argv += [
            "--ro-bind", self.runner, RUNNER_PATH_IN_IMAGE,
            "--proc", "/proc", "--dev", "/dev",
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
        return SandboxProcess(self.argv(), options)

    def close(self) -> None:
        pass


def _system_python() -> str:
    """A Python outside any private home directory, readable by the unprivileged sandbox user."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if candidate and os.access(candidate, os.X_OK) and not candidate.startswith(("/root", "/home")):
            return candidate
    raise BackendUnavailable("no system python3 outside /root or /home for the bubblewrap sandbox")
