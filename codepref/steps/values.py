"""The value of a prefix (the prompt and the first steps of a body): the mean score of N sampled
continuations of it, each finished program run in the sandbox against the problem's verifier.

The verifier is the ranker's, so no hidden truth is used: the problem's sampled tests and the prompt's
examples, counted as the matrix stage counts them (`codepref.matrix.examples`), and a program scores the
share of those counts whose test it passes. The `oracle` verifier runs the hidden tests instead (the job
`codepref eval` runs) and scores 1 or 0: it is the upper bound, and what pair precision is measured with.

Rollouts are cached in one JSONL file: a line per sampled continuation (prefix, text) and a line per
executed program (verifier, program hash, score). Continuations do not depend on the verifier, so the
oracle scores the very programs the sampled verifier scored. Shared prefixes are sampled once, identical
programs run once, and a rerun (after a kill too) reads the file and samples or executes nothing already
done.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from codepref.evaluate.jobs import build_job
from codepref.generate.base import GenerationRequest, Generator
from codepref.matrix.build import MatrixProblem, tests_job
from codepref.matrix.examples import DEFAULT_EXAMPLE_WEIGHT, prompt_example_tests, with_example_tests
from codepref.matrix.extraction import CODET_TESTS_PER_SAMPLE, DEFAULT_TEST_TIMEOUT_S
from codepref.records import append_record, drop_torn_tail, read_jsonl
from codepref.sandbox import Sandbox
from codepref.sandbox.types import Job, Status, Verdict
from codepref.settings import check_settings, raise_problems, setting
from codepref.tasks.problem import Problem


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Verifier(Protocol):
    """How a finished program is run and scored; `fingerprint` names it in the rollout cache."""

    fingerprint: str

    def job(self, program: str) -> Job: ...

    def score(self, verdict: Verdict) -> float: ...


@dataclass(frozen=True)
class SampledVerifier:
    """Test snippets with counts; a program scores the counted share of the tests it passes."""

    tests: tuple[str, ...]
    counts: tuple[int, ...]
    entry_point: str
    test_timeout_s: float = DEFAULT_TEST_TIMEOUT_S
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.tests or sum(self.counts) <= 0:
            raise ValueError("a sampled verifier needs at least one test with a positive count")
        blob = json.dumps([self.tests, self.counts, self.entry_point, self.test_timeout_s])
        object.__setattr__(self, "fingerprint", "sampled:" + digest(blob))

    def job(self, program: str) -> Job:
        return tests_job(program, self.tests, self.test_timeout_s, entry_point=self.entry_point)

    def score(self, verdict: Verdict) -> float:
        passed = sum(c for c, t in zip(self.counts, verdict.tests, strict=False) if t.status == Status.PASSED)
        return passed / sum(self.counts)


def sampled_verifier(
    prompt: str,
    entry_point: str,
    raw_tests: list[str],
    example_weight: int = DEFAULT_EXAMPLE_WEIGHT,
    tests_per_sample: int | None = CODET_TESTS_PER_SAMPLE,
    test_timeout_s: float = DEFAULT_TEST_TIMEOUT_S,
) -> SampledVerifier:
    """The matrix stage's tests for one problem: CodeT's extraction of the raw sampled test completions,
    and the prompt's examples counted `example_weight` times each."""
    problem = MatrixProblem.from_raw("", prompt, entry_point, [], raw_tests, limit=tests_per_sample)
    examples = prompt_example_tests(prompt, entry_point) if example_weight else []
    problem = with_example_tests(problem, examples, example_weight)
    return SampledVerifier(tuple(problem.tests), tuple(problem.test_counts), entry_point, test_timeout_s)


@dataclass(frozen=True)
class OracleVerifier:
    """The benchmark's hidden tests: 1 when the program passes them all, else 0."""

    problem: Problem
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        p = self.problem
        blob = json.dumps([p.benchmark, p.task_id, p.test_code, list(p.test_list), p.test_setup_code])
        object.__setattr__(self, "fingerprint", "oracle:" + digest(blob))

    def job(self, program: str) -> Job:
        return build_job(self.problem, solution=program)

    def score(self, verdict: Verdict) -> float:
        return float(verdict.passed)


@dataclass(frozen=True)
class StepProblem:
    """One problem as the step search sees it: the prompt every prefix starts with, the stop sequences
    that end a continuation, and the verifier its programs are scored by."""

    task_id: str
    prompt: str
    stops: tuple[str, ...]
    verifier: Verifier


@dataclass(frozen=True)
class Rollout:
    continuation: str
    finish_reason: str
    score: float


@dataclass(frozen=True)
class Sampling:
    temperature: float = setting(0.8, "Rollout sampling temperature.", minimum=0)
    top_p: float = setting(0.95, "Nucleus sampling's probability mass.", above=0, maximum=1)
    max_tokens: int = setting(256, "Tokens per rollout.", minimum=1)
    seed: int = setting(0, "Sampling seed.")

    def __post_init__(self) -> None:
        # GenerationRequest checks these too, but only once the model has loaded and sampling starts.
        raise_problems(check_settings(self))


@dataclass
class Usage:
    """What one problem's pairs cost: rollouts used and distinct programs scored, whether this process or
    an earlier one sampled and ran them (so a resumed run reports the same)."""

    rollouts: set[tuple[str, int]] = field(default_factory=set)
    programs: set[str] = field(default_factory=set)


class RolloutEngine:
    """Samples and scores rollouts of prefixes through one generator and one sandbox, cached in a file.

    `sampled` and `executed` count what this process did itself; `usage[task_id]` what each problem used."""

    def __init__(
        self,
        generator: Generator,
        sandbox: Sandbox,
        cache_path: str | Path,
        sampling: Sampling = Sampling(),
        prompts_per_call: int = 8,
    ) -> None:
        self.generator, self.sandbox, self.sampling = generator, sandbox, sampling
        self.prompts_per_call = prompts_per_call
        self.path = Path(cache_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        drop_torn_tail(self.path)
        self.continuations: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.scores: dict[tuple[str, str], float] = {}
        for row in read_jsonl(self.path):
            if "continuation" in row:
                self.continuations[row["prefix"]].append((row["continuation"], row["finish_reason"]))
            else:
                self.scores[(row["verifier"], row["program"])] = row["score"]
        self.sampled = self.executed = 0
        self.usage: dict[str, Usage] = defaultdict(Usage)

    def rollouts(self, problem: StepProblem, prefixes: list[str], n: int) -> list[list[Rollout]]:
        """The first `n` rollouts of each prefix, sampled and scored where the cache lacks them."""
        self._sample(problem, prefixes, n)
        programs = {p: [p + text for text, _ in self.continuations[p][:n]] for p in prefixes}
        scores = self.score_programs(problem, [x for p in prefixes for x in programs[p]])
        usage = self.usage[problem.task_id]
        usage.rollouts.update((p, i) for p in prefixes for i in range(n))
        out, at = [], 0
        for p in prefixes:
            found = self.continuations[p][:n]
            out.append([Rollout(t, r, s) for (t, r), s in zip(found, scores[at : at + n], strict=True)])
            at += n
        return out

    def value(self, problem: StepProblem, prefix: str, n: int) -> float:
        (rollouts,) = self.rollouts(problem, [prefix], n)
        return sum(r.score for r in rollouts) / n

    def score_programs(self, problem: StepProblem, programs: list[str]) -> list[float]:
        """Each program's score under the problem's verifier; programs not in the cache run once each."""
        verifier = problem.verifier.fingerprint
        todo = {digest(p): p for p in programs if (verifier, digest(p)) not in self.scores}
        if todo:
            jobs = {digest(p): problem.verifier.job(p + "\n") for p in todo.values()}
            program_of = {job.job_id: key for key, job in jobs.items()}
            with self.path.open("a", encoding="utf-8") as handle:
                for verdict in self.sandbox.run_many(list(jobs.values())):
                    if verdict.status == Status.SANDBOX_ERROR:  # a fault, not the program's: not cached
                        continue
                    key, score = program_of[verdict.job_id], problem.verifier.score(verdict)
                    self.scores[(verifier, key)] = score
                    append_record(handle, {"verifier": verifier, "program": key, "score": score})
                    handle.flush()
                    self.executed += 1
        self.usage[problem.task_id].programs.update(digest(p) for p in programs)
        return [self.scores.get((verifier, digest(p)), 0.0) for p in programs]

    def _sample(self, problem: StepProblem, prefixes: list[str], n: int) -> None:
        missing: dict[int, list[str]] = defaultdict(list)
        for prefix in dict.fromkeys(prefixes):
            have = len(self.continuations[prefix])
            if have < n:
                missing[n - have].append(prefix)
        for count, group in missing.items():
            for start in range(0, len(group), self.prompts_per_call):
                chunk = group[start : start + self.prompts_per_call]
                request = GenerationRequest(
                    prompts=tuple(chunk),
                    n=count,
                    temperature=self.sampling.temperature,
                    top_p=self.sampling.top_p,
                    max_tokens=self.sampling.max_tokens,
                    stop=problem.stops,
                    # a stream per prefix and per batch of its rollouts, so a rerun samples the same texts
                    seed=(self.sampling.seed + zlib.crc32(f"{chunk[0]}#{n - count}".encode())) % 2**31,
                )
                completions = self.generator.generate(request)
                with self.path.open("a", encoding="utf-8") as handle:
                    for prefix, sampled in zip(chunk, completions, strict=True):
                        for c in sampled:
                            self.continuations[prefix].append((c.text, c.finish_reason))
                            append_record(
                                handle,
                                {"prefix": prefix, "continuation": c.text, "finish_reason": c.finish_reason},
                            )
                    handle.flush()
                self.sampled += sum(len(s) for s in completions)
