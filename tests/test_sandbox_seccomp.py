"""The process backend's seccomp filter: what a job may no longer call, what still works, and the checks.

Each refused call is made with arguments for which the kernel itself would answer something other than
EPERM (or succeed), so only the filter can make it EPERM: without the filter these tests fail.
"""

from __future__ import annotations

import errno
import sys
import uuid

import pytest
from sandboxes import BACKENDS, open_sandbox, run
from typer.testing import CliRunner

from codepref.cli import app
from codepref.sandbox import BackendUnavailable, Limits, Sandbox
from codepref.sandbox.backends import ProcessBackend
from codepref.sandbox.pool import SandboxStartError
from codepref.sandbox.seccomp import allowed_syscalls, syscall_number

LIMITS = Limits(timeout_s=20.0, cpu_s=10, memory_mb=512, pids=32)


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, LIMITS) as box:
        yield box


@pytest.fixture(scope="module")
def process_sandbox():
    with Sandbox(backend="process", workers=1, limits=LIMITS) as box:
        yield box


def call(name: str, *args: int | str, before: str = "", after: str = "") -> str:
    """A job that makes one raw syscall and prints its result and errno (strings are Python source).

    The call is made by a Python the job starts: the job itself is refused ctypes (sandbox/runner.py's
    guard), a program it starts is not, and inherits every seccomp filter."""
    values = ", ".join(f"ctypes.c_long({arg})" if isinstance(arg, int) else arg for arg in args)
    code = f"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
{before}
result = libc.syscall(ctypes.c_long({syscall_number(name)}), {values})
errno = ctypes.get_errno()
{after}
print(result, errno)
"""
    return (
        "import subprocess, sys\n"
        f"done = subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, text=True)\n"
        "print(done.stdout, end='')\n"
        "print(done.stderr, end='', file=sys.stderr)\n"
    )


EPERM = f"-1 {errno.EPERM}\n"
KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING = -4, -3
KEYCTL_GET_KEYRING_ID, KEYCTL_SEARCH = 0, 10
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
BAD_POINTER = "ctypes.c_void_p(1)"


# ------------------------------------------------------------------------------------------ keyrings


def test_add_key_and_keyctl_fail_with_eperm(process_sandbox):
    add_key = call("add_key", 'b"user"', 'b"codepref-job"', 'b"secret"', 6, KEY_SPEC_USER_KEYRING)
    keyctl = call("keyctl", KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1)
    request_key = call("request_key", 'b"user"', 'b"codepref-job"', "None", 0)
    for program in (add_key, keyctl, request_key):
        verdict = run(process_sandbox, program)
        assert verdict.passed and verdict.stdout == EPERM, (program, verdict.stdout, verdict.stderr)


def test_a_key_one_job_adds_to_its_keyring_cannot_be_read_by_the_next_job(sandbox):
    description = f'b"codepref-{uuid.uuid4().hex}"'
    add = call("add_key", 'b"user"', description, 'b"secret"', 6, KEY_SPEC_USER_KEYRING)
    keys = "print(open('/proc/keys').read() if os.path.exists('/proc/keys') else '')"
    search = call("keyctl", KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, 'b"user"', description, 0, after=keys)
    assert run(sandbox, add).stdout == EPERM
    found = run(sandbox, search)
    assert found.passed, found.stderr
    assert found.stdout.endswith(EPERM) and "codepref-" not in found.stdout


# ------------------------------------------------------------------------------------------ refused calls

# A child that waits to be traced, and is gone once the attempt is made. It makes itself dumpable again
# (the runner makes jobs non-dumpable), so that only the filter stands between its parent and ptrace.
CHILD = """
ready, told = os.pipe()
child = os.fork()
if child == 0:
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    os.write(told, b"x")
    os.pause()
os.read(ready, 1)
"""
KILL_CHILD = "os.kill(child, 9); os.waitpid(child, 0)"
# Were clone allowed, its child (result 0) would leave here; the parent reaps it.
REAP_CLONE = "if result == 0: os._exit(0)\nif result > 0: os.waitpid(result, 0)"

REFUSED = {
    "unshare-new-user-namespace": call("unshare", CLONE_NEWUSER),
    "clone-with-a-namespace-flag": call("clone", CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, after=REAP_CLONE),
    "ptrace-traceme": call("ptrace", 0, 0, 0, 0),
    "ptrace-attach-to-a-child": call(
        "ptrace", 16, "ctypes.c_long(child)", 0, 0, before=CHILD, after=KILL_CHILD
    ),
    "process_vm_readv-of-itself": call(
        "process_vm_readv", "ctypes.c_long(os.getpid())", "None", 0, "None", 0, 0
    ),
    "bpf": call("bpf", 0, BAD_POINTER, 64),
    "userfaultfd-user-mode-only": call("userfaultfd", 1),
    "perf_event_open": call("perf_event_open", "None", 0, -1, -1, 0),
    "mount": call("mount", "None", 'b"/tmp"', BAD_POINTER, 0, "None"),
    "setns": call("setns", -1, 0),
    "io_uring_setup": call("io_uring_setup", 1, "None"),
    "name_to_handle_at": call("name_to_handle_at", -100, 'b"/"', "None", "None", 0),
    "personality-no-aslr": call("personality", 0x0040000),
}


@pytest.mark.parametrize("program", REFUSED.values(), ids=REFUSED.keys())
def test_calls_that_escape_or_keep_state_fail_with_eperm(process_sandbox, program):
    verdict = run(process_sandbox, program)
    assert verdict.passed and verdict.stdout == EPERM, verdict.stdout + verdict.stderr


def test_clone3_fails_with_enosys_so_libc_falls_back_to_clone(process_sandbox):
    verdict = run(process_sandbox, call("clone3", "None", 0))
    assert verdict.passed and verdict.stdout == f"-1 {errno.ENOSYS}\n", verdict.stdout + verdict.stderr


def test_the_filter_allows_none_of_the_calls_docker_refuses_and_a_few_more():
    refused = """add_key request_key keyctl ptrace process_vm_readv process_vm_writev bpf userfaultfd
    perf_event_open mount umount2 pivot_root move_mount open_tree fsopen fsmount fsconfig fspick mount_setattr
    unshare setns clone3 kexec_load kexec_file_load init_module finit_module delete_module reboot swapon
    swapoff acct quotactl quotactl_fd lookup_dcookie name_to_handle_at open_by_handle_at personality syslog
    vhangup iopl ioperm settimeofday clock_settime adjtimex clock_adjtime mbind migrate_pages move_pages
    set_mempolicy get_mempolicy io_uring_setup io_uring_enter io_uring_register chroot sethostname
    setdomainname fanotify_init kcmp pidfd_getfd process_madvise""".split()
    allowed = set(allowed_syscalls())  # unconditionally; clone, personality and socket only with conditions
    assert allowed.isdisjoint(refused), sorted(allowed & set(refused))
    assert {"clone", "socket"}.isdisjoint(allowed) and {"fork", "pidfd_open", "splice", "wait4"} <= allowed


# ------------------------------------------------------------------------------------------ what still works

ORDINARY = {
    "fork-and-wait": """
import os
pid = os.fork()
if pid == 0:
    os._exit(7)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7
""",
    "subprocess": """
import subprocess, sys
subprocess.run(["/bin/true"], check=True)
out = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True, check=True)
assert out.stdout == "42\\n", out
""",
    "threads": """
import threading
seen = []
threads = [threading.Thread(target=seen.append, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert sorted(seen) == list(range(8))
""",
    "multiprocessing-fork": """
import multiprocessing
with multiprocessing.get_context("fork").Pool(2) as pool:
    assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]
""",
    "pipe-mmap-files-time-random": """
import mmap, os, random, time, tempfile
read_end, write_end = os.pipe()
os.write(write_end, b"ping"); assert os.read(read_end, 4) == b"ping"
with mmap.mmap(-1, 1 << 20) as block:
    block[:5] = b"hello"; assert block[:5] == b"hello"
assert "root" in open("/etc/passwd").read()
with tempfile.NamedTemporaryFile("w+") as handle:
    handle.write("data"); handle.seek(0); assert handle.read() == "data"
start = time.monotonic(); time.sleep(0.01); assert time.monotonic() - start >= 0.01 and time.time() > 0
assert len(os.urandom(16)) == 16 and 0 <= random.SystemRandom().random() < 1
""",
}


@pytest.mark.parametrize("program", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_code_still_passes(sandbox, program):
    verdict = run(sandbox, program)
    assert verdict.passed, verdict.stderr


# ------------------------------------------------------------------------------------------ refusing to start


def test_a_filter_bubblewrap_cannot_load_stops_the_sandbox_from_starting():
    backend = ProcessBackend(LIMITS)
    backend.seccomp = backend.seccomp[:-1]  # not a whole number of BPF instructions
    with pytest.raises(SandboxStartError, match="seccomp"):
        backend.start()


def test_without_pyseccomp_the_process_backend_refuses_to_start_and_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # what `import pyseccomp` meets when not installed
    with pytest.raises(BackendUnavailable, match=r"pip install pyseccomp==") as refused:
        ProcessBackend(LIMITS)
    assert "\n" not in str(refused.value)


def test_doctor_says_the_seccomp_filter_is_active_on_the_process_backend():
    result = CliRunner().invoke(app, ["sandbox", "doctor"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    process = next(i for i, line in enumerate(lines) if line.startswith("process"))
    assert lines[process].split()[1] == "ok" and lines[process + 1].split() == [
        "seccomp",
        "filter:",
        "active",
    ]
