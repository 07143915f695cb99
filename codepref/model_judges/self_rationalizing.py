"""Self-rationalizing judge ("Self-rationalization improves LLM as a fine-grained judge"): for every candidate
the judge samples k judgments, each a written rationale followed by a score, and its own judgments become
preference pairs for training the judge.

A judgment's score is read, not sampled: after the sampled rationale and "Score: ", the probabilities of the
score labels "1".."5" (renormalised over just those labels) give an expected score. A candidate's score is the
mean of its k judgments; its confidence is how closely they agree, 1 - std / (the largest possible std).

`rationale_pairs` turns the judgments into training data for the judge itself: per candidate, the judgment
whose score is closest to the k-judgment consensus is chosen over the one farthest from it (when they differ
by at least `min_gap`), both as "rationale + Score: n" continuing the judge's own rating prompt. Those pairs go
through the same `train` stage as any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codepref.model_judges.lm import JudgeModel
from codepref.rank.judge import Judge, JudgedPair, JudgedScore

RATING_TEMPLATE = (
    "Rate how well the response answers the request, from 1 (useless) to 5 (fully correct and helpful).\n\n"
    "Request:\n{prompt}\n\n"
    "Response:\n{response}\n\n"
    "Explain your rating briefly, then give it as 'Score: n'."
)
SCORE_LABELS = ("1", "2", "3", "4", "5")
SCORE_CUE = "\nScore: "


@dataclass(frozen=True)
class Judgment:
    rationale: str
    score: float  # expected score in [1, 5]

    def text(self) -> str:
        return f"{self.rationale}{SCORE_CUE}{round(self.score)}"


class SelfRationalizingJudge(Judge):
    name = "self_rationalizing"

    def __init__(
        self,
        model: JudgeModel,
        *,
        k: int = 4,
        temperature: float = 1.0,
        rationale_tokens: int = 96,
        seed: int = 0,
    ) -> None:
        if k < 2:
            raise ValueError(f"k must be at least 2 (judgments are compared with each other), got {k}")
        self.model = model
        self.k = k
        self.temperature = temperature
        self.rationale_tokens = rationale_tokens
        self.seed = seed
        self.label_ids = model.label_token_ids(SCORE_LABELS)

    def rating_context(self, prompt: str, response: str) -> str:
        return self.model.instruction(RATING_TEMPLATE.format(prompt=prompt, response=response))

    def judgments(self, prompt: str, candidates: Sequence[str]) -> list[list[Judgment]]:
        """k judgments per candidate: sampled rationales, each scored from the score labels' logits."""
        contexts = [self.rating_context(prompt, candidate) for candidate in candidates]
        rationales = self.model.sample(
            contexts, n=self.k, temperature=self.temperature, max_tokens=self.rationale_tokens, seed=self.seed
        )
        cued = [
            f"{context}{rationale}{SCORE_CUE}"
            for context, per in zip(contexts, rationales, strict=True)
            for rationale in per
        ]
        logp = self.model.next_token_logprobs(cued, self.label_ids)
        probabilities = np.exp(logp - logp.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        expected = probabilities @ np.arange(1, len(SCORE_LABELS) + 1, dtype=np.float64)
        flat = [r for per in rationales for r in per]
        judgments = [
            Judgment(rationale, float(score)) for rationale, score in zip(flat, expected, strict=True)
        ]
        return [judgments[c * self.k : (c + 1) * self.k] for c in range(len(candidates))]

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        widest_std = (len(SCORE_LABELS) - 1) / 2.0  # half the judgments at each end of the scale
        results = []
        for per_candidate in self.judgments(prompt, candidates):
            scores = np.array([j.score for j in per_candidate])
            results.append(
                JudgedScore(
                    score=float(scores.mean()),
                    confidence=float(np.clip(1.0 - scores.std() / widest_std, 0.0, 1.0)),
                    details={"judge": self.name, "scores": scores.round(4).tolist()},
                )
            )
        return results

    def rationale_pairs(
        self, prompt: str, candidates: Sequence[str], *, min_gap: float = 0.25, task_id: str = ""
    ) -> list[JudgedPair]:
        """Per candidate, the judgment nearest the consensus score chosen over the farthest one."""
        pairs = []
        for candidate, per_candidate in zip(candidates, self.judgments(prompt, candidates), strict=True):
            consensus = float(np.mean([j.score for j in per_candidate]))
            by_distance = sorted(per_candidate, key=lambda j: abs(j.score - consensus))
            best, worst = by_distance[0], by_distance[-1]
            gap = abs(worst.score - consensus) - abs(best.score - consensus)
            if gap < min_gap or best.text() == worst.text():
                continue
            pairs.append(
                JudgedPair(
                    prompt=self.rating_context(prompt, candidate),
                    chosen=best.text(),
                    rejected=worst.text(),
                    judge=self.name,
                    preference=0.5 + 0.5 * min(1.0, gap / (len(SCORE_LABELS) - 1)),
                    confidence=float(min(1.0, gap / (len(SCORE_LABELS) - 1))),
                    margin=gap,
                    kind="rationale",
                    task_id=task_id,
                )
            )
        return pairs
