"""The `steps:` section of a loop config: which step-level method runs after the pairs stage, its search
settings, and how its pairs are mixed with the ranker's. Each default is the one the method's own settings
class declares (`StepDPOSettings`, `TreeSettings`, `Sampling`), so `codepref steps pairs` and a loop config
start from the same values."""

from __future__ import annotations

from dataclasses import dataclass

from codepref.settings import check_settings, raise_problems, setting
from codepref.steps.mcts import TreeSettings
from codepref.steps.pair import STEP_METHODS, parse_ratio
from codepref.steps.source import VERIFIERS
from codepref.steps.step_dpo import StepDPOSettings
from codepref.steps.values import Sampling

_DPO, _TREE, _SAMPLE = StepDPOSettings(), TreeSettings(), Sampling()


@dataclass(frozen=True)
class StepPairSettings:
    method: str = setting("mcts", "The step-level method.", choices=STEP_METHODS)
    ratio: str = setting("1:1", "INSTANCE:STEP rows in the round's training file (0:1: step pairs only).")
    verifier: str = setting(
        "sampled",
        "sampled: the round's sampled tests and the prompt's examples; oracle: the hidden tests.",
        choices=VERIFIERS,
    )
    programs: int = setting(
        _DPO.programs, "step-dpo: rollouts from the prompt searched for a first wrong step."
    )
    rollouts: int = setting(_DPO.rollouts, "step-dpo: rollouts behind each prefix's value.")
    threshold: float = setting(_DPO.threshold, "step-dpo: the value a good prefix keeps.")
    candidates: int = setting(_DPO.candidates, "step-dpo: good steps tried per bad one.")
    budget: int = setting(_TREE.budget, "mcts: rollouts per prompt.")
    width: int = setting(_TREE.width, "mcts: continuations per expansion.")
    exploration: float = setting(_TREE.exploration, "mcts: UCT's constant.")
    min_visits: int = setting(_TREE.min_visits, "mcts: rollouts through each step of a pair.")
    min_gap: float = setting(_TREE.min_gap, "mcts: the value gap a pair must exceed.")
    lines_per_step: int | None = setting(None, "Lines per step (unset: logical lines, codepref.steps.split).")
    temperature: float = setting(_SAMPLE.temperature, "Rollout sampling temperature.")
    max_tokens: int = setting(_SAMPLE.max_tokens, "Tokens per rollout.")

    def __post_init__(self) -> None:
        raise_problems(check_settings(self))
        # The ranges of the search and sampling settings are the method classes' own, and only the chosen
        # method's apply (an mcts config may leave step-dpo's settings at anything).
        parse_ratio(self.ratio)
        self.search()
        self.sampling(0)

    def search(self) -> StepDPOSettings | TreeSettings:
        """The method's own settings (they check their ranges)."""
        if self.method == "mcts":
            return TreeSettings(
                self.budget, self.width, self.exploration, self.min_visits, self.min_gap, self.lines_per_step
            )
        return StepDPOSettings(
            self.programs, self.rollouts, self.threshold, self.candidates, self.lines_per_step
        )

    def sampling(self, seed: int) -> Sampling:
        return Sampling(self.temperature, max_tokens=self.max_tokens, seed=seed)
