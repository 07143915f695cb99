"""Implicit-reward judge: DPO's reward read off a policy and its reference, r(y) = beta * log(pi(y|x) / pi_ref(y|x)).

A DPO-trained policy is a reward model relative to the model it started from; this judge scores each candidate
by that reward (two forward passes per candidate, batched) and compares candidates by the Bradley-Terry
probability sigmoid(r_i - r_j), the same probability DPO's loss fits. The margin of a pair is r_i - r_j.
With `prompt_as_chat`, the prompt is wrapped in the chat template first (train and judge on the same text).
"""

from __future__ import annotations

from collections.abc import Sequence

from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.pairwise import OrderedVerdict, PreferenceJudge, sigmoid
from codepref.rank.judge import JudgedScore


class ImplicitRewardJudge(PreferenceJudge):
    name = "implicit_reward"

    def __init__(
        self, policy: JudgeModel, reference: JudgeModel, *, beta: float = 0.1, prompt_as_chat: bool = False
    ) -> None:
        if beta <= 0:
            raise ValueError(f"beta must be positive, got {beta}")
        self.policy = policy
        self.reference = reference
        self.beta = beta
        self.prompt_as_chat = prompt_as_chat

    def rewards(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        context = self.policy.instruction(prompt) if self.prompt_as_chat else prompt
        contexts = [context] * len(candidates)
        policy = self.policy.completion_logprobs(contexts, list(candidates))
        reference = self.reference.completion_logprobs(contexts, list(candidates))
        return [self.beta * (p.total - r.total) for p, r in zip(policy, reference, strict=True)]

    def prefer_first(self, prompt: str, ordered_pairs: Sequence[tuple[str, str]]) -> list[OrderedVerdict]:
        texts = list(dict.fromkeys(text for pair in ordered_pairs for text in pair))
        reward = dict(zip(texts, self.rewards(prompt, texts), strict=True))
        return [
            OrderedVerdict(probability=sigmoid(reward[a] - reward[b]), strength=reward[a] - reward[b])
            for a, b in ordered_pairs
        ]

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        """The reward itself is the score; confidence is the mean decisiveness of its pairwise probabilities."""
        rewards = self.rewards(prompt, candidates)
        opponents = max(len(candidates) - 1, 1)
        return [
            JudgedScore(
                score=reward,
                confidence=sum(abs(2.0 * sigmoid(reward - other) - 1.0) for other in rewards) / opponents,
                details={"judge": self.name, "beta": self.beta},
            )
            for reward in rewards
        ]
