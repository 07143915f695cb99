"""Whether sampled programs pass their problem's hidden tests, in memory: the truth a benchmark measures
a ranker's or a judge's picks against (the loop itself never sees the hidden tests). `evaluate_samples`
is the resumable, file-based way to score a samples file."""

from __future__ import annotations

from collections.abc import Sequence

from codepref.evaluate.jobs import build_job
from codepref.sandbox import Sandbox
from codepref.tasks.problem import Problem


def hidden_verdicts(
    problems: Sequence[Problem], programs: Sequence[Sequence[str]], sandbox: Sandbox
) -> list[list[bool]]:
    """Whether each of `programs[i]`, full programs for `problems[i]`, passes that problem's hidden tests,
    in the shape of `programs`. Each distinct program of a problem runs once, in `sandbox`; a plus problem
    needs its expected outputs first (`codepref.evaluate.expected`)."""
    jobs, owners = [], {}
    for index, (problem, per) in enumerate(zip(problems, programs, strict=True)):
        for program in dict.fromkeys(per):
            job_id = f"{index}:{len(owners)}"
            owners[job_id] = (index, program)
            jobs.append(build_job(problem, solution=program, job_id=job_id))
    passed = {owners[verdict.job_id]: verdict.passed for verdict in sandbox.run_many(jobs)}
    return [[passed[(index, program)] for program in per] for index, per in enumerate(programs)]
