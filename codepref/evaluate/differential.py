"""Differential testing for the plus variants, as evalplus does it. THIS FILE RUNS INSIDE THE SANDBOX.

Its source text is shipped inside test snippets (see codepref.evaluate.jobs) and executed in a private
namespace next to the code under test, so it uses the standard library only and stays Python 3.10
compatible. On the host it is imported only by unit tests of the comparison rules, on trusted values.

Comparison rules follow evalplus (evalplus/eval/__init__.py, `unsafe_execute`):
  * outputs must be equal (`==`), except where a task-specific oracle says otherwise;
  * when they are not equal and a tolerance applies, they must have the same type, the same length (for
    lists and tuples) and be element-wise close: |out - exp| <= atol + 1e-7 * |exp| (numpy's allclose);
  * a float (or non-empty all-float list/tuple) expected value raises a zero tolerance to 1e-6, and, as in
    evalplus, that raised tolerance then stays in force for the remaining inputs of the same check;
  * each input has a time limit of max(1 s, 4 x the canonical solution's time) (evalplus defaults); here
    both are CPU times, so a loaded machine does not turn slow-but-correct code into failures, and wall
    time may reach WALL_SLACK x the limit before the input fails.
The sandbox image has no numpy, so `allclose` is re-implemented on nested lists and tuples of numbers.
"""

import base64
import contextlib
import math
import numbers
import pickle
import signal
import sys
import time
import zlib

EXPECTED_MARKER = "CODEPREF-EXPECTED "
WALL_SLACK = 4.0  # an input may take this many times its limit in wall time (machine load), never more

# MBPP+ tasks whose outputs are compared as sets, or only for being None or not (evalplus _special_oracle).
MBPP_SET_EQUAL_TASKS = frozenset(
    [
        "similar_elements",
        "find_char_long",
        "common_in_nested_lists",
        "extract_singly",
        "larg_nnum",
        "intersection_array",
        "find_dissimilar",
        "Diff",
    ]
)
MBPP_NOT_NONE_TASKS = frozenset(["check_str", "text_match_three", "text_starta_endb"])


def pack(value):
    return base64.b64encode(zlib.compress(pickle.dumps(value, protocol=4), 6)).decode("ascii")


def unpack(blob):
    return pickle.loads(zlib.decompress(base64.b64decode(blob)))


class InputTimeout(BaseException):
    """One input ran past its CPU budget (BaseException, so `except Exception` in the code cannot hide it)."""


class _Discard:
    """A write-only sink: the code under test may print freely without filling the job's output."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def _raise_input_timeout(signum, frame):
    raise InputTimeout()


def timed_call(function, arguments, limit):
    """Call function(*arguments) with output discarded; returns (result, CPU seconds, wall seconds).

    Limits are on CPU time, so verdicts do not flip when other work loads the machine: ITIMER_PROF
    (SIGPROF, process CPU time) preempts busy loops without touching the sandbox's own SIGALRM test timer.
    """
    previous = signal.signal(signal.SIGPROF, _raise_input_timeout) if limit else None
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        if limit:
            signal.setitimer(signal.ITIMER_PROF, limit)
        with contextlib.redirect_stdout(_Discard()), contextlib.redirect_stderr(_Discard()):
            result = function(*arguments)
    finally:
        if limit:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def is_floats(value):
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(item, float) for item in value)
    return False


def allclose(out, exp, atol, rtol=1e-7):
    """numpy.allclose(out, exp, rtol, atol) for numbers and equally shaped nested lists/tuples of numbers."""
    if isinstance(out, (list, tuple)) or isinstance(exp, (list, tuple)):
        if not (isinstance(out, (list, tuple)) and isinstance(exp, (list, tuple))) or len(out) != len(exp):
            return False
        return all(allclose(a, b, atol, rtol) for a, b in zip(out, exp, strict=True))
    if not (isinstance(out, numbers.Number) and isinstance(exp, numbers.Number)):
        return False
    if out == exp:  # covers equal infinities, which the formula below cannot
        return True
    if not (_finite(out) and _finite(exp)):
        return False
    return abs(out - exp) <= atol + rtol * abs(exp)


def _finite(number):
    if isinstance(number, complex):
        return math.isfinite(number.real) and math.isfinite(number.imag)
    return math.isfinite(number)


def poly(coefficients, x):
    return sum(coefficient * math.pow(x, power) for power, coefficient in enumerate(coefficients))


def surface_area_oracle(base_edge, height):
    """Mbpp/581 read with 'height' as the pyramid's perpendicular height."""
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 2 * base_edge * slant)


def digit_distance_oracle(first, second):
    """Mbpp/558 with the shorter number left-padded with zeros."""
    a, b = str(first), str(second)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width), strict=True))


class Comparator:
    """Judges one output against the expected one; holds evalplus's tolerance, which can only rise."""

    def __init__(self, entry_point, atol, flavour):
        self.entry_point, self.atol, self.flavour = entry_point, atol, flavour

    def matches(self, out, exp, arguments):
        if self.flavour == "humaneval" and self.entry_point == "find_zero":
            return abs(poly(*arguments, out)) <= self.atol  # any root is right, not only the canonical one
        exact = self.exact_match(out, exp, arguments)
        if self.atol == 0 and is_floats(exp):
            self.atol = 1e-6
        if exact or self.atol == 0:
            return exact
        if type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        return allclose(out, exp, self.atol)

    def exact_match(self, out, exp, arguments):
        exact = bool(out == exp)
        if self.flavour != "mbpp":
            return exact
        name = self.entry_point
        if name == "are_equivalent":  # Mbpp/164: the task statement is ambiguous; any answer is accepted
            return True
        if name == "sum_div":  # Mbpp/295: 0 is accepted too
            return exact or out == 0
        if name == "surface_Area":
            return exact or abs(out - surface_area_oracle(*arguments)) <= self.atol
        if name == "digit_distance_nums":
            return exact or out == digit_distance_oracle(*arguments)
        if name in MBPP_SET_EQUAL_TASKS:
            return set(out) == set(exp)
        if name in MBPP_NOT_NONE_TASKS:
            return out == exp if isinstance(out, bool) else exp == (out is not None)
        return exact


def describe(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def oracle_value(out, entry_point, flavour):
    """What evalplus keeps of a canonical output: for some MBPP+ tasks only whether it is None."""
    if flavour == "mbpp" and entry_point in MBPP_NOT_NONE_TASKS:
        return out is not None
    return out


def reference_outputs(reference_program, entry_point, inputs, flavour):
    """Expected outputs computed on the fly, one input at a time, for tasks whose outputs are too big to ship.

    The reference runs in a fresh namespace of its own and on its own copy of the inputs, so neither it nor
    the code under test sees the other's globals or in-place changes to arguments.
    """
    namespace = {"__name__": "codepref_reference"}
    with contextlib.redirect_stdout(_Discard()), contextlib.redirect_stderr(_Discard()):
        exec(compile(reference_program, "<reference>", "exec"), namespace)
    for arguments in inputs:
        out, _, _ = timed_call(namespace[entry_point], arguments, None)
        yield oracle_value(out, entry_point, flavour)


def check_inputs(
    namespace, entry_point, inputs_blob, outputs_blob, reference_program, limits, atol, flavour, label
):
    """Run the entry point on every input and raise AssertionError at the first wrong or slow output.

    `outputs_blob` holds the expected outputs; when it is None they are recomputed from `reference_program`.
    """
    if entry_point not in namespace:
        raise NameError(f"the program does not define {entry_point}")
    function = namespace[entry_point]
    inputs = unpack(inputs_blob)
    if outputs_blob is None:
        expected = reference_outputs(reference_program, entry_point, unpack(inputs_blob), flavour)
    else:
        expected = unpack(outputs_blob)
    comparator = Comparator(entry_point, atol, flavour)
    for index, (arguments, limit) in enumerate(zip(inputs, limits, strict=True)):
        want = next(expected) if outputs_blob is None else expected[index]
        try:
            out, cpu, wall = timed_call(function, arguments, limit)
        except InputTimeout:
            raise AssertionError(f"{label} input {index}: over its {limit:.2f}s CPU limit") from None
        if cpu > limit or wall > WALL_SLACK * limit:  # the wall check catches code that sleeps or blocks
            raise AssertionError(
                f"{label} input {index}: took {cpu:.2f}s CPU ({wall:.2f}s wall), limit {limit:.2f}s"
            )
        try:
            good = comparator.matches(out, want, arguments)
        except Exception as exc:  # a comparison that cannot even be made is a wrong output
            raise AssertionError(
                f"{label} input {index}: output {describe(out)} not comparable ({type(exc).__name__})"
            ) from None
        if not good:
            raise AssertionError(f"{label} input {index}: expected {describe(want)}, got {describe(out)}")


def compute_expected(namespace, entry_point, blob, flavour, max_blob_chars):
    """Run the canonical solution on base and plus inputs; print one marked JSON line with outputs and times.

    Outputs whose packed form exceeds `max_blob_chars` are left out (null): jobs recompute those instead.
    """
    import json

    function = namespace[entry_point]
    report = {}
    for label, inputs in zip(("base", "plus"), unpack(blob), strict=True):
        outputs, times = [], []
        for arguments in inputs:
            out, cpu, _ = timed_call(function, arguments, None)
            outputs.append(oracle_value(out, entry_point, flavour))
            times.append(cpu)
        packed = pack(outputs)
        report[label] = packed if len(packed) <= max_blob_chars else None
        report[label + "_times"] = times
    sys.stdout.write(EXPECTED_MARKER + json.dumps(report) + "\n")
    sys.stdout.flush()
