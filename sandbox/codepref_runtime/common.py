"""What every part of the sandbox runner shares. Stdlib only: this package runs inside the sandbox."""

import builtins
import ctypes
import types

WORK_ROOT = "/tmp"
RESULT_FD = 3  # the job's private pipe for its records
ERROR_CHARS = 500
MB = 1 << 20


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


LIBC = _libc()


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_CHARS]


def sealed(namespace: dict) -> dict:
    """A private copy of a module's namespace whose functions look up their globals in the copy, and their
    builtins in a copy of the builtins taken now.

    The job's code can reach this package's modules (through sys.modules, or a class's methods) and the
    builtins module, and rebind anything in them; the runner's job-side code, run from a sealed copy made
    before the job's code starts, reads none of them afterwards. What it needs of other modules it binds to
    names of its own at import (`_write = os.write`), since module attributes stay rebindable."""
    private = dict(namespace)
    private["__builtins__"] = dict(vars(builtins))
    for name, value in namespace.items():
        if type(value) is types.FunctionType and value.__globals__ is namespace:
            private[name] = types.FunctionType(
                value.__code__, private, value.__name__, value.__defaults__, value.__closure__
            )
    return private
