"""Self-reference judge (Bao et al., "Aligning LLMs from Self-Reference AI Feedback with one General
Principle"): the model answers the request itself, critiques both candidates against its own answer as the
reference, and then decides.

Per prompt: one greedy answer (the reference). Per ordered pair: one greedy critique of the two responses
against that reference, under one general principle. The decision is not sampled: both verdict sentences
("Response A is better." / "Response B is better.") are scored after the critique, and the difference of
their perplexities (in log space, mean per-token negative log-likelihood) is the preference strength. Its
logistic is the probability that the first response is better. Both orders are asked (`PreferenceJudge`),
which is the paper's self-consistency step against position bias; the averaged strength is the pair's margin.
"""

from __future__ import annotations

from collections.abc import Sequence

from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.pairwise import OrderedVerdict, PreferenceJudge, sigmoid

GENERAL_PRINCIPLE = "The better response is the one that is best for the person asking: correct and useful."
CRITIQUE_TEMPLATE = (
    "{principle}\n\n"
    "Request:\n{prompt}\n\n"
    "Your own answer, to use as the reference:\n{reference}\n\n"
    "Response A:\n{first}\n\n"
    "Response B:\n{second}\n\n"
    "Compare each response with your reference answer and point out its mistakes, then say which is better."
)
VERDICTS = ("Response A is better.", "Response B is better.")


class SelfReferenceJudge(PreferenceJudge):
    name = "self_reference"

    def __init__(
        self,
        model: JudgeModel,
        *,
        principle: str = GENERAL_PRINCIPLE,
        reference_tokens: int = 256,
        critique_tokens: int = 128,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.principle = principle
        self.reference_tokens = reference_tokens
        self.critique_tokens = critique_tokens
        self.seed = seed
        self._references: dict[str, str] = {}

    def reference(self, prompt: str) -> str:
        """The model's own greedy answer to `prompt` (cached: every pair of one prompt shares it)."""
        if prompt not in self._references:
            self._references[prompt] = self.model.sample(
                [self.model.instruction(prompt)], max_tokens=self.reference_tokens, seed=self.seed
            )[0][0]
        return self._references[prompt]

    def prefer_first(self, prompt: str, ordered_pairs: Sequence[tuple[str, str]]) -> list[OrderedVerdict]:
        reference = self.reference(prompt)
        questions = [
            self.model.instruction(
                CRITIQUE_TEMPLATE.format(
                    principle=self.principle, prompt=prompt, reference=reference, first=first, second=second
                )
            )
            for first, second in ordered_pairs
        ]
        critiques = [
            per_prompt[0]
            for per_prompt in self.model.sample(questions, max_tokens=self.critique_tokens, seed=self.seed)
        ]
        decided = [
            f"{question}{critique}\nVerdict: "
            for question, critique in zip(questions, critiques, strict=True)
        ]
        scored = self.model.completion_logprobs(
            [context for context in decided for _ in VERDICTS], [v for _ in decided for v in VERDICTS]
        )
        verdicts = []
        for k in range(len(decided)):
            first_wins, second_wins = scored[2 * k], scored[2 * k + 1]
            # log ppl(second wins) - log ppl(first wins): positive when "A is better" reads as more natural
            strength = first_wins.mean - second_wins.mean
            verdicts.append(OrderedVerdict(probability=sigmoid(strength), strength=strength))
        return verdicts
