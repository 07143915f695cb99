"""What the runner keeps from a job's own code, on both backends: the memory of earlier jobs, the tests'
frames and reporter, the job's own memory, signal handlers, and the runner itself.

Memory is read from this host (as root), never by the job: the job is refused every way to read its own.
"""

from __future__ import annotations

import importlib.util

import pytest
from sandboxes import BACKENDS, hold, memory_while_running, open_sandbox, run

from codepref.sandbox import Job, Limits, Sandbox, Status
from codepref.sandbox.image import runner_source

LIMITS = Limits(timeout_s=10.0, cpu_s=10, memory_mb=512, pids=32, output_bytes=1 << 16)
REFUSED = "not allowed in the sandbox"


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, LIMITS) as box:
        yield box


# ------------------------------------------------------------------------------------------ memory


def test_no_earlier_or_queued_job_is_in_a_jobs_memory(sandbox):
    # Each secret is built at run time: the text of the job that holds it never spells it out whole.
    earlier = Job(
        "secret = 'EARLIER' + 'TEXT42'\nprint('EARLIER' + 'OUTPUT42')\ndef f():\n    return 'EARLIER' + 'VALUE42'",
        tests=("assert f() == 'EARLIERVALUE42'",),
    )
    scanner = Job(hold("scan-earlier"))
    queued = [Job("secret = 'QUEUED' + 'TEXT42'\n" * 50) for _ in range(3)]  # sent behind the scanner
    memory, verdicts = memory_while_running(sandbox, [earlier, scanner, *queued], "scan-earlier")
    assert verdicts[earlier.job_id].passed and verdicts[scanner.job_id].passed
    assert b"EARLIEROUTPUT42" in memory["runner"]  # the scan sees what the runner holds: it would find it
    assert b"scan-earlier" in memory["job"]  # and the job's own text
    for secret in (b"EARLIERTEXT42", b"EARLIEROUTPUT42", b"EARLIERVALUE42", b"QUEUEDTEXT42"):
        assert secret not in memory["job"] and secret not in memory["launcher"], secret


def test_a_literal_expected_value_never_enters_the_job(sandbox):
    program = "def f():\n    return 'not found'\n" + hold("scan-expected")
    job = Job(program, tests=("assert f() == 'ZQX7QK3P9W'  # ZQX7QK3P9W",))
    memory, verdicts = memory_while_running(sandbox, [job], "scan-expected")
    assert b"ZQX7QK3P9W" not in memory["job"] and b"ZQX7QK3P9W" not in memory["launcher"]
    assert "expected 'ZQX7QK3P9W', got 'not found'" in verdicts[job.job_id].tests[0].error


@pytest.mark.parametrize(
    "program",
    [
        "import ctypes\nctypes.string_at(id(1), 8)",
        "import ctypes\nctypes.CDLL(None)",
        "open('/proc/self/mem', 'rb')",
        "import os\nos.open('/proc/self/mem', os.O_RDONLY)",
        "import os\nos.chdir('/proc/self')\nopen('mem', 'rb')",
        "import os\nos.symlink('/proc/self/mem', 'm')",
    ],
    ids=["ctypes-read", "ctypes-load", "open", "os-open", "relative", "symlink"],
)
def test_a_job_cannot_read_its_own_memory(sandbox, program):
    verdict = run(sandbox, program)
    assert verdict.status == Status.FAILED and REFUSED in verdict.error, verdict.error


# ------------------------------------------------------------------------------------------ frames


@pytest.mark.parametrize(
    "reach",
    [
        "import sys\nsys._getframe(1)",
        "import inspect\ninspect.currentframe().f_back",
        "import sys\ntry:\n    1 / 0\nexcept ZeroDivisionError as exc:\n    exc.__traceback__.tb_frame",
        "import sys\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    sys.exc_info()[2].tb_frame",
        "def gen():\n    yield 1\ngen().gi_frame",
        "import logging\nlogging.currentframe()",
        "import gc\ngc.get_objects()",
        "import gc\ngc.get_referrers(f)",
        "import sys\nsys.settrace(lambda *a: None)",
        "import sys\nsys.setprofile(lambda *a: None)",
        "import sys\nsys._current_frames()",
        "f.__code__ = f.__code__.replace(co_consts=(None,))",
        "type(f.__code__)(0, 0, 0, 0, 0, 0, b'', (), (), (), 'x', 'x', 'x', 0, b'', b'', (), ())",
        "exec(compile('x = 1', '/usr/lib/python3/dist-packages/evil.py', 'exec'))",
        "import marshal\nmarshal.loads(marshal.dumps(f.__code__))",
    ],
)
def test_the_job_cannot_reach_the_tests_frames_or_objects(sandbox, reach):
    program = "def f(x):\n    " + reach.replace("\n", "\n    ") + "\n    return x\n"
    verdict = run(sandbox, program, ["assert f(1) == 1"])
    assert verdict.status == Status.FAILED and REFUSED in verdict.tests[0].error, verdict.tests[0].error


def test_a_job_cannot_add_an_audit_hook(sandbox):
    """A hook of the job's would be handed what the guard lets through; Python drops it silently."""
    program = (
        "import sys\nseen = []\nsys.addaudithook(lambda *event: seen.append(event))\nopen('/dev/null')\n"
    )
    verdict = run(sandbox, program, ["assert seen == []"])
    assert verdict.passed, verdict.tests


def test_a_trace_function_cannot_skip_a_check(sandbox):
    program = (
        "import sys\ndef f(x):\n    return x + 1\n"
        "def skip(frame, event, arg):\n    return None\n"
        "try:\n    sys.settrace(skip)\nexcept PermissionError:\n    print('refused')\n"
    )
    test = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\ncheck(f)\n"
    verdict = run(sandbox, program, [test])
    assert verdict.stdout == "refused\n" and verdict.status == Status.FAILED


def test_a_job_cannot_install_a_signal_handler(sandbox):
    """Python calls a handler with the interrupted frame: the way back to the tests and the runner."""
    attempts = (
        "import signal\nsignal.signal(signal.SIGUSR1, lambda s, frame: None)",
        "import _imp, importlib.machinery\n"
        "fresh = _imp.create_builtin(importlib.machinery.ModuleSpec('_signal', None))\n"
        "_imp.exec_builtin(fresh)\n"
        "fresh.signal(fresh.SIGUSR1, lambda s, frame: None)",
    )
    for program in attempts:
        verdict = run(sandbox, program)
        assert verdict.status == Status.FAILED and "Operation not permitted" in verdict.error, verdict.error


def test_honest_code_that_reads_frames_inside_the_standard_library_still_runs(sandbox):
    program = (
        "import collections, enum, logging, typing, multiprocessing, subprocess, sys\n"
        "P = collections.namedtuple('P', 'x y')\n"
        "class T(typing.NamedTuple):\n    a: int\n"
        "Colour = enum.Enum('Colour', 'RED GREEN')\n"
        "logging.warning('logged %s', P(1, 2))\n"
        "with multiprocessing.get_context('fork').Pool(2) as pool:\n    print(pool.map(abs, [-1, -4]))\n"
        "print(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout)\n"
    )
    verdict = run(sandbox, program, ["assert T(1).a == 1 and Colour.RED.value == 1"])
    assert verdict.passed, verdict.stderr
    assert verdict.stdout == "[1, 4]\n42\n\n" and "logged P(x=1, y=2)" in verdict.stderr


@pytest.mark.docker
def test_numpy_which_rebuilds_code_objects_as_it_loads_still_runs(docker_image):
    """numpy renames functions with code.replace and its Cython modules build code objects: allowed to
    installed libraries, refused to the job's own code (a compile under a library's name included)."""
    program = (
        "import numpy as np\nprint(np.arange(4).sum(), np.random.default_rng(0).integers(1, 2))\n"
        "try:\n    compile('x = 1', np.__file__, 'exec')\nexcept PermissionError:\n    print('refused')\n"
    )
    with Sandbox(backend="docker", workers=1, limits=LIMITS) as box:
        verdict = box.run(Job(program))
    assert verdict.passed and verdict.stdout == "6 1\nrefused\n", verdict.stderr


def test_a_failing_program_still_gets_its_traceback(sandbox):
    verdict = run(sandbox, "def f():\n    raise ValueError('boom')\nf()")
    assert verdict.status == Status.FAILED and 'File "<program>", line 2, in f' in verdict.stderr


# ------------------------------------------------------------------------------------------ the reporter


def test_rebinding_the_reporters_name_skips_no_check(sandbox):
    program = "__codepref_value__ = lambda *args: None\ndef f(x):\n    return 0\n"
    test = "if True:\n    for x in [1, 2]:\n        assert f(x) == x * 10\n"
    verdict = run(sandbox, program, [test])
    assert verdict.status == Status.FAILED and "expected 10, got 0" in verdict.tests[0].error


def test_shadowing_a_builtin_cannot_empty_a_check_loop(sandbox):
    program = "range = lambda *args: []\nlen = lambda x: 0\ndef f(x):\n    return 0\n"
    test = "def check(candidate):\n    for i in range(1, 3):\n        assert candidate(i) == i\ncheck(f)\n"
    verdict = run(sandbox, program, [test])
    assert verdict.status == Status.FAILED and "expected 1, got 0" in verdict.tests[0].error


def test_the_function_under_test_may_have_a_builtins_name(sandbox):
    program = "def sum(a, b):\n    return min(a, b) - 4\n"  # MBPP 126's function is called sum
    test = "assert sum(10, 15) == 6"
    assert sandbox.run(Job(program, (test,), entry_point="sum")).passed
    assert sandbox.run(Job(program, (test,))).status == Status.FAILED  # any other name: the real builtin


REBIND_THE_RUNNER = """
import builtins, os, signal, sys
def silence(*args, **kwargs):
    return 0
namespaces = [vars(module) for name, module in list(sys.modules.items()) if name.startswith("codepref_runtime")]
namespaces.append(vars(sys.modules["__main__"]))
namespaces += [cls.__init__.__globals__ for cls in object.__subclasses__() if hasattr(cls.__init__, "__globals__")]
namespaces.append(signal.getsignal(signal.SIGPROF).__globals__)
for namespace in namespaces:
    for name in ("_write", "_record", "_value_text", "_plain", "_test_globals", "_refusal", "_getframe"):
        if name in namespace:
            namespace[name] = silence
os.write = silence
builtins.isinstance = lambda *args: True
sys._getframe = lambda depth=0: None
def f(x):
    return 0
"""


def test_rebinding_the_runners_own_names_changes_nothing_it_does(sandbox):
    """The job can reach the runner's modules (sys.modules, a class's methods) and rebind their names, the
    builtins and os.write: the job-side code runs from sealed copies bound before the job's code ran."""
    tests = ["for x in [1, 2]:\n    assert f(x) == x", "open('/proc/self/mem', 'rb')"]
    verdict = run(sandbox, REBIND_THE_RUNNER, tests, test_timeout_s=2.0)
    assert verdict.status == Status.FAILED
    assert "expected 1, got 0" in verdict.tests[0].error and REFUSED in verdict.tests[1].error, verdict.tests


def test_tests_still_see_the_programs_names_and_each_others(sandbox):
    program = "class Node:\n    def __init__(self, v):\n        self.v = v\ndef f(node):\n    return node.v\n"
    verdict = run(sandbox, program, ["root = Node(3)", "assert f(root) * 2 == 6"])
    assert verdict.passed, verdict.tests


# ------------------------------------------------------------------------------------------ the runner


def test_garbage_on_the_result_pipe_is_ignored_not_a_sandbox_error(sandbox):
    flood = "import os\nos.write(3, b'[' * 100000 + b'\\n' + b'{\"kind\": 7}\\n')\n"
    wrong = run(sandbox, flood + "def f(x):\n    return 0", ["assert f(1) == 1"])
    right = run(sandbox, flood + "def f(x):\n    return x", ["assert f(1) == 1"])
    assert wrong.status == Status.FAILED and right.passed


def test_a_tree_too_deep_to_wipe_recycles_the_sandbox_and_spares_the_next_job(sandbox):
    deep = "import os\nos.makedirs('/tmp/' + '/'.join(['d'] * 1500))\ndef f(x):\n    return 0\n"
    assert run(sandbox, deep, ["assert f(1) == 1"]).status == Status.FAILED
    after = run(sandbox, "import os\nassert os.listdir('/tmp') == ['job'], os.listdir('/tmp')")
    assert after.passed, after.error


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGSTOP"])
def test_a_job_that_kills_or_stops_the_launcher_fails_and_the_next_job_runs(sandbox, signal_name):
    program = f"import os, signal\nos.kill(os.getppid(), signal.{signal_name})\ndef f(x):\n    return x\n"
    verdict = run(sandbox, program, ["assert f(1) == 1"])
    assert verdict.status == Status.FAILED and "launcher" in verdict.error, verdict.error
    assert run(sandbox, "print('fine')").passed


def test_the_runner_reads_only_well_formed_records_of_this_job():
    path = runner_source().parent / "codepref_runtime" / "verdict.py"
    spec = importlib.util.spec_from_file_location("codepref_runtime_verdict", path)
    verdict = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verdict)
    nonce = "n" * 32
    lines = [
        "[" * 100000,
        '{"nonce": "NONCE", "kind": "test", "index": 0, "status": "hacked", "time_s": 0.0, "error": ""}',
        '{"nonce": "NONCE", "kind": "test", "index": "0", "status": "passed", "time_s": 0.0, "error": ""}',
        '{"nonce": "NONCE", "kind": "done", "extra": [[[]]]}',
        '{"nonce": "other", "kind": "done"}',
        "\xff\xfe",
        '{"nonce": "NONCE", "kind": "program", "ok": false}',
    ]
    records = verdict.parse_records("\n".join(lines).replace("NONCE", nonce).encode(), nonce)
    assert records == [{"nonce": nonce, "kind": "done", "extra": [[[]]]}]
