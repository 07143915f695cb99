"""The per-pair losses against values computed by hand, and the direction their gradients push."""

from types import SimpleNamespace

import pytest
import torch

from codepref.train.losses import LossOptions, irepo_loss, margin_loss, noise_aware_dpo_loss, sami_loss


def leaf(*values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def test_noise_aware_dpo_matches_a_hand_computed_value():
    # z = 0.5 * (1 - 0) = 0.5, eps = (1 - 0.6) / 2 = 0.2: -0.8 log s(0.5) - 0.2 log s(-0.5)
    loss = noise_aware_dpo_loss(leaf(1.0), leaf(0.0), torch.tensor([0.6], dtype=torch.float64), beta=0.5)
    assert loss.item() == pytest.approx(0.5740769841801068, abs=1e-12)


def test_noise_aware_dpo_is_plain_dpo_at_full_confidence_and_teaches_nothing_at_none():
    chosen, rejected = leaf(0.3, -1.0), leaf(-0.2, 0.4)
    full = noise_aware_dpo_loss(chosen, rejected, torch.ones(2, dtype=torch.float64), beta=0.1)
    expected = -torch.nn.functional.logsigmoid(0.1 * (chosen - rejected))
    assert torch.allclose(full, expected)
    full.sum().backward()
    assert (chosen.grad < 0).all() and (rejected.grad > 0).all()  # raise chosen, lower rejected

    chosen, rejected = leaf(0.0), leaf(0.0)
    none = noise_aware_dpo_loss(chosen, rejected, torch.zeros(1, dtype=torch.float64), beta=0.1)
    none.backward()
    assert chosen.grad.item() == 0.0  # a coin-flip label exerts no pull at z = 0


def test_irepo_regresses_onto_the_log_odds_of_the_soft_label():
    # z = 0.5 * (2 - 1) = 0.5, target log(0.75 / 0.25) = log 3
    chosen, rejected = leaf(2.0), leaf(1.0)
    loss = irepo_loss(chosen, rejected, torch.tensor([0.75], dtype=torch.float64), beta=0.5)
    assert loss.item() == pytest.approx(0.3583366721444724, abs=1e-12)
    loss.backward()
    assert chosen.grad.item() < 0  # below the target gap: push the chosen reward up

    chosen, rejected = leaf(10.0), leaf(0.0)  # z = 5 > log 3: past the target, pulled back
    irepo_loss(chosen, rejected, torch.tensor([0.75], dtype=torch.float64), beta=0.5).backward()
    assert chosen.grad.item() > 0


def test_irepo_clips_certain_labels_to_a_finite_target():
    loss = irepo_loss(leaf(0.0), leaf(0.0), torch.tensor([1.0], dtype=torch.float64), beta=1.0, floor=1e-3)
    assert loss.item() == pytest.approx(torch.log(torch.tensor(999.0)).item() ** 2)


def test_margin_loss_matches_a_hand_computed_value_and_its_gradient_widens_the_margin():
    # beta 2, gamma 0.5: -log s(2 * (-1 - -2) - 0.5) + 0.1 * 1
    chosen, rejected = leaf(-1.0), leaf(-2.0)
    loss = margin_loss(chosen, rejected, beta=2.0, gamma=0.5, chosen_nll_weight=0.1)
    assert loss.item() == pytest.approx(0.3014132779827524, abs=1e-12)
    loss.backward()
    assert chosen.grad.item() < 0 and rejected.grad.item() > 0


def test_margin_loss_equals_trl_simpo_without_the_likelihood_term():
    from trl.experimental.cpo import CPOTrainer

    chosen, rejected = torch.tensor([-1.0, -0.4, -2.5]), torch.tensor([-1.5, -0.1, -2.4])
    simpo = SimpleNamespace(
        alpha=0.0,
        loss_type="simpo",
        simpo_gamma=0.5,
        beta=2.0,
        label_smoothing=0.0,
        accelerator=SimpleNamespace(device=torch.device("cpu")),
    )
    trl_losses = CPOTrainer.cpo_loss(simpo, chosen, rejected)[0]
    assert torch.allclose(margin_loss(chosen, rejected, beta=2.0, gamma=0.5), trl_losses)


def test_sami_matches_a_hand_computed_value_and_rewards_the_diagonal():
    matrix = torch.tensor([[[-1.0, -3.0], [-2.0, -1.0]]], dtype=torch.float64, requires_grad=True)
    loss = sami_loss(matrix)
    # rows: log(1 + e^-2), log(1 + e^-1); columns: the same two terms
    assert loss.item() == pytest.approx(0.2200948492805977, abs=1e-12)
    loss.sum().backward()
    assert matrix.grad[0, 0, 0] < 0 and matrix.grad[0, 1, 1] < 0  # raise each response under its principle
    assert matrix.grad[0, 0, 1] > 0 and matrix.grad[0, 1, 0] > 0  # lower it under the other one


def test_loss_options_reject_unknown_and_invalid_settings():
    assert LossOptions.from_dict({"gamma": 1.0}).gamma == 1.0
    with pytest.raises(ValueError, match="unknown field"):
        LossOptions.from_dict({"gama": 1.0})
    with pytest.raises(ValueError, match="preference_floor"):
        LossOptions.from_dict({"preference_floor": 0.5})
