"""Differential testing for the plus variants, the job's half. THIS FILE RUNS INSIDE THE SANDBOX.

Its source text is shipped inside test snippets (see codepref.evaluate.jobs) and executed in a private
namespace next to the code under test, so it uses the standard library only and stays Python 3.10
compatible. It only calls the entry point on each input and reports what came back through the sandbox's
value reporter (codepref.sandbox.split): whether an output is right is decided outside the job's process
(codepref.evaluate.compare), against expected outputs that never enter it.

  * each input has a time limit of max(1 s, 4 x the canonical solution's time) (evalplus defaults); here
    both are CPU times, so a loaded machine does not turn slow-but-correct code into failures, and wall
    time may reach WALL_SLACK x the limit before the input fails;
  * outputs too big to report (a few tasks return hundreds of megabytes) are reported as a digest of their
    value instead (`equality_digest`), for the canonical solution and the code under test alike.
"""

import base64
import collections
import contextlib
import hashlib
import itertools
import json
import marshal
import pickle
import signal
import sys
import time
import zlib

EXPECTED_MARKER = "CODEPREF-EXPECTED "
WALL_SLACK = 4.0  # an input may take this many times its limit in wall time (machine load), never more
DIGEST_DEPTH = 200  # as deep as the sandbox reports plain values
DIGEST_CHUNK = 4096  # items of a long output marshalled at once

# MBPP+ tasks whose outputs are compared only for being None or not (evalplus _special_oracle).
MBPP_NOT_NONE_TASKS = frozenset(["check_str", "text_match_three", "text_starta_endb"])


def pack(value):
    return base64.b64encode(zlib.compress(pickle.dumps(value, protocol=4), 6)).decode("ascii")


def unpack(blob):
    return pickle.loads(zlib.decompress(base64.b64decode(blob)))


class _Discard:
    """A write-only sink: the code under test may print freely without filling the job's output."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def timed_call(function, arguments, limit):
    """Call function(*arguments) with output discarded; returns (result, CPU seconds, wall seconds).

    Limits are on CPU time, so verdicts do not flip when other work loads the machine: ITIMER_PROF
    (SIGPROF, process CPU time) preempts busy loops without touching the sandbox's own SIGALRM test timer.
    The sandbox refuses jobs new signal handlers, so the runner's own SIGPROF handler ends the test, which
    then reports a timeout.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        if limit:
            signal.setitimer(signal.ITIMER_PROF, limit)
        with contextlib.redirect_stdout(_Discard()), contextlib.redirect_stderr(_Discard()):
            result = function(*arguments)
    finally:
        if limit:
            signal.setitimer(signal.ITIMER_PROF, 0)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def equality_digest(value):
    """sha256 of a form of plain data in which values that compare equal with `==` coincide.

    Numbers equal to an int (True, 2.0, 2+0j) become that int, sets and dicts their sorted members, and
    the result is marshalled, which takes exact types only (a subclass raises ValueError, as it is not
    plain data). Flat containers are checked at C speed and long sequences marshalled a chunk at a time:
    outputs this big run to millions of items and gigabytes. Only the host holds the expected digest, so
    a job can no more forge one than the value it stands for.
    """
    digest, normal = hashlib.sha256(), _normal(value, 0)
    if type(normal) is list or type(normal) is tuple:
        digest.update(b"%s%d;" % (type(normal).__name__.encode(), len(normal)))
        for start in range(0, len(normal), DIGEST_CHUNK):
            digest.update(marshal.dumps(normal[start : start + DIGEST_CHUNK], 2))
    else:
        digest.update(marshal.dumps(normal, 2))
    return "sha256:" + digest.hexdigest()


_EXACT_ATOMS = frozenset([int, str, bytes, type(None)])  # marshalled as they are
_NUMBER_ATOMS = _EXACT_ATOMS | {bool, float}
_DICTS = (dict, collections.Counter, collections.OrderedDict, collections.defaultdict)


def _normal(value, depth):
    kind = type(value)
    if kind in _EXACT_ATOMS:
        return value
    if kind is bool:
        return int(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is complex:
        return _normal(value.real, depth) if value.imag == 0 else value
    if depth >= DIGEST_DEPTH:
        raise TypeError(f"nested deeper than {DIGEST_DEPTH}")
    if kind is list or kind is tuple:
        kinds = set(map(type, value))
        if kinds <= _EXACT_ATOMS or (
            (kinds == {tuple} or kinds == {list})
            and set(map(type, itertools.chain.from_iterable(value))) <= _EXACT_ATOMS
        ):
            return value  # already in normal form: no item needs changing
        if kinds <= _NUMBER_ATOMS:  # numbers equal to ints become ints, here without a call per item
            return kind(
                [int(x) if type(x) is bool or (type(x) is float and x.is_integer()) else x for x in value]
            )
        return kind(_normal(item, depth + 1) for item in value)
    if kind is set or kind is frozenset:  # tagged as dicts, which never appear in normal form otherwise
        return {"S": _sorted_members(kind.__iter__(value), depth)}
    if kind in _DICTS:
        return {"D": _sorted_members(dict.items(value), depth)}
    if type.__getattribute__(kind, "__module__") == "numpy" and hasattr(value, "item"):
        return _normal(value.item(), depth + 1)
    raise TypeError(f"not plain data: {type.__getattribute__(kind, '__qualname__')}")


def _sorted_members(members, depth):
    return tuple(sorted(marshal.dumps(_normal(member, depth + 1), 2) for member in members))


def is_floats(value):
    """evalplus's test for an expected value that raises a zero tolerance to 1e-6."""
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(item, float) for item in value)
    return False


def describe(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def oracle_value(out, entry_point, flavour):
    """What evalplus keeps of a canonical output: for some MBPP+ tasks only whether it is None."""
    if flavour == "mbpp" and entry_point in MBPP_NOT_NONE_TASKS:
        return out is not None
    return out


def judged_value(out, entry_point, flavour):
    """What is reported of an output under test: where evalplus only asks whether it is None, a non-bool
    output (a regex match object, say) is reported as that answer; a bool is reported as it is."""
    return out if isinstance(out, bool) else oracle_value(out, entry_point, flavour)


def report_outputs(namespace, reporter, entry_point, inputs_blob, limits, flavour, label, by_digest):
    """Run the entry point on every input and report each output (slot = input index) for the host to judge.

    Raises AssertionError at the first input over its time limit (the runner's timeout, when the CPU timer
    preempts it). `reporter` is the sandbox's value reporter. `by_digest`: report `equality_digest`s.
    """
    if entry_point not in namespace:
        raise NameError(f"the program does not define {entry_point}")
    function = namespace[entry_point]
    for index, (arguments, limit) in enumerate(zip(unpack(inputs_blob), limits, strict=True)):
        out, cpu, wall = timed_call(function, arguments, limit)
        if cpu > limit or wall > WALL_SLACK * limit:  # the wall check catches code that sleeps or blocks
            raise AssertionError(
                f"{label} input {index}: took {cpu:.2f}s CPU ({wall:.2f}s wall), limit {limit:.2f}s"
            )
        out = judged_value(out, entry_point, flavour)
        if by_digest:
            try:
                out = equality_digest(out)
            except (TypeError, ValueError) as exc:  # marshal's ValueError: not plain data
                raise AssertionError(f"{label} input {index}: output {describe(out)}: {exc}") from None
        reporter(index, out)


def compute_expected(namespace, reporter, entry_point, blob, flavour, max_reported_bytes):
    """Run the canonical solution on base and plus inputs and report every output (base first, then plus);
    print one marked JSON line with the CPU times and which checks' outputs were reported as digests
    (those whose pickled outputs exceed `max_reported_bytes`; never float outputs, which need a tolerance)."""
    function = namespace[entry_point]
    summary, slot = {}, 0
    for label, inputs in zip(("base", "plus"), unpack(blob), strict=True):
        outputs, times = [], []
        for arguments in inputs:
            out, cpu, _ = timed_call(function, arguments, None)
            outputs.append(oracle_value(out, entry_point, flavour))
            times.append(cpu)
        by_digest = len(pickle.dumps(outputs, protocol=4)) > max_reported_bytes
        if by_digest and any(is_floats(out) for out in outputs):
            raise AssertionError(f"{label} outputs too big to report, and floats: a digest has no tolerance")
        for out in outputs:
            reporter(slot, equality_digest(out) if by_digest else out)
            slot += 1
        summary[label + "_times"], summary[label + "_by_digest"] = times, by_digest
    sys.stdout.write(EXPECTED_MARKER + json.dumps(summary) + "\n")
    sys.stdout.flush()
