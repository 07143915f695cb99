"""Logit self-judge (SPA's direct preference judgment, Selfie): the policy model itself is asked which of two
responses is better, and its preference is read from the next-token logits of the two answer labels.

No text is sampled: one forward pass per ordered pair gives log p("A") and log p("B") at the position where
the answer would start; the probability that the first response is better is the softmax over just those two
labels. `PreferenceJudge` asks every pair in both orders, so the label bias of the model cancels, and the
distance of the averaged probability from 1/2 is the verdict's confidence. The margin is the averaged log-odds
log p(first) - log p(second).
"""

from __future__ import annotations

from collections.abc import Sequence

from codepref.model_judges.lm import JudgeModel
from codepref.model_judges.pairwise import OrderedVerdict, PreferenceJudge, sigmoid

COMPARISON_TEMPLATE = (
    "Which response answers the request better? {principle}\n\n"
    "Request:\n{prompt}\n\n"
    "Response A:\n{first}\n\n"
    "Response B:\n{second}\n\n"
    "Answer with the letter of the better response, A or B."
)
DEFAULT_PRINCIPLE = "Prefer the response that is correct, complete and helpful."


class LogitSelfJudge(PreferenceJudge):
    name = "logit"

    def __init__(
        self,
        model: JudgeModel,
        *,
        labels: tuple[str, str] = ("A", "B"),
        principle: str = DEFAULT_PRINCIPLE,
        template: str = COMPARISON_TEMPLATE,
    ) -> None:
        self.model = model
        self.labels = labels
        self.label_ids = model.label_token_ids(labels)
        self.principle = principle
        self.template = template

    def context(self, prompt: str, first: str, second: str) -> str:
        question = self.template.format(principle=self.principle, prompt=prompt, first=first, second=second)
        return self.model.instruction(question)

    def prefer_first(self, prompt: str, ordered_pairs: Sequence[tuple[str, str]]) -> list[OrderedVerdict]:
        contexts = [self.context(prompt, first, second) for first, second in ordered_pairs]
        label_logp = self.model.next_token_logprobs(contexts, self.label_ids)
        verdicts = []
        for logp_first, logp_second in label_logp:
            log_odds = float(logp_first - logp_second)
            verdicts.append(OrderedVerdict(probability=sigmoid(log_odds), strength=log_odds))
        return verdicts
