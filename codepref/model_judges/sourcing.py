"""Where the responses in a pair come from: the policy's own samples (the default), or, only when a config
names other models, a pool mixing in their responses ("More is Less: The Pitfalls of Multi-Model Synthetic
Preference Data in DPO Safety Alignment" found mixed-model pairs easier to game than single-model ones, so
mixing is opt-in and every pair says where its two sides came from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codepref.model_judges.lm import JudgeModel
from codepref.rank.judge import POLICY_SOURCE


@dataclass(frozen=True)
class SourcedResponse:
    text: str
    source: str  # "policy" or the other model's name


def candidate_pool(
    prompts: Sequence[str],
    policy: JudgeModel,
    *,
    n: int,
    others: Mapping[str, JudgeModel] | None = None,
    n_other: int = 1,
    max_tokens: int = 256,
    temperature: float = 0.8,
    seed: int = 0,
) -> list[list[SourcedResponse]]:
    """`n` policy samples per prompt, plus `n_other` from each of `others` when (and only when) given."""
    contexts = [policy.instruction(p) for p in prompts]
    pools = [
        [SourcedResponse(text, POLICY_SOURCE) for text in per]
        for per in policy.sample(contexts, n=n, max_tokens=max_tokens, temperature=temperature, seed=seed)
    ]
    for name, model in (others or {}).items():
        other_contexts = [model.instruction(p) for p in prompts]
        samples = model.sample(
            other_contexts, n=n_other, max_tokens=max_tokens, temperature=temperature, seed=seed
        )
        for pool, per in zip(pools, samples, strict=True):
            pool.extend(SourcedResponse(text, name) for text in per)
    return pools


def pair_source(first: str, second: str) -> str:
    """ "policy" when both sides are the policy's; otherwise "multi:" and the other models involved."""
    others = sorted({s for s in (first, second) if s != POLICY_SOURCE})
    return POLICY_SOURCE if not others else "multi:" + "+".join(others)
