"""Self-refinement pairs (EVOLVE, "Evolving LLMs' Self-Refinement Capability via Iterative Preference
Optimization"; SCL, "Self-Correction is More than Refinement"): the model answers, gets feedback, refines its
own answer, and the two answers become a preference pair in whichever direction the judge says.

Feedback comes from a `Feedback` callable: for code, `SandboxFeedback` runs the answer against the prompt's
tests in the sandbox and reports the first failing test with its error (no feedback at all when every test
passes: there is nothing to refine); for text, `GENERIC_FEEDBACK` asks the model to check its own answer.
The verdict comes from any `Judge` (an `ExecutionJudge` for code, a self-judge for text): refined over
initial when it scores the refinement higher, initial over refined when lower, no pair on a tie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from codepref.matrix import job_timeout_for
from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.pairwise import pair_probabilities
from codepref.rank.judge import Judge, JudgedPair
from codepref.sandbox import Job, Status

log = logging.getLogger(__name__)

Feedback = Callable[[str, str], "str | None"]
"""(prompt, answer) -> feedback text for the refinement, or None when the answer needs none."""

GENERIC_FEEDBACK = "Check the answer above for mistakes or omissions."
REFINE_TEMPLATE = (
    "Request:\n{prompt}\n\n"
    "Previous answer:\n{answer}\n\n"
    "Feedback:\n{feedback}\n\n"
    "Write a corrected, complete answer to the request."
)
REFINEMENT_SOURCE = "refinement"


def generic_feedback(prompt: str, answer: str) -> str:
    return GENERIC_FEEDBACK


class SandboxFeedback:
    """Runs `prompt + answer` against the prompt's tests in the sandbox; reports the first failing test."""

    def __init__(
        self,
        sandbox: object,
        tests: Mapping[str, Sequence[str]],
        *,
        test_timeout_s: float = 3.0,
        program: Callable[[str, str], str] = lambda prompt, answer: prompt + answer + "\n",
    ) -> None:
        self.sandbox = sandbox
        self.tests = tests
        self.test_timeout_s = test_timeout_s
        self.program = program

    def __call__(self, prompt: str, answer: str) -> str | None:
        tests = tuple(self.tests.get(prompt, ()))
        job = Job(
            program=self.program(prompt, answer),
            tests=tests,
            as_main=False,
            test_timeout_s=self.test_timeout_s,
            timeout_s=job_timeout_for(len(tests), self.test_timeout_s),
        )
        verdict = self.sandbox.run(job)
        if verdict.status == Status.SANDBOX_ERROR:  # fails like any other run, with its error as feedback
            log.warning("sandbox error while getting feedback (counted as failing): %s", verdict.error)
        for test, result in zip(tests, verdict.tests, strict=False):
            if result.status == Status.PASSED:
                continue
            if result.status == Status.NOT_RUN:
                break  # the program died before this test: its own error is the feedback
            return f"This test fails ({result.status}): {test.strip()}\n{result.error}".rstrip()
        if verdict.status != Status.PASSED:
            return f"Running the code failed: {verdict.error or verdict.status}"
        return None


def refinement_pairs(
    model: JudgeModel,
    prompts: Sequence[str],
    judge: Judge,
    *,
    feedback: Feedback = generic_feedback,
    initial: Sequence[str] | None = None,
    max_tokens: int = 256,
    seed: int = 0,
    task_ids: Sequence[str] | None = None,
) -> list[JudgedPair]:
    """One refinement per prompt (batched sampling); a pair wherever the judge separates the two answers.

    `initial` gives the first answers when they already exist (e.g. the round's samples); otherwise the
    model answers greedily. The pair's prompt is the original request: the refined answer is trained as an
    answer to it, which is how refinement becomes a better first answer next round.
    """
    answers = (
        list(initial)
        if initial is not None
        else [
            per[0]
            for per in model.sample([model.instruction(p) for p in prompts], max_tokens=max_tokens, seed=seed)
        ]
    )
    notes = [feedback(prompt, answer) for prompt, answer in zip(prompts, answers, strict=True)]
    to_refine = [k for k, note in enumerate(notes) if note is not None]
    questions = [
        model.instruction(REFINE_TEMPLATE.format(prompt=prompts[k], answer=answers[k], feedback=notes[k]))
        for k in to_refine
    ]
    refined = (
        [per[0] for per in model.sample(questions, max_tokens=max_tokens, seed=seed)] if questions else []
    )
    pairs = []
    for k, better_try in zip(to_refine, refined, strict=True):
        if better_try.strip() == answers[k].strip():
            continue
        probability = float(pair_probabilities(judge, prompts[k], [better_try, answers[k]])[0, 1])
        if probability == 0.5:
            continue
        improved = probability > 0.5
        pairs.append(
            JudgedPair(
                prompt=prompts[k],
                chosen=better_try if improved else answers[k],
                rejected=answers[k] if improved else better_try,
                judge=judge.name,
                preference=max(probability, 1.0 - probability),
                confidence=abs(2.0 * probability - 1.0),
                margin=abs(2.0 * probability - 1.0),
                source=REFINEMENT_SOURCE,
                kind="refinement" if improved else "regression",
                task_id=task_ids[k] if task_ids is not None else "",
            )
        )
    return pairs
