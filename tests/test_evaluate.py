"""Evaluation: comparison rules, sample parsing, and (Docker) verdicts, plus variants, resume after a kill;
equality tricks against the plus variants' differential checks on both backends."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from data_dir import DATA_DIR
from sandboxes import BACKENDS, open_sandbox
from typer.testing import CliRunner

from codepref.data import DATA_DIR_ENV, load_problems
from codepref.evaluate import differential, jobs
from codepref.evaluate.compare import Comparator, allclose
from codepref.evaluate.differential import equality_digest
from codepref.evaluate.expected import CACHE_DIR_ENV, with_expected_outputs
from codepref.evaluate.harness import (
    SampleFileError,
    check_references,
    evaluate_samples,
    read_results,
    read_samples,
)
from codepref.sandbox.types import Status, Verdict, limits_profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


def write_samples(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def records_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ------------------------------------------------------------------------------------ comparison rules


def test_exact_and_tolerant_comparison_follow_evalplus() -> None:
    exact = Comparator("f", 0, "humaneval")
    assert exact.matches([1, 2], [1, 2], ())
    assert not exact.matches([1, 2], [2, 1], ())
    assert not exact.matches((1, 2), [1, 2], ())  # tuple vs list: == is False
    assert exact.matches(0.1 + 0.2, 0.3, ())  # a float expected value raises atol to 1e-6
    assert not exact.matches(0.31, 0.3, ())
    assert not exact.matches(1, 1.5, ())  # type differs once tolerance applies
    tolerant = Comparator("f", 1e-4, "humaneval")
    assert tolerant.matches([1.00001, 2.0], [1.0, 2.0], ())
    assert not tolerant.matches([1.00001], [1.0, 2.0], ())  # length differs
    assert not tolerant.matches(float("nan"), float("nan"), ())


def test_raised_tolerance_sticks_for_later_inputs_as_in_evalplus() -> None:
    comparator = Comparator("f", 0, "humaneval")
    assert not comparator.matches([1, 2.0000001], [1, 2], ())
    assert comparator.matches(0.5, 0.5, ())  # float expected: atol becomes 1e-6 ...
    assert comparator.matches([1, 2.0000001], [1, 2], ())  # ... and stays for the rest of the check


def test_task_specific_oracles() -> None:
    assert Comparator("similar_elements", 0, "mbpp").matches((4, 5), (5, 4), ())
    assert not Comparator("similar_elements", 0, "humaneval").matches((4, 5), (5, 4), ())
    assert Comparator("check_str", 0, "mbpp").matches("a match object", True, ())
    assert not Comparator("check_str", 0, "mbpp").matches(None, True, ())
    assert Comparator("sum_div", 0, "mbpp").matches(0, 7, ())
    assert Comparator("are_equivalent", 0, "mbpp").matches("anything", False, ())
    find_zero = Comparator("find_zero", 1e-4, "humaneval")
    assert find_zero.matches(1.0, -99.0, ([-1, 1],))  # any root of -1 + x passes
    assert not find_zero.matches(0.5, 1.0, ([-1, 1],))


def test_allclose_edge_cases() -> None:
    assert allclose(float("inf"), float("inf"), 1e-6)
    assert not allclose(float("inf"), float("-inf"), 1e-6)
    assert allclose([[1.0, 2.0], (3.0,)], [[1.0, 2.0000001], (3.0,)], 1e-6)
    assert not allclose("1.0", 1.0, 1e-6)
    assert allclose(1 + 1e-9j, 1 + 0j, 1e-6)


def test_values_equal_under_python_equality_have_equal_digests() -> None:
    import collections

    same = [
        ([1, 3, 2.0, 8.0], [1, 3, 2, 8]),  # HumanEval/130's canonical floats against an int-based solution
        ([True, 0.0, 2 + 0j], [1, -0.0, 2]),
        ({"b": {3, 1}, "a": frozenset("xy")}, {"a": {"y", "x"}, "b": {1, 3}}),
        (collections.Counter("aab"), {"b": 1, "a": 2}),
        ([("red", "green")] * 5000, [("red", "green")] * 5000),  # past one marshalled chunk
        (10**400, 10**400),
    ]
    for left, right in same:
        assert left == right and equality_digest(left) == equality_digest(right)
    different = [([1, 2], (1, 2)), ([1.5], [1]), ("1", 1), ([[1]] * 4097, [[1]] * 4096 + [[2]]), (b"a", "a")]
    for left, right in different:
        assert left != right and equality_digest(left) != equality_digest(right)


def test_a_digest_refuses_what_is_not_plain_data() -> None:
    class Liar(list):
        def __eq__(self, other):
            return True

    for value in (Liar(), [Liar()], {1: object()}, [[Liar()]]):
        with pytest.raises((TypeError, ValueError)):
            equality_digest(value)


def test_pack_round_trip_keeps_python_types() -> None:
    value = [(1, 2), {3}, 1j, float("inf"), None, {"a": [1]}]
    assert differential.unpack(differential.pack(value)) == value


# ------------------------------------------------------------------------------------ jobs and samples


def test_job_shapes() -> None:
    problem = load_problems("humaneval")[0]
    job = jobs.build_job(problem, "    return True\n", job_id="x")
    assert job.program.startswith(problem.prompt) and job.job_id == "x"
    assert len(job.tests) == 1 and job.tests[0].rstrip().endswith(f"check({problem.entry_point})")
    assert not job.as_main and job.test_timeout_s == jobs.HUMANEVAL_TIMEOUT_S
    mbpp = load_problems("mbpp", DATA_DIR, split="prompt")[0]
    assert jobs.build_job(mbpp, solution=mbpp.canonical_solution).tests == mbpp.test_list
    plus = load_problems("humaneval+", DATA_DIR)[0]
    with pytest.raises(jobs.MissingExpectedOutputs):
        jobs.build_job(plus, plus.canonical_solution)
    with pytest.raises(ValueError, match="exactly one"):
        jobs.build_job(problem)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"s\.jsonl:2: not valid JSON"),
        ('["HumanEval/0"]', r"s\.jsonl:2: expected a JSON object, got list"),
        ('{"completion": "x"}', r"s\.jsonl:2: field 'task_id' is missing"),
        (
            '{"task_id": "HumanEval/999", "completion": "x"}',
            r"s\.jsonl:2: field 'task_id' 'HumanEval/999' is not a humaneval task",
        ),
        ('{"task_id": "HumanEval/0"}', r"s\.jsonl:2: needs a 'completion' or a 'solution' field"),
        ('{"task_id": "HumanEval/0", "completion": 3}', r"s\.jsonl:2: field 'completion' should be a string"),
    ],
)
def test_malformed_sample_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    problems = {p.task_id: p for p in load_problems("humaneval")}
    path = tmp_path / "s.jsonl"
    path.write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n' + line + "\n")
    with pytest.raises(SampleFileError, match=message):
        read_samples(path, problems, "humaneval")


def test_samples_accept_solutions_and_bare_mbpp_numbers(tmp_path: Path) -> None:
    problems = {p.task_id: p for p in load_problems("mbpp", DATA_DIR)}
    path = write_samples(
        tmp_path / "s.jsonl", [{"task_id": 11, "completion": "a"}, {"task_id": "Mbpp/11", "solution": "b"}]
    )
    samples = read_samples(path, problems, "mbpp")
    assert [(s.task_id, s.program, s.completion_id) for s in samples] == [
        ("Mbpp/11", "a", 0),
        ("Mbpp/11", "b", 1),
    ]


def test_results_of_other_samples_are_refused(tmp_path: Path) -> None:
    problems = {p.task_id: p for p in load_problems("humaneval")}
    path = write_samples(tmp_path / "s.jsonl", [{"task_id": "HumanEval/0", "completion": "    return 1\n"}])
    samples = {s.line: s for s in read_samples(path, problems, "humaneval")}
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps({"line": 1, "benchmark": "humaneval", "program_sha256": "0" * 16}) + "\n")
    with pytest.raises(SampleFileError, match=r"r\.jsonl:1: was written for other samples"):
        read_results(results, samples, "humaneval")
    results.write_text('{"line": 1, "bench')  # a write cut short: ignored, not an error
    assert read_results(results, samples, "humaneval") == {}


def test_cli_reports_bad_samples_in_one_line(tmp_path: Path) -> None:
    from codepref.cli import app

    path = tmp_path / "s.jsonl"
    path.write_text('{"task_id": "HumanEval/0"}\n')
    result = CliRunner().invoke(app, ["eval", "humaneval", str(path)])
    assert result.exit_code == 2
    assert "s.jsonl:1: needs a 'completion' or a 'solution' field" in result.output


# ------------------------------------------------------------------------------------ in the sandbox

BROKEN = {
    "wrong": "    return None\n",
    "syntax": "    return (\n",
    "loops": "    while True:\n        pass\n",
    "exits": "    return 1\nexit(0)\n",
    "raises": "    raise ValueError('no')\n",
}


@pytest.mark.docker
def test_humaneval_canonical_solutions_pass_and_broken_ones_fail(tmp_path: Path) -> None:
    problems = load_problems("humaneval")
    rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in problems]
    rows += [{"task_id": problems[i].task_id, "completion": text} for i, text in enumerate(BROKEN.values())]
    path = write_samples(tmp_path / "samples.jsonl", rows)
    report = evaluate_samples("humaneval", path, ks=(1,), workers=2, progress=False)
    records = {r["line"]: r for r in records_of(tmp_path / "samples_results.jsonl")}
    assert len(records) == len(rows) == report.samples
    assert all(records[line]["passed"] for line in range(1, 165)), "a canonical solution failed"
    broken = {name: records[165 + i] for i, name in enumerate(BROKEN)}
    assert not any(r["passed"] for r in broken.values())
    assert broken["loops"]["status"] == "timeout"
    assert "SyntaxError" in broken["syntax"]["error"]
    assert (
        "TypeError" in broken["wrong"]["tests"][0]["error"]
        or "AssertionError" in broken["wrong"]["tests"][0]["error"]
    )
    assert report.problems_evaluated == 164
    assert report.scores["pass@1"] == pytest.approx((164 - 5 * 0.5) / 164)


@pytest.mark.docker
def test_a_callers_sandbox_pool_and_its_limits_are_used(tmp_path: Path) -> None:
    """The loop evaluates in its own pool: its memory limit, not evaluation's 4 GiB, applies."""
    from codepref.sandbox import Sandbox
    from codepref.sandbox.types import limits_profile

    problem = load_problems("humaneval")[0]
    hungry = problem.canonical_solution + "\n\nBLOCK = bytearray(600 << 20)  # once, at load time\n"
    path = write_samples(tmp_path / "samples.jsonl", [{"task_id": problem.task_id, "completion": hungry}])
    small = limits_profile("pipeline", memory_mb=256)
    with Sandbox(backend="docker", workers=1, limits=small) as pool:
        evaluate_samples("humaneval", path, ks=(1,), progress=False, sandbox=pool)
    evaluate_samples(
        "humaneval", path, ks=(1,), workers=1, progress=False, results_path=tmp_path / "roomy.jsonl"
    )

    def out_of_memory(results: Path) -> bool:
        (record,) = records_of(results)
        return record["status"] == "memory_exceeded" or "MemoryError" in json.dumps(record)

    assert out_of_memory(tmp_path / "samples_results.jsonl")  # the caller's 256 MiB pool
    assert not out_of_memory(tmp_path / "roomy.jsonl")  # evaluation's own pool: 4 GiB


@pytest.mark.docker
def test_resume_after_a_kill(tmp_path: Path) -> None:
    problems = load_problems("humaneval")[:24]
    # Each sample sleeps, so the first run is still going when it is killed.
    rows = [
        {"task_id": p.task_id, "solution": "import time\ntime.sleep(0.4)\n" + p.reference_program}
        for p in problems
    ]
    path = write_samples(tmp_path / "samples.jsonl", rows)
    results = tmp_path / "samples_results.jsonl"
    code = f"from codepref.evaluate.harness import evaluate_samples; evaluate_samples('humaneval', {str(path)!r}, workers=1, progress=False)"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not results.exists() or len(results.read_text().splitlines()) < 4
        ):
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = results.read_text().splitlines()
    assert 4 <= len(before) < len(rows), "the first run should have been killed part-way"
    with open(results, "a") as handle:
        handle.write('{"line": 99, "task_id": "Hum')  # as if the kill had landed mid-write
    report = evaluate_samples("humaneval", path, ks=(1,), workers=2, progress=False)
    after = results.read_text().splitlines()
    assert after[: len(before)] == before, "recorded results must be kept, not redone"
    lines = [json.loads(text)["line"] for text in after]
    assert sorted(lines) == list(range(1, len(rows) + 1))  # each sample exactly once
    assert report.samples == len(rows) and report.scores["pass@1"] == 1.0


def trimmed_data_dir(tmp_path: Path, task_ids: list[str], plus_inputs: int) -> Path:
    """A data dir holding a few HumanEval+ and MBPP+ problems with fewer plus inputs (keeps tests fast)."""
    data = tmp_path / "data"
    data.mkdir()
    rows = [json.loads(line) for line in gzip.open(DATA_DIR / "HumanEvalPlus-v0.1.10.jsonl.gz", "rt")]
    keep = [
        dict(row, plus_input=row["plus_input"][:plus_inputs]) for row in rows if row["task_id"] in task_ids
    ]
    with gzip.open(data / "HumanEvalPlus-v0.1.10.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in keep)
    mbpp = json.loads((DATA_DIR / "MbppPlus-v0.1.0.json").read_text())
    keep = [
        dict(row, plus_input=row["plus_input"][:plus_inputs]) for row in mbpp if row["task_id"] in task_ids
    ]
    (data / "MbppPlus-v0.1.0.json").write_text(json.dumps(keep))
    return data


def base_only_solution(problem) -> str:
    """Right on the base inputs (it calls the reference there), wrong on every other input."""
    keys = {repr(list(arguments)) for arguments in problem.base_inputs}
    return (
        problem.reference_program
        + f"\n_reference = {problem.entry_point}\n_BASE = {keys!r}\n"
        + f"def {problem.entry_point}(*args):\n    return _reference(*args) if repr(list(args)) in _BASE else None\n"
    )


PLUS_TASKS = [
    "HumanEval/0",
    "HumanEval/2",
    "HumanEval/32",
    "HumanEval/53",
    "Mbpp/2",
    "Mbpp/124",
    "Mbpp/580",
    "Mbpp/581",
]


# Outputs reported as digests: equality only, so no floats (tolerance) and no task-specific oracles.
DIGEST_TASKS = ["HumanEval/0", "HumanEval/14", "HumanEval/130", "Mbpp/3", "Mbpp/630"]


@pytest.mark.docker
@pytest.mark.parametrize("reported", ["values", "digests"])
@pytest.mark.parametrize("bench", ["humaneval+", "mbpp+"])
def test_plus_variants_score_base_and_plus(tmp_path: Path, monkeypatch, bench: str, reported: str) -> None:
    if reported == "digests":  # outputs too big to report come back as digests: force that path
        monkeypatch.setattr(jobs, "MAX_REPORTED_OUTPUTS_BYTES", 0)
    data = trimmed_data_dir(tmp_path, PLUS_TASKS if reported == "values" else DIGEST_TASKS, plus_inputs=40)
    problems = load_problems(bench, data)
    rows = []
    for problem in problems:
        rows.append({"task_id": problem.task_id, "solution": problem.reference_program})
        rows.append({"task_id": problem.task_id, "solution": base_only_solution(problem)})
        rows.append({"task_id": problem.task_id, "solution": "def nothing():\n    pass\n"})
    path = write_samples(tmp_path / "samples.jsonl", rows)
    report = evaluate_samples(bench, path, ks=(1,), workers=2, data_dir=data, progress=False)
    records = sorted(records_of(tmp_path / "samples_results.jsonl"), key=lambda r: r["line"])
    for canonical, base_only, empty in zip(records[0::3], records[1::3], records[2::3], strict=True):
        assert canonical["passed"] and canonical["base_passed"] and canonical["plus_passed"], canonical
        assert base_only["base_passed"] and not base_only["plus_passed"] and not base_only["passed"], (
            base_only
        )
        assert "plus input" in base_only["tests"][1]["error"]
        assert not empty["base_passed"] and not empty["passed"]
        assert "does not define" in empty["tests"][0]["error"]
    assert report.base_scores == {"pass@1": pytest.approx(2 / 3)}
    assert report.scores == {"pass@1": pytest.approx(1 / 3)}
    cached = list((Path(os.environ[CACHE_DIR_ENV]) / "expected").glob("*.json"))
    assert len(cached) == 1


# ------------------------------------------------------------------------------------ differential tricks

# Each would forge a pass if outputs were compared inside the job's process; `{entry}` is the entry point.
DIFFERENTIAL_TRICKS = {
    "AlwaysEqual": "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n"
    "    def __ne__(self, other):\n        return False\ndef {entry}(*args):\n    return AlwaysEqual()",
    "int subclass": "class I(int):\n    def __eq__(self, o):\n        return True\n"
    "def {entry}(*args):\n    return I(5)",
    "str subclass": "class S(str):\n    def __eq__(self, o):\n        return True\n"
    "def {entry}(*args):\n    return S('x')",
    "list subclass": "class L(list):\n    def __eq__(self, o):\n        return True\n"
    "def {entry}(*args):\n    return L()",
    "__bool__ of the comparison": "class T:\n    def __bool__(self):\n        return True\n"
    "class E:\n    def __eq__(self, o):\n        return T()\n    __ne__ = __eq__\n"
    "def {entry}(*args):\n    return E()",
    "monkeypatched builtins and operator": (  # one lying bool() per call, then the real one back
        "import builtins, operator\n"
        "def {entry}(*args):\n"
        "    real = builtins.bool\n"
        "    def lying_bool(*a):\n"
        "        builtins.bool = real\n"
        "        return True\n"
        "    builtins.bool = lying_bool\n"
        "    operator.eq = lambda a, b: True\n"
        "    return None"
    ),
    "walking frames and gc to the expected output": (
        "import gc, sys\n"
        "def {entry}(*args):\n"
        "    for thing in gc.get_objects():  # a comparator in reach: make it agree\n"
        "        if hasattr(type(thing), 'matches'):\n"
        "            thing.matches = lambda *a: True\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:  # the expected output in a caller's locals: return it\n"
        "        for name in ('want', 'exp', 'expected'):\n"
        "            if name in frame.f_locals:\n"
        "                return frame.f_locals[name]\n"
        "        frame = frame.f_back\n"
        "    return None"
    ),
}
TRICK_TASKS = {"humaneval+": "HumanEval/0", "mbpp+": "Mbpp/3"}  # both return bools
# Right only within evalplus's tolerance (an exact comparison would fail them).
TOLERANT_SAMPLES = {
    "humaneval+": ("HumanEval/2", "def truncate_number(number):\n    return number % 1.0 + 1e-9\n"),
    "mbpp+": ("Mbpp/82", "def volume_sphere(r):\n    return (4 / 3) * 3.14159265 * r ** 3\n"),
}


@pytest.fixture(scope="module", params=BACKENDS)
def plus_sandbox(request, tmp_path_factory):
    with (
        pytest.MonkeyPatch.context() as patch,
        open_sandbox(request, limits_profile("evaluation")) as box,
    ):
        patch.setenv(CACHE_DIR_ENV, str(tmp_path_factory.mktemp("cache")))  # never the user's cache
        wanted = {TRICK_TASKS[bench] for bench in TRICK_TASKS} | {t for t, _ in TOLERANT_SAMPLES.values()}
        problems = [p for bench in TRICK_TASKS for p in load_problems(bench, DATA_DIR) if p.task_id in wanted]
        expected = with_expected_outputs(problems, backend=request.param, workers=1, progress=False)
        yield box, {problem.task_id: problem for problem in expected}


@pytest.mark.parametrize("trick", list(DIFFERENTIAL_TRICKS))
@pytest.mark.parametrize("bench", list(TRICK_TASKS))
def test_an_equality_trick_cannot_forge_a_differential_check(plus_sandbox, bench: str, trick: str) -> None:
    box, problems = plus_sandbox
    problem = problems[TRICK_TASKS[bench]]
    program = DIFFERENTIAL_TRICKS[trick].replace("{entry}", problem.entry_point)
    verdict = box.run(jobs.build_job(problem, solution=program))
    assert not verdict.passed and len(verdict.tests) == 2, verdict
    assert not any(t.status == "passed" for t in verdict.tests), (trick, verdict.tests)


@pytest.mark.parametrize("bench", list(TRICK_TASKS))
def test_honest_samples_pass_differential_checks_and_a_wrong_one_fails(plus_sandbox, bench: str) -> None:
    box, problems = plus_sandbox
    problem = problems[TRICK_TASKS[bench]]
    tolerant_task, tolerant_program = TOLERANT_SAMPLES[bench]
    assert box.run(jobs.build_job(problem, solution=problem.reference_program)).passed
    verdict = box.run(jobs.build_job(problems[tolerant_task], solution=tolerant_program))
    assert verdict.passed, verdict.tests
    verdict = box.run(
        jobs.build_job(problem, solution=f"def {problem.entry_point}(*args):\n    return False\n")
    )
    assert not verdict.passed and "expected True, got False" in verdict.tests[0].error, verdict.tests


@pytest.mark.docker
def test_mbpp_references_pass_their_own_tests() -> None:
    outcomes = check_references("mbpp", workers=2, data_dir=DATA_DIR, progress=False)
    assert len(outcomes) == 974
    failing = {problem.task_id for problem, verdict in outcomes if not verdict.passed}
    # Mbpp/123 (amicable numbers below 10,000) is the one reference that can exceed the 3 s limit.
    assert failing <= {"Mbpp/123"}, failing


@pytest.mark.docker
def test_cli_prints_json(tmp_path: Path) -> None:
    from codepref.cli import app

    problems = load_problems("humaneval")[:3]
    rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in problems]
    rows.append({"task_id": problems[0].task_id, "completion": "    return None\n"})
    path = write_samples(tmp_path / "s.jsonl", rows)
    result = CliRunner().invoke(app, ["eval", "humaneval", str(path), "-k", "1", "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["samples"] == 4 and report["problems_evaluated"] == 3
    assert report["scores"]["pass@1"] == pytest.approx((0.5 + 1 + 1) / 3)


# ------------------------------------------------------------------------------------ faults and pools


class ScriptedSandbox:
    """Stands in for a sandbox pool: each job gets the status `status_of(job)` names."""

    def __init__(self, status_of) -> None:
        self.status_of = status_of

    def run_many(self, jobs_to_run):
        for job in jobs_to_run:
            yield Verdict(job_id=job.job_id, status=self.status_of(job), error="scripted")

    def __enter__(self) -> ScriptedSandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        pass


def crashes_when_wrong(job) -> Status:
    return Status.SANDBOX_ERROR if "wrong" in job.program else Status.PASSED


def test_a_sample_whose_sandbox_fault_persists_counts_as_failed_and_is_reported(tmp_path: Path) -> None:
    """A model that breaks the sandbox on every wrong answer scores what it earned: 1 right in 10."""
    problem = load_problems("humaneval")[0]
    rows = [{"task_id": problem.task_id, "completion": problem.canonical_solution}]
    rows += [{"task_id": problem.task_id, "completion": f"    return 'wrong {i}'\n"} for i in range(9)]
    path = write_samples(tmp_path / "samples.jsonl", rows)
    report = evaluate_samples(
        "humaneval", path, ks=(1,), progress=False, sandbox=ScriptedSandbox(crashes_when_wrong)
    )
    assert report.scores == {"pass@1": pytest.approx(0.1)} and report.samples == 10
    assert report.sandbox_errors == 9 and report.statuses == {"passed": 1, "sandbox_error": 9}
    records = records_of(tmp_path / "samples_results.jsonl")
    assert (
        sorted((r["status"], r["passed"]) for r in records)
        == [("passed", True)] + [("sandbox_error", False)] * 9
    )
    # A rerun runs the sandbox errors again; their newer records count.
    rerun = evaluate_samples(
        "humaneval", path, ks=(1,), progress=False, sandbox=ScriptedSandbox(lambda job: Status.FAILED)
    )
    assert rerun.sandbox_errors == 0 and rerun.statuses == {"passed": 1, "failed": 9}
    assert rerun.scores == {"pass@1": pytest.approx(0.1)} and rerun.samples == 10


def test_the_cli_reports_sandbox_errors_counted_as_failed(tmp_path: Path, monkeypatch) -> None:
    from codepref.cli import app
    from codepref.evaluate import harness

    monkeypatch.setattr(harness, "Sandbox", lambda **options: ScriptedSandbox(crashes_when_wrong))
    problem = load_problems("humaneval")[0]
    rows = [{"task_id": problem.task_id, "completion": problem.canonical_solution}]
    rows.append({"task_id": problem.task_id, "completion": "    return 'wrong'\n"})
    path = write_samples(tmp_path / "s.jsonl", rows)
    result = CliRunner().invoke(app, ["eval", "humaneval", str(path), "-k", "1", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["scores"] == {"pass@1": 0.5} and report["sandbox_errors"] == 1
    assert (
        "1 sample(s) hit sandbox errors (infrastructure faults, retried once) and count as failed"
        in result.stderr
    )
    result = CliRunner().invoke(app, ["eval", "humaneval", str(path), "-k", "1"])
    assert "sandbox errors: 1 sample(s), counted as failed in pass@k" in result.stdout


def test_canonical_outputs_are_computed_on_a_pool_of_their_own_closed_before_any_sample_runs(
    tmp_path: Path, monkeypatch
) -> None:
    from codepref.evaluate import expected
    from codepref.sandbox import Sandbox

    events = []

    class Tracked(Sandbox):
        def run_many(self, jobs_to_run):
            jobs_to_run = list(jobs_to_run)
            events.append(("run", self, [job.job_id for job in jobs_to_run]))
            return super().run_many(jobs_to_run)

        def close(self) -> None:
            super().close()
            events.append(("close", self, []))

    monkeypatch.setattr(expected, "Sandbox", Tracked)
    data = trimmed_data_dir(tmp_path, ["HumanEval/0"], plus_inputs=5)
    (problem,) = load_problems("humaneval+", data)
    rows = [
        {"task_id": problem.task_id, "solution": problem.reference_program},
        {
            "task_id": problem.task_id,
            "solution": "def has_close_elements(numbers, threshold):\n    return True\n",
        },
    ]
    path = write_samples(tmp_path / "samples.jsonl", rows)
    limits = limits_profile("evaluation")
    options = {"ks": (1,), "backend": "process", "workers": 1, "data_dir": data, "progress": False}
    with Tracked(backend="process", workers=1, limits=limits) as callers:
        report = evaluate_samples("humaneval+", path, sandbox=callers, **options)
    # The canonical run had a pool of its own, closed before any sample ran; the samples' pool ran only them.
    seen = [(kind, "samples'" if pool is callers else "own", ids) for kind, pool, ids in events]
    assert [event[:2] for event in seen] == [
        ("run", "own"),
        ("close", "own"),
        ("run", "samples'"),
        ("close", "samples'"),
    ]
    assert events[0][1] is events[1][1] and seen[2][2] == ["line-1", "line-2"]
    own_pools = evaluate_samples("humaneval+", path, results_path=tmp_path / "own.jsonl", **options)
    assert report.scores == own_pools.scores == {"pass@1": 0.5}
    assert report.base_scores == own_pools.base_scores
    assert [r["passed"] for r in records_of(tmp_path / "samples_results.jsonl")] == [True, False]
