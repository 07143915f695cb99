"""What the job's own code may not do, installed in the job's process right before its program runs.

The tests run in the job's process, so anything that reaches the tests' frames (their data, the runner's
locals, the nonce) or rewrites them could skip checks. The guard refuses the job every way Python offers
to reach a frame or an object it was not handed: frame attributes of tracebacks and generators, frame
and object enumeration, tracing, crafted code objects, its own memory through /proc or ctypes, and new
audit hooks (which would be handed the objects the guard lets through). A seccomp filter refuses new
signal handlers, which Python calls with the interrupted frame.
"""

import ctypes
import os
import struct
import sys
from _thread import get_ident as _get_ident

from codepref_runtime.common import LIBC, sealed

# Bound now: the job can rebind sys._getframe (to a fake frame that looks like namedtuple's) or anything
# else in a module, and the hook, a sealed copy of this module's functions, must not follow it.
_getframe, _add_hook = sys._getframe, sys.addaudithook

FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
REFUSED_EVENTS = frozenset(
    {
        "sys.settrace",
        "sys.setprofile",
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.monitoring.register_callback",  # 3.12+: another way to run code at every line of the tests
        "sys.remote_exec",  # 3.14+
        "sys.addaudithook",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "os.symlink",  # a link to /proc/self/mem under another name
        "os.link",
    }
)
# Standard-library callers of sys._getframe that only read their caller's module name: (file, function,
# the function that must have called it, or None).
FRAME_READERS = (
    ("/collections/__init__.py", "namedtuple", None),
    ("/typing.py", "_caller", None),
    ("/enum.py", "_create_", None),
    ("/logging/__init__.py", "<lambda>", "findCaller"),
)
IMPORTLIB_FILES = ("<frozen importlib._bootstrap_external>", "<frozen importlib._bootstrap>")
# Where the installed libraries are (the read-only system, not the runner's own folder): code whose file is
# here was imported, since only the import system may compile or unmarshal code under these names. Such
# code may rebuild code objects (numpy renames its functions with code.replace); the job's own code may not,
# since crafted bytecode reads and writes memory past every check here.
_RUNNER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_DIRS = tuple(
    os.path.join(path, "") for path in sys.path if os.path.isabs(path) and not path.startswith(_RUNNER_DIR)
)


def guard_job() -> list:
    """Install the job's seccomp filter and audit hook; returns the list the runner appends to while it
    formats a traceback of the job's (the only time frames are read on the job's behalf)."""
    _refuse_signal_handlers()
    return sealed(globals())["_install_hook"]()


def _install_hook() -> list:
    formatting = []
    busy = set()  # threads inside the hook: the hook's own frame reads raise events too

    def guard(event, args):
        thread = _get_ident()
        if thread in busy:
            return
        busy.add(thread)
        try:
            reason = _refusal(event, args, formatting)
        finally:
            busy.discard(thread)
        if reason:
            raise PermissionError(f"not allowed in the sandbox: {reason}")

    _add_hook(guard)
    return formatting


def _refusal(event: str, args: tuple, formatting: list) -> str:
    """Why the audited event is refused to the job ("" when it is allowed)."""
    if event in REFUSED_EVENTS or event.startswith("ctypes."):
        return event
    if event == "object.__getattr__" and args[1] in FRAME_ATTRIBUTES and not formatting:
        return f"reading {args[1]}"
    if event == "code.__new__" and not _in_library(_getframe(2).f_code):
        return "making a code object"
    if event == "object.__setattr__" and args[1] == "__code__" and not _in_library(_getframe(2).f_code):
        return "replacing a function's code"
    if event == "sys._getframe" and not _frame_reader(_getframe(2)):
        return "sys._getframe"
    if event in ("marshal.loads", "marshal.load", "compile") and not _importing(event, args):
        return event if event != "compile" else "compiling under a library's file name"
    if event == "open" and _is_memory_file(args[0]):
        return "opening process memory"
    return ""


def _in_library(code) -> bool:
    """Whether this code was imported from the installed libraries, or is the import system itself (which
    runs extension modules' initialisation: Cython's builds code objects for its tracebacks)."""
    filename = code.co_filename
    return type(filename) is str and (str.startswith(filename, LIBRARY_DIRS) or filename in IMPORTLIB_FILES)


def _importing(event: str, args: tuple) -> bool:
    """Whether this unmarshalling, or this compiling under a library's file name, is the import system's
    (compiling anything else is the job's own business)."""
    if event == "compile":
        filename = args[1]
        if type(filename) is bytes:
            filename = bytes.decode(filename, "utf-8", "surrogateescape")
        if type(filename) is str and not str.startswith(filename, LIBRARY_DIRS):
            return True
    return _getframe(3).f_code.co_filename in IMPORTLIB_FILES


def _frame_reader(caller) -> bool:
    code = caller.f_code
    if not _in_library(code):
        return False
    for suffix, name, parent in FRAME_READERS:
        if code.co_name == name and code.co_filename.endswith(suffix):
            if parent is None:
                return True
            above = caller.f_back
            return (
                above is not None
                and above.f_code.co_name == parent
                and above.f_code.co_filename.endswith(suffix)
            )
    return False


def _is_memory_file(path) -> bool:
    """Whether an opened path names a process's memory file (`mem`, under /proc), by its last component.

    Links to it cannot be made (os.symlink and os.link are refused), so every path reaching it ends in
    `mem`. Only str, bytes and descriptors are read: a path object's `__fspath__` is the job's code and
    could answer this check otherwise than it answered `open`."""
    kind = type(path)
    if kind is int:
        return False
    if kind is bytes:
        path = bytes.decode(path, "utf-8", "surrogateescape")
    elif kind is not str:
        return True
    return str.rsplit(path, "/", 1)[-1] == "mem"


SECCOMP_ARCHES = {"x86_64": (0xC000003E, 13), "aarch64": (0xC00000B7, 134)}  # AUDIT_ARCH_*, rt_sigaction


def _refuse_signal_handlers() -> None:
    """A seccomp filter refusing (EPERM) every sigaction that installs a handler, and every system call
    of another ABI; the runner's own test timers are installed before it."""
    arch, rt_sigaction = SECCOMP_ARCHES[os.uname().machine]
    load, jump_eq, ret = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
    allow, refuse = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    jump_at_least = 0x35  # BPF_JMP|BPF_JGE|BPF_K
    program = [
        (load, 0, 0, 4),  # seccomp_data.arch
        (jump_eq, 1, 0, arch),
        (ret, 0, 0, refuse),
        (load, 0, 0, 0),  # seccomp_data.nr
        (jump_at_least, 0, 1, 0x40000000),  # x32 system calls (nr | 0x40000000) would dodge the nr check
        (ret, 0, 0, refuse),
        (jump_eq, 1, 0, rt_sigaction),
        (ret, 0, 0, allow),
        (load, 0, 0, 24),  # low half of args[1], the new action
        (jump_eq, 0, 2, 0),
        (load, 0, 0, 28),  # high half
        (jump_eq, 1, 0, 0),
        (ret, 0, 0, refuse),
        (ret, 0, 0, allow),  # a NULL action only reads the current one
    ]
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(program), ctypes.addressof(buffer))
    if LIBC.prctl(38, 1, 0, 0, 0) != 0 or LIBC.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "the job's seccomp filter could not be installed")
