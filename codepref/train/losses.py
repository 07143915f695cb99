"""Preference losses that read per-pair judge outputs, beyond TRL's built-ins. Each takes per-pair tensors and
returns a per-pair loss (the trainer averages); `codepref.train.loss_trainer` wires them into `codepref train`.

Notation: for a pair, z = beta * [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))], DPO's
implicit reward difference; log-probabilities are summed over the completion's tokens unless "mean" is said.

  * noise_aware_dpo (SPA's noise-aware preference learning): DPO with label smoothing set per pair from the
    judge's confidence c in [0, 1]: eps = (1 - c) / 2, loss = -(1 - eps) log s(z) - eps log s(-z). A certain
    verdict (c = 1) is plain DPO; a coin flip (c = 0) pulls z towards 0 and teaches nothing.
  * irepo (iREPO): least squares of the implicit reward difference onto the log-odds of the empirical
    preference probability p (the judges' soft label): loss = (z - log(p / (1 - p)))^2, p clipped into
    [floor, 1 - floor]. Under Bradley-Terry, p = s(r_w - r_l), so the regression target is the reward gap the
    annotators' probability implies, and a pair is pulled to that gap rather than pushed without end.
  * margin (reference-free, MaPO's idea, SimPO's form): mean per-token log-likelihoods m_w, m_l and no
    reference model: loss = -log s(beta * (m_w - m_l) - gamma) - chosen_nll_weight * m_w. gamma > 0 asks for
    a target margin (SimPO); chosen_nll_weight > 0 keeps the chosen response's likelihood up while the margin
    grows (MaPO's and CPO's likelihood term).
  * sami (SAMI): symmetric InfoNCE over principles x responses. For each record, principles k and responses l
    (response l was sampled under principle l), M[k, l] = mean log pi(y_l | principle k, x). The loss is the
    mean of cross-entropy over each row (which response fits this principle) and each column (which
    principle produced this response), the diagonal being the right answer; it raises the conditional mutual
    information between principles and responses without any preference label.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

PER_PAIR_LOSSES = ("noise_aware_dpo", "irepo", "margin", "sami")
# Pair-record fields each loss reads besides prompt/chosen/rejected.
LOSS_COLUMNS: dict[str, tuple[str, ...]] = {
    "noise_aware_dpo": ("confidence",),
    "irepo": ("preference",),
    "margin": (),
    "sami": ("counter_prompt",),
}
REFERENCE_FREE = ("margin", "sami")


@dataclass(frozen=True)
class LossOptions:
    """Settings of the per-pair losses (`loss_options` in a training config)."""

    gamma: float = 0.5  # margin: target margin in beta-scaled units (SimPO's gamma)
    chosen_nll_weight: float = 0.0  # margin: weight of the chosen response's mean log-likelihood term
    preference_floor: float = 1e-3  # irepo: soft labels clipped into [floor, 1 - floor] before the log-odds

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LossOptions:
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"loss_options: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        options = cls(**data)
        if not 0.0 < options.preference_floor < 0.5:
            raise ValueError(
                f"loss_options.preference_floor must lie in (0, 0.5), got {options.preference_floor}"
            )
        return options


def noise_aware_dpo_loss(chosen_logratios: Any, rejected_logratios: Any, confidence: Any, beta: float) -> Any:
    import torch.nn.functional as F

    epsilon = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0
    z = beta * (chosen_logratios - rejected_logratios)
    return -(1.0 - epsilon) * F.logsigmoid(z) - epsilon * F.logsigmoid(-z)


def irepo_loss(
    chosen_logratios: Any, rejected_logratios: Any, preference: Any, beta: float, floor: float = 1e-3
) -> Any:
    import torch

    p = preference.clamp(floor, 1.0 - floor)
    target = torch.log(p) - torch.log1p(-p)
    return (beta * (chosen_logratios - rejected_logratios) - target) ** 2


def margin_loss(
    chosen_mean_logps: Any,
    rejected_mean_logps: Any,
    beta: float,
    gamma: float = 0.5,
    chosen_nll_weight: float = 0.0,
) -> Any:
    import torch.nn.functional as F

    return (
        -F.logsigmoid(beta * (chosen_mean_logps - rejected_mean_logps) - gamma)
        - chosen_nll_weight * chosen_mean_logps
    )


def sami_loss(mean_logps: Any) -> Any:
    """`mean_logps`: (batch, principles, responses), entry [b, k, l] = mean log pi(y_l | principle k, x_b)."""
    import torch

    diagonal = torch.arange(mean_logps.size(1), device=mean_logps.device)
    by_row = -torch.log_softmax(mean_logps, dim=2)[:, diagonal, diagonal]  # which response, given principle k
    by_column = -torch.log_softmax(mean_logps, dim=1)[
        :, diagonal, diagonal
    ]  # which principle, given response l
    return (by_row.mean(dim=1) + by_column.mean(dim=1)) / 2.0
