"""Judges that read a model, on the same `Judge` interface as execution, and the pair records they produce.

    model = JudgeModel("path/to/policy")
    judge = build_judge(JudgeSettings(name="logit"), model)
    pairs = judged_pairs(judge, prompt, candidates)          # JudgedPair records, TRL format + confidence

Judges by name: logit (SPA/Selfie logit self-judge), self_reference (self-reference AI feedback),
implicit_reward (DPO's beta * log(pi / pi_ref); needs a reference model), self_rationalizing (k sampled
rationale + score judgments), consistency (SCIR: a pair survives only when its member judges agree).
Pair sources beyond ranking live in `refinement` (self-refinement) and `sourcing` (single vs multi-model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codepref.model_judges.consistency import ConsistencyFilter
from codepref.model_judges.implicit_reward import ImplicitRewardJudge
from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.logit import LogitSelfJudge
from codepref.model_judges.pairwise import PreferenceJudge, oriented_pair
from codepref.model_judges.self_rationalizing import SelfRationalizingJudge
from codepref.model_judges.self_reference import SelfReferenceJudge
from codepref.model_judges.sourcing import pair_source
from codepref.rank.judge import POLICY_SOURCE, Judge, JudgedPair

JUDGES = ("logit", "self_reference", "implicit_reward", "self_rationalizing", "consistency")


@dataclass(frozen=True)
class JudgeSettings:
    name: str = "logit"
    beta: float = 0.1  # implicit_reward
    members: tuple[str, ...] = ("logit", "implicit_reward")  # consistency: the judges that vote
    min_agreement: float = 1.0  # consistency: share of member judges that must agree (1: all)
    k: int = 4  # self_rationalizing: judgments per candidate
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(self.members))
        unknown = [n for n in (self.name, *self.members) if n not in JUDGES]
        if unknown:
            raise ValueError(f"unknown judge {unknown[0]!r}; choose one of {', '.join(JUDGES)}")
        if "consistency" in self.members:
            raise ValueError("a consistency filter cannot be one of its own members")


def build_judge(
    settings: JudgeSettings,
    policy: JudgeModel,
    reference: JudgeModel | None = None,
    extra_members: Sequence[Judge] = (),
) -> Judge | ConsistencyFilter:
    """The named judge on `policy`; `extra_members` (e.g. an `ExecutionJudge`) join a consistency vote."""
    if settings.name == "consistency":
        members = [
            build_judge(
                JudgeSettings(name=m, beta=settings.beta, k=settings.k, seed=settings.seed), policy, reference
            )
            for m in settings.members
        ]
        return ConsistencyFilter([*members, *extra_members], min_agreement=settings.min_agreement)
    if settings.name == "logit":
        return LogitSelfJudge(policy)
    if settings.name == "self_reference":
        return SelfReferenceJudge(policy, seed=settings.seed)
    if settings.name == "self_rationalizing":
        return SelfRationalizingJudge(policy, k=settings.k, seed=settings.seed)
    if reference is None:
        raise ValueError("the implicit_reward judge needs a reference model (the policy before training)")
    return ImplicitRewardJudge(policy, reference, beta=settings.beta)


def judged_pairs(
    judge: Judge | ConsistencyFilter,
    prompt: str,
    candidates: Sequence[str],
    *,
    sources: Sequence[str] | None = None,
    pairs_per_prompt: int = 1,
    min_confidence: float = 0.0,
    task_id: str = "",
) -> list[JudgedPair]:
    """The most confident pairs among `candidates` (distinct texts, each text in at most one pair per side
    chosen first), at most `pairs_per_prompt`, each tagged with where its two sides came from."""
    source_of: Mapping[str, str] = {}
    if sources is not None:
        source_of = dict(reversed(list(zip(candidates, sources, strict=True))))  # first occurrence wins
    distinct = list(dict.fromkeys(candidates))
    if len(distinct) < 2:
        return []
    if isinstance(judge, ConsistencyFilter):
        pairs = judge.filter(prompt, distinct, task_id=task_id)
    elif isinstance(judge, PreferenceJudge):
        pairs = [
            oriented_pair(prompt, distinct, v, judge.name, task_id=task_id)
            for v in judge.pair_verdicts(prompt, distinct)
        ]
    else:
        pairs = _best_against_worst(judge, prompt, distinct, task_id)
    pairs = sorted((p for p in pairs if p.confidence >= min_confidence), key=lambda p: -p.confidence)
    kept: list[JudgedPair] = []
    for pair in pairs:
        if len(kept) == pairs_per_prompt:
            break
        if any(pair.chosen == k.chosen and pair.rejected == k.rejected for k in kept):
            continue
        pair.source = pair_source(
            source_of.get(pair.chosen, POLICY_SOURCE), source_of.get(pair.rejected, POLICY_SOURCE)
        )
        kept.append(pair)
    return kept


def _best_against_worst(judge: Judge, prompt: str, candidates: list[str], task_id: str) -> list[JudgedPair]:
    """A score-only judge: the top-scored candidate against each lower-scored one."""
    scores = judge.score(prompt, candidates)
    order = sorted(range(len(candidates)), key=lambda i: -scores[i].score)
    best = order[0]
    return [
        JudgedPair(
            prompt=prompt,
            chosen=candidates[best],
            rejected=candidates[other],
            judge=judge.name,
            preference=1.0,
            confidence=(scores[best].confidence + scores[other].confidence) / 2.0,
            margin=scores[best].score - scores[other].score,
            task_id=task_id,
        )
        for other in reversed(order[1:])
        if scores[other].score < scores[best].score
    ]
