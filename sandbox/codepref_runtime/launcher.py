"""The launcher: the clean process every job is forked from (see `Launcher`)."""

import os
import socket
import struct
import types

from codepref_runtime.common import WORK_ROOT
from codepref_runtime.job import run_job_process

EXIT_FORMAT = "iddq"  # what the launcher reports of a job's end: wait status, user and system CPU, max RSS
LAUNCH_FDS = ("body", "stdout", "stderr", "result")  # the job's ends of its pipes, in this order
LAUNCHER_WAIT_S = 5.0  # how long a live launcher may take to answer (it reaps a killed job at once)


class LauncherGone(Exception):
    """The launcher died or stopped answering: only a job can have done that (it runs as the same user)."""


class Launcher:
    """The process every job is forked from: forked from the runner once, before any job ran, and given
    nothing of any job but its pipes' descriptors and nonce, so a job's memory holds no earlier job's
    text, values or results (the runner's own memory holds them all, and the runner never forks again).
    It reports each job's pid, then its wait status and resource use."""

    def __init__(self, limits: dict, close_fds: tuple) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            ours.close()
            for fd in close_fds:
                os.close(fd)
            _serve_launches(theirs, limits)
        theirs.close()
        self.channel = ours

    def launch(self, nonce: str, fds: list) -> tuple[int, int]:
        """Start a job on these descriptors; returns its pid and a pidfd (readable once it exits)."""
        socket.send_fds(self.channel, [nonce.encode()], fds)
        self.channel.settimeout(LAUNCHER_WAIT_S)
        try:
            message, pidfds, _, _ = socket.recv_fds(self.channel, 64, 1)
        except OSError as exc:
            raise LauncherGone(f"the job launcher stopped answering ({exc.__class__.__name__})") from None
        if not message or len(pidfds) != 1:
            raise LauncherGone("the job launcher was killed")
        return int(message), pidfds[0]

    def exit_status(self, timeout: float = LAUNCHER_WAIT_S):
        status, user, system, max_rss = struct.unpack(EXIT_FORMAT, self._receive(timeout))
        return status, types.SimpleNamespace(ru_utime=user, ru_stime=system, ru_maxrss=max_rss)

    def _receive(self, timeout: float) -> bytes:
        self.channel.settimeout(timeout)
        try:
            message = self.channel.recv(struct.calcsize(EXIT_FORMAT))
        except OSError as exc:  # socket.timeout included
            raise LauncherGone(f"the job launcher stopped answering ({exc.__class__.__name__})") from None
        if not message:
            raise LauncherGone("the job launcher was killed")
        return message


def _serve_launches(channel: socket.socket, limits: dict) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    workdir = os.path.join(WORK_ROOT, "job")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 64, len(LAUNCH_FDS))
        except OSError:
            os._exit(0)
        if not message or len(fds) != len(LAUNCH_FDS):
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            channel.close()
            run_job_process(
                message.decode(), dict(zip(LAUNCH_FDS, fds, strict=True)), limits, workdir, devnull
            )
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # opened before the reaping below, so the runner's copy is never stale
        socket.send_fds(channel, [b"%d" % pid], [pidfd])
        os.close(pidfd)
        _, status, usage = os.wait4(pid, 0)
        channel.send(struct.pack(EXIT_FORMAT, status, usage.ru_utime, usage.ru_stime, usage.ru_maxrss))
