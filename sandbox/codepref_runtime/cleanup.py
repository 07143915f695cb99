"""After each job: kill whatever it left running, wipe the writable places, remove System V IPC objects,
and read the memory cgroup's OOM kills. The runner calls these between jobs."""

import os
import shutil
import signal
import time

from codepref_runtime.common import LIBC

WIPE_DIRS = ("/tmp", "/dev/shm", "/dev/mqueue")  # POSIX shared memory and message queues live in the last two
SYSV_IPC = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}  # /proc/sysvipc table -> its libc control call
IPC_RMID = 0
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_everything_else(spare) -> bool:
    """SIGKILL every process in this PID namespace but this one and `spare` (the launcher, while it lives):
    only jobs live here; True if any was found."""
    keep = {os.getpid(), spare}
    found = False
    for _ in range(50):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in keep]
        alive = [p for p in others if not _is_zombie(p)]
        for p in alive:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap_all()
        if not others:
            return found
        found = found or bool(alive)
        time.sleep(0.001)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wipe_writable_dirs() -> bool:
    ok = True
    for top in WIPE_DIRS:
        if not os.path.isdir(top):
            continue
        for entry in os.listdir(top):
            path = os.path.join(top, entry)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, onerror=_force_remove)
                else:
                    os.unlink(path)
            except (
                OSError,
                RecursionError,
            ):  # a tree deeper than rmtree can recurse: the sandbox is recycled
                ok = False
        ok = ok and not os.listdir(top)
    return ok


def _force_remove(func, path, _exc_info) -> None:
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path):
        os.chmod(path, 0o700)
    func(path)


def remove_sysv_ipc() -> bool:
    """Remove every System V shared memory segment, semaphore set and message queue a job left behind.

    The IPC namespace belongs to the whole sandbox, not to one job: without this, the next job could read
    them, and a segment would keep counting against the sandbox's memory. True when none is left.
    """
    removed = False
    for table, call in SYSV_IPC.items():
        for ipc_id in _sysv_ids(table):
            removed = True
            if call == "semctl":
                LIBC.semctl(ipc_id, 0, IPC_RMID)
            else:
                getattr(LIBC, call)(ipc_id, IPC_RMID, None)
    return not removed or not any(_sysv_ids(table) for table in SYSV_IPC)


def _sysv_ids(table: str) -> list:
    try:
        with open(f"/proc/sysvipc/{table}") as listing:
            rows = listing.read().splitlines()[1:]
    except OSError:
        return []
    return [int(row.split()[1]) for row in rows if row.strip()]


def _oom_counter():
    """The file counting the sandbox's memory-cgroup OOM kills (cgroup v2 or v1); None where there is none."""
    return next((path for path in OOM_COUNTERS if os.path.exists(path)), None)


OOM_COUNTER = _oom_counter()


def oom_kills():
    """How many processes the sandbox's memory cgroup has OOM-killed so far; None where it cannot be read."""
    if OOM_COUNTER is None:
        return None
    try:
        with open(OOM_COUNTER) as counters:
            for line in counters:
                name, _, count = line.partition(" ")
                if name == "oom_kill":
                    return int(count)
    except (OSError, ValueError):
        pass
    return None
