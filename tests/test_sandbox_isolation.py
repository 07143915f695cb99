"""Per-job isolation inside one long-lived sandbox, on both backends, and what each backend enforces."""

from __future__ import annotations

import pytest
from sandboxes import BACKENDS, open_sandbox, run

from codepref.sandbox import Job, Limits, Sandbox, Status
from codepref.sandbox.backends import OWNER_LABEL, docker_client, owner_id, reap_orphans, unenforced_limits
from codepref.sandbox.image import content_hash, find_image, image_tag

LIMITS = Limits(timeout_s=5.0, cpu_s=5, memory_mb=256, pids=32, output_bytes=1 << 16)


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, LIMITS) as box:
        yield box


# ------------------------------------------------------------------------------------------ IPC and /dev

LEAVE_IPC_BEHIND = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
IPC_PRIVATE, IPC_CREAT = 0, 0o1000
segment = libc.shmget(IPC_PRIVATE, 1 << 20, IPC_CREAT | 0o600)
semaphores = libc.semget(IPC_PRIVATE, 4, IPC_CREAT | 0o600)
queue = libc.msgget(IPC_PRIVATE, IPC_CREAT | 0o600)
assert min(segment, semaphores, queue) >= 0, ctypes.get_errno()
open("/dev/shm/posix-segment", "wb").write(b"x" * 4096)
if os.path.isdir("/dev/mqueue"):
    librt = ctypes.CDLL("librt.so.1", use_errno=True)
    assert librt.mq_open(b"/left-behind", os.O_CREAT | os.O_RDWR, 0o600, None) >= 0, ctypes.get_errno()
    print(os.listdir("/dev/mqueue"))
"""

FIND_IPC = """
import os
for table in ("shm", "sem", "msg"):
    rows = open(f"/proc/sysvipc/{table}").read().splitlines()[1:]
    assert rows == [], (table, rows)
assert os.listdir("/dev/shm") == []
assert not os.path.isdir("/dev/mqueue") or os.listdir("/dev/mqueue") == []
"""


def test_ipc_objects_of_one_job_are_gone_before_the_next(sandbox):
    # ctypes is refused to the job itself, not to a program it starts (which cannot reach the job's memory)
    program = (
        "import subprocess, sys\n"
        f"done = subprocess.run([sys.executable, '-c', {LEAVE_IPC_BEHIND!r}], capture_output=True, text=True)\n"
        "print(done.stdout + done.stderr, end='')\n"
    )
    left = run(sandbox, program)
    assert left.passed, left.stderr
    assert left.stdout == "['left-behind']\n"  # both backends mount /dev/mqueue, so it can be wiped
    verdict = run(sandbox, FIND_IPC)
    assert verdict.passed, verdict.stderr


def test_dev_is_not_writable_and_dev_shm_is_capped(sandbox):
    assert run(sandbox, "open('/dev/new-file', 'w')").status == Status.FAILED
    flood = run(sandbox, "open('/dev/shm/big', 'wb').write(b'x' * (16 << 20))")
    assert flood.status == Status.FAILED and "No space left" in flood.error
    assert run(sandbox, "open('/dev/null', 'w').write('fine')").passed


# ------------------------------------------------------------------------------------------ CPU


def test_per_test_limits_are_cpu_time_not_wall_time(sandbox):
    tests = ["import time; time.sleep(0.5)", "while True: pass", "assert 1 + 1 == 2"]
    verdict = run(sandbox, "x = 1", tests, test_timeout_s=0.2)
    assert [t.status for t in verdict.tests] == [Status.PASSED, Status.TIMEOUT, Status.PASSED]


def test_a_test_blocked_past_its_wall_backstop_times_out(sandbox):
    verdict = run(sandbox, "x = 1", ["import time; time.sleep(5)"], test_timeout_s=0.2)
    assert verdict.tests[0].status == Status.TIMEOUT and "wall time" in verdict.tests[0].error


@pytest.mark.docker
def test_each_container_has_a_cpu_quota(docker_image):
    program = (
        "import os\n"
        "for path in ('/sys/fs/cgroup/cpu.max', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'):\n"
        "    if os.path.exists(path):\n"
        "        print(open(path).read().split()[0])\n"
    )
    with Sandbox(backend="docker", workers=1, limits=Limits(cpus=0.5)) as box:
        quota = int(box.run(Job(program)).stdout.split()[0])
    assert quota == 50000  # 0.5 of the default 100 ms period


# ------------------------------------------------------------------------------------------ statuses


def test_a_job_that_kills_itself_is_not_reported_as_out_of_memory(sandbox):
    verdict = run(sandbox, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", ["assert True"])
    assert verdict.status == Status.FAILED and verdict.signal == 9
    assert verdict.error == "killed by signal 9 SIGKILL"


@pytest.mark.docker
def test_a_kill_by_the_memory_cgroup_is_memory_exceeded(docker_image):
    """tmpfs pages count against the container's memory cgroup but not RLIMIT_AS: the cgroup OOM-kills."""
    program = "for i in range(8):\n    open(f'/tmp/fill{i}', 'wb').write(b'x' * (15 << 20))\n"
    limits = Limits(memory_mb=96, tmpfs_mb=160, file_size_mb=16)
    with Sandbox(backend="docker", workers=1, limits=limits) as box:
        verdict = box.run(Job(program))
        assert box.run(Job("print('the runner survived')")).stdout == "the runner survived\n"
    assert verdict.status == Status.MEMORY_EXCEEDED, verdict
    assert verdict.error == "killed by the sandbox's memory limit (OOM)"


def test_without_tests_the_exit_status_decides(sandbox):
    assert run(sandbox, "import sys\nsys.exit(0)").status == Status.PASSED
    assert run(sandbox, "import os\nos._exit(0)").status == Status.PASSED
    failed = run(sandbox, "import sys\nsys.exit(3)")
    assert failed.status == Status.FAILED and failed.exit_code == 3
    assert run(sandbox, "raise ValueError").exit_code == 1


def test_with_tests_an_exit_in_the_program_fails(sandbox):
    verdict = run(sandbox, "import sys\nsys.exit(0)", ["assert True"])
    assert verdict.status == Status.FAILED and verdict.tests[0].error.startswith("not run")


# ------------------------------------------------------------------------------------------ host side


def test_the_two_image_recipes_get_different_tags():
    assert content_hash("dockerfile") != content_hash("offline")
    assert image_tag("dockerfile") != image_tag("offline")
    assert image_tag("offline").startswith("codepref-sandbox:offline-")


def test_doctor_names_the_limits_the_process_backend_cannot_enforce():
    names = [limit for limit, _ in unenforced_limits()]
    assert "memory cgroup" in names and "CPU quota (Limits.cpus)" in names


@pytest.mark.docker
def test_the_reaper_removes_only_dead_owners_of_this_host(docker_image):
    client = docker_client()
    boot_and_namespace = owner_id().rsplit(":", 2)[0]
    labels = {
        "dead owner here": f"{boot_and_namespace}:999999:12345",
        "live owner here": owner_id(),
        "reused pid here": f"{owner_id().rsplit(':', 1)[0]}:1",
        "another host": "other-boot:pid:[1]:1:1",
    }
    containers = {
        name: client.containers.run(
            find_image(client),
            ["sleep", "60"],
            detach=True,
            labels={"codepref.sandbox": "1", OWNER_LABEL: label},
            network_mode="none",
        )
        for name, label in labels.items()
    }
    try:
        reap_orphans(client)
        alive = {c.id for c in client.containers.list(all=True)}
        assert {name for name, c in containers.items() if c.id in alive} == {
            "live owner here",
            "another host",
        }
    finally:
        for container in containers.values():
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - already reaped
                pass
