"""Step-DPO's pairs: the first wrong step of a wrong program against a step that keeps the value high.

The programs are the prompt's own rollouts (sampled from the prompt, so they also give the prompt's value).
For a program that scores below `threshold`, the values of its prefixes are estimated one step at a time;
the first step after which the value falls below the threshold while the previous prefix's was at or above
it is the bad step. The good step is the first step of a rollout from that same previous prefix: of the
distinct first steps of its rollouts that scored at or above the threshold, the one whose own prefix has the
highest value, if that value is at or above the threshold too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from codepref.settings import check_settings, raise_problems, setting
from codepref.steps.pair import StepPair
from codepref.steps.split import prefix_after, split_steps
from codepref.steps.values import RolloutEngine, StepProblem


@dataclass(frozen=True)
class StepDPOSettings:
    programs: int = setting(
        8, "Rollouts from the prompt: the programs searched for a first wrong step.", minimum=1
    )
    rollouts: int = setting(8, "Rollouts behind each prefix's value.", minimum=1)
    threshold: float = setting(0.5, "The value a good prefix keeps.", above=0, maximum=1)
    candidates: int = setting(3, "Good steps tried per bad step, most often sampled first.", minimum=1)
    lines_per_step: int | None = setting(
        None, "Lines per step (unset: logical lines, codepref.steps.split).", minimum=1
    )

    def __post_init__(self) -> None:
        raise_problems(check_settings(self))


def step_dpo_pairs(problem: StepProblem, engine: RolloutEngine, settings: StepDPOSettings) -> list[StepPair]:
    """At most one pair per distinct wrong program; a bad step is paired once per prefix."""
    (programs,) = engine.rollouts(problem, [problem.prompt], settings.programs)
    prompt_value = sum(r.score for r in programs) / len(programs)
    if prompt_value < settings.threshold:
        return []  # no prefix of any program can fall from above the threshold
    pairs: list[StepPair] = []
    seen: set[tuple[str, str]] = set()
    for rollout in {r.continuation: r for r in programs}.values():
        if rollout.score >= settings.threshold:
            continue
        steps = split_steps(rollout.continuation, settings.lines_per_step)
        found = first_drop(problem, engine, settings, steps, rollout.score)
        if found is None:
            continue
        before = prefix_after(problem.prompt, steps, found[0] - 1)
        bad_step = steps[found[0] - 1]
        if (before, bad_step) in seen:
            continue
        seen.add((before, bad_step))
        pair = good_step_pair(problem, engine, settings, before, bad_step, found)
        if pair is not None:
            pairs.append(pair)
    return pairs


def first_drop(
    problem: StepProblem, engine: RolloutEngine, settings: StepDPOSettings, steps: list[str], score: float
) -> tuple[int, float, int] | None:
    """(k, value after k steps, rollouts behind it) for the first k whose prefix value is below the
    threshold, the prefix of k - 1 steps being at or above it; the whole program's value is its own score.
    None when no step of it falls (the program's rollouts were unlucky)."""
    for k in range(1, len(steps) + 1):
        if k == len(steps):
            value, visits = score, 1
        else:
            value = engine.value(problem, prefix_after(problem.prompt, steps, k), settings.rollouts)
            visits = settings.rollouts
        if value < settings.threshold:
            return k, value, visits
    return None


def good_step_pair(
    problem: StepProblem,
    engine: RolloutEngine,
    settings: StepDPOSettings,
    before: str,
    bad_step: str,
    bad: tuple[int, float, int],
) -> StepPair | None:
    """The pair of `bad_step` (after `before`, with `first_drop`'s record) and the best good step."""
    k, bad_value, bad_visits = bad
    (rollouts,) = engine.rollouts(problem, [before], settings.rollouts)
    firsts = Counter(
        steps[0]
        for r in rollouts
        if r.score >= settings.threshold and (steps := split_steps(r.continuation, settings.lines_per_step))
    )
    candidates = [step for step, _ in firsts.most_common() if step != bad_step][: settings.candidates]
    valued = [(engine.value(problem, before + step, settings.rollouts), step) for step in candidates]
    good = [(value, step) for value, step in valued if value >= settings.threshold]
    if not good:
        return None
    value, step = max(good, key=lambda pair: pair[0])  # the first of equals: the most often sampled
    usage = engine.usage[problem.task_id]
    return StepPair(
        prompt=before,
        chosen=step,
        rejected=bad_step,
        task_id=problem.task_id,
        method="step-dpo",
        depth=k - 1,
        chosen_value=value,
        rejected_value=bad_value,
        chosen_visits=settings.rollouts,
        rejected_visits=bad_visits,
        rollouts=len(usage.rollouts),
        executions=len(usage.programs),
    )
