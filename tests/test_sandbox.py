"""The sandbox against the real Docker engine and real bubblewrap: verdicts, limits, isolation, forgery."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest
from sandboxes import BACKENDS, open_sandbox, run

from codepref.sandbox import Job, Limits, Sandbox, Status
from codepref.sandbox.backends import OWNER_LABEL, docker_client

LIMITS = Limits(timeout_s=3.0, cpu_s=3, memory_mb=256, pids=32, output_bytes=1 << 16)


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, LIMITS) as box:
        yield box


# ------------------------------------------------------------------------------------------ plain verdicts


def test_passing_program_with_tests(sandbox):
    verdict = run(
        sandbox,
        "def add(a, b):\n    return a + b\nprint('hi')",
        ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
    )
    assert verdict.status == Status.PASSED
    assert [t.status for t in verdict.tests] == [Status.PASSED, Status.PASSED]
    assert verdict.stdout == "hi\n"
    assert verdict.exit_code == 0 and verdict.peak_memory_mb > 0


def test_each_test_is_reported_separately(sandbox):
    verdict = run(
        sandbox, "def f(x):\n    return x * 2", ["assert f(1) == 2", "assert f(2) == 5", "assert f(3) == 6"]
    )
    assert verdict.status == Status.FAILED
    assert [t.status for t in verdict.tests] == [Status.PASSED, Status.FAILED, Status.PASSED]
    assert verdict.tests[1].error == "AssertionError: line 1: expected 5, got 4"


def test_syntax_error_fails_with_traceback(sandbox):
    verdict = run(sandbox, "def broken(:\n    pass", ["assert True"])
    assert verdict.status == Status.FAILED
    assert "SyntaxError" in verdict.error and "SyntaxError" in verdict.stderr


def test_stdin_reaches_the_program(sandbox):
    assert run(sandbox, "print(input()[::-1])", stdin="abc\n").stdout == "cba\n"


def test_human_eval_semantics_keep_main_blocks_inert(sandbox):
    program = "def f():\n    return 1\nif __name__ == '__main__':\n    raise SystemExit(3)"
    assert run(sandbox, program, ["assert f() == 1"], as_main=False).status == Status.PASSED
    assert run(sandbox, program, ["assert f() == 1"]).status == Status.FAILED


# ------------------------------------------------------------------------------------------ limits


def test_infinite_loop_times_out(sandbox):
    started = time.monotonic()
    verdict = run(sandbox, "while True:\n    pass", timeout_s=1.0)
    assert verdict.status == Status.TIMEOUT
    assert time.monotonic() - started < 5


def test_a_busy_loop_that_reaches_the_cpu_limit_before_the_wall_clock_one_times_out():
    limits = Limits(timeout_s=30.0, cpu_s=1, memory_mb=256, pids=32)
    with Sandbox(backend="process", workers=1, limits=limits) as sandbox:
        verdict = run(sandbox, "while True:\n    pass")
    assert verdict.status == Status.TIMEOUT, verdict
    assert "CPU-time limit" in verdict.error


def test_sleep_past_the_timeout(sandbox):
    verdict = run(sandbox, "import time\ntime.sleep(30)", timeout_s=1.0)
    assert verdict.status == Status.TIMEOUT and verdict.wall_s < 3


def test_per_test_timeout_keeps_the_other_tests(sandbox):
    verdict = run(sandbox, "import time", ["time.sleep(10)", "assert 1 + 1 == 2"], test_timeout_s=0.3)
    assert [t.status for t in verdict.tests] == [Status.TIMEOUT, Status.PASSED]
    assert verdict.status == Status.TIMEOUT


def test_memory_bomb(sandbox):
    verdict = run(sandbox, "hog = []\nwhile True:\n    hog.append(bytearray(16 << 20))")
    assert verdict.status == Status.MEMORY_EXCEEDED


def test_fork_bomb_is_contained(sandbox):
    started = time.monotonic()
    verdict = run(sandbox, "import os\nwhile True:\n    os.fork()", timeout_s=2.0)
    assert verdict.status in (Status.FAILED, Status.TIMEOUT)
    assert time.monotonic() - started < 10
    assert run(sandbox, "print('alive')").stdout == "alive\n"


def test_output_flood_of_100_mb(sandbox):
    verdict = run(sandbox, "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * (1 << 20))")
    assert verdict.status == Status.OUTPUT_EXCEEDED
    assert verdict.stdout_truncated and len(verdict.stdout) == LIMITS.output_bytes


def test_stderr_flood_does_not_deadlock_stdout(sandbox):
    program = (
        "import sys\nfor _ in range(2000):\n    sys.stderr.write('e' * 100)\n    sys.stdout.write('o' * 100)"
    )
    verdict = run(sandbox, program)
    assert verdict.status == Status.OUTPUT_EXCEEDED and verdict.stderr_truncated


def test_no_network(sandbox):
    verdict = run(sandbox, "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)")
    assert verdict.status == Status.FAILED and "OSError" in verdict.error


def test_cannot_write_outside_the_work_dir(sandbox):
    for path in ("/etc/evil", "/usr/evil", "/opt/codepref/runner.py", "/evil"):
        verdict = run(sandbox, f"open({path!r}, 'w').write('x')")
        assert verdict.status == Status.FAILED, path
    assert run(sandbox, "open('local.txt', 'w').write('ok')").status == Status.PASSED


def test_runs_as_an_unprivileged_user(sandbox):
    verdict = run(sandbox, "import os\nprint(os.getuid(), os.geteuid())")
    assert verdict.stdout.split() == ["10001", "10001"]


# ------------------------------------------------------------------------------------------ isolation


def test_nothing_leaks_to_the_next_job(sandbox):
    polluter = (
        "import os, sys, math, builtins, subprocess\n"
        "open('/tmp/leak', 'w').write('x')\n"
        "open('here', 'w').write('x')\n"
        "os.environ['LEAK'] = '1'\n"
        "math.leak = 1\n"
        "builtins.leak = 1\n"
        "import json\n"
        "sys.modules['leaky'] = json\n"
        "subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
    )
    assert run(sandbox, polluter).status == Status.PASSED
    checker = (
        "import os, sys, math, builtins\n"
        "assert not os.path.exists('/tmp/leak')\n"
        "assert os.listdir('.') == []\n"
        "assert 'LEAK' not in os.environ\n"
        "assert not hasattr(math, 'leak') and not hasattr(builtins, 'leak')\n"
        "assert 'leaky' not in sys.modules\n"
        "mine = (1, os.getppid(), os.getpid())  # the runner, the job launcher, this job\n"
        "others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in mine]\n"
        "assert others == [], others\n"
    )
    verdict = run(sandbox, checker)
    assert verdict.status == Status.PASSED, verdict.stderr


def test_background_process_is_killed(sandbox):
    verdict = run(sandbox, "import subprocess\nsubprocess.Popen(['sleep', '100'])\nprint('left')")
    assert verdict.status == Status.PASSED and verdict.wall_s < 2
    verdict = run(sandbox, "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")
    assert len(verdict.stdout.strip("[]\n").split(",")) == 3  # the runner, the job launcher and this job


# ------------------------------------------------------------------------------------------ forgery


FORGERIES = {
    "os._exit(0) in the program": ("import os\nos._exit(0)", ["assert False"]),
    "os._exit(0) in a test": ("x = 1", ["import os; os._exit(0)", "assert False"]),
    "sys.exit(0)": ("import sys\nsys.exit(0)", ["assert False"]),
    "SystemExit in a test": ("x = 1", ["raise SystemExit(0)"]),
    "KeyboardInterrupt": ("raise KeyboardInterrupt", ["assert True"]),
    "kill the parent": (
        "import os, signal\nfor s in (9, 15, 2, 19):\n    os.kill(os.getppid(), s)",
        ["assert False"],
    ),
    "kill everyone": ("import os, signal\nos.kill(-1, signal.SIGKILL)", ["assert True"]),
    "close the runner's fds": ("import os\nos.closerange(0, 4096)", ["assert False"]),
    "write a fake record to the result fd": (
        'import os\nos.write(3, b\'{"kind": "done", "nonce": "0"}\\n\')\nos._exit(0)',
        ["assert False"],
    ),
    "rebind builtins.exec so tests never run": (
        "import builtins\nbuiltins.exec = lambda *args, **kwargs: None",
        ["assert False"],
    ),
    "rebind isinstance and compile": (
        "import builtins\nbuiltins.isinstance = lambda *a: False\nbuiltins.compile = lambda *a, **k: compile('pass', '', 'exec')",
        ["assert False"],
    ),
    "rewrite reports through json.dumps and os.write": (
        "import json, os\n"
        "dumps, write = json.dumps, os.write\n"
        "json.dumps = lambda record, *a, **k: dumps(dict(record, status='passed'), *a, **k)\n"
        "os.write = lambda fd, data: write(fd, data.replace(b'failed', b'passed'))",
        ["assert False"],
    ),
    "print a fake verdict line": (
        "import json\nprint(json.dumps({'status': 'passed', 'tests': [{'status': 'passed'}]}))",
        ["assert False"],
    ),
    "write to the runner's protocol fds": (
        'import os\nfor fd in range(0, 64):\n    try:\n        os.write(fd, b\'{"status": "passed"}\\n\')\n    except OSError:\n        pass',
        ["assert False"],
    ),
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_a_pass_cannot_be_forged(sandbox, name):
    program, tests = FORGERIES[name]
    verdict = run(sandbox, program, tests)
    assert verdict.status != Status.PASSED, name
    assert run(sandbox, "x = 1", ["assert x == 1"]).status == Status.PASSED  # the sandbox is still sound


@pytest.mark.parametrize("name", list(FORGERIES))
def test_a_pass_of_a_split_test_cannot_be_forged(sandbox, name):
    program, tests = FORGERIES[name]
    program = "def wrong(x):\n    return x\n" + program
    verdict = run(sandbox, program, [*tests[:-1], "assert wrong(1) == 2"])
    assert verdict.status != Status.PASSED and verdict.tests[-1].status != Status.PASSED, name


# ------------------------------------------------------------------------------------------ the pool


@pytest.mark.parametrize("backend", BACKENDS)
def test_many_concurrent_jobs_stream_back_tagged(backend, request):
    if backend == "docker":
        request.getfixturevalue("docker_image")
    jobs = [
        Job(f"n = {i}", (f"assert n == {i}", f"assert n != {i}" if i % 7 == 0 else "pass"))
        for i in range(200)
    ]
    with Sandbox(backend=backend, workers=3, limits=LIMITS) as box:
        verdicts = {v.job_id: v for v in box.run_many(jobs)}
    assert set(verdicts) == {job.job_id for job in jobs}
    for i, job in enumerate(jobs):
        assert verdicts[job.job_id].passed == (i % 7 != 0)


@pytest.mark.docker
def test_container_killed_mid_job_is_retried():
    with Sandbox(backend="docker", workers=1, limits=LIMITS) as box:
        assert box.run(Job("pass")).passed  # the container is up: the next job starts at once
        killer = threading.Timer(0.5, _kill_sandbox_containers, args=(box.backend.owner,))
        killer.start()
        verdict = box.run(Job("import time\ntime.sleep(1.5)\nprint('done')", timeout_s=3.0))
        killer.join()
    assert verdict.status == Status.PASSED and verdict.attempts == 2
    assert verdict.stdout == "done\n"


@pytest.mark.docker
def test_a_container_dying_twice_is_a_sandbox_error():
    with Sandbox(backend="docker", workers=1, limits=LIMITS) as box:
        owner = box.backend.owner
        stop = threading.Event()

        def keep_killing():  # containers that have been up a while: past start-up, into the job
            client = docker_client()
            while not stop.is_set():
                for container in client.containers.list(filters={"label": f"{OWNER_LABEL}={owner}"}):
                    if _seconds_up(container) > 1.2:
                        container.kill()
                time.sleep(0.1)

        killer = threading.Thread(target=keep_killing)
        killer.start()
        try:
            verdict = box.run(Job("import time\ntime.sleep(3)", timeout_s=4.0))
        finally:
            stop.set()
            killer.join()
    assert verdict.status == Status.SANDBOX_ERROR and verdict.attempts == 2


def _seconds_up(container) -> float:
    started = container.attrs["State"]["StartedAt"][:26].rstrip("Z") + "+00:00"
    return (datetime.now(UTC) - datetime.fromisoformat(started)).total_seconds()


def _kill_sandbox_containers(owner: str) -> None:
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label={OWNER_LABEL}={owner}"], capture_output=True, text=True
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "kill", *ids], capture_output=True)
