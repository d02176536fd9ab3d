"""Post-training formulas against hand computations and a second route for each."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_bradley_terry_by_hand():
    assert value("preference.bradley_terry", reward_chosen=1.5, reward_rejected=-0.5) == \
        pytest.approx(1 / (1 + math.exp(-2)))
    assert value("preference.bradley_terry", reward_chosen=0.3, reward_rejected=0.3) == 0.5


def test_dpo_loss_is_bradley_terry_on_implicit_rewards():
    # -log sigmoid(z) by hand, and as the BT loss of rewards beta * log-ratio
    for beta, c, r in [(0.1, 2.0, -3.0), (0.5, -0.5, 1.0), (1.0, 0.0, 0.0)]:
        z = beta * (c - r)
        loss = value("preference.dpo_loss", beta=beta, chosen_logratio=c, rejected_logratio=r)
        assert loss == pytest.approx(math.log1p(math.exp(-z)))
        p = value("preference.bradley_terry", reward_chosen=beta * c, reward_rejected=beta * r)
        assert loss == pytest.approx(-math.log(p))
    assert value("preference.dpo_loss", beta=0.1, chosen_logratio=0,
                 rejected_logratio=0) == pytest.approx(math.log(2))


def test_dpo_weight_matches_the_engine_gradient():
    # one pair of one-token responses on a 3-token vocabulary: the engine computes the
    # log-ratios from logits, the formula takes them as numbers
    from engine.preference import dpo_loss

    ref = np.array([[0.2, -0.4, 0.1]])
    logits = ref + np.array([[1.0, -0.5, 0.0]])
    lp = logits - np.log(np.exp(logits).sum())
    lr = ref - np.log(np.exp(ref).sum())
    c, r = float(lp[0, 0] - lr[0, 0]), float(lp[0, 1] - lr[0, 1])
    engine = dpo_loss(logits, ref, np.array([[0]]), np.array([[1]]), beta=0.3)
    assert value("preference.dpo_weight", beta=0.3, chosen_logratio=c,
                 rejected_logratio=r) == pytest.approx(float(engine.weight[0]))
    assert value("preference.dpo_loss", beta=0.3, chosen_logratio=c,
                 rejected_logratio=r) == pytest.approx(engine.loss)


def test_kl_optimum_maximises_the_regularised_reward():
    # grid search over pi(A) for max pi r - beta KL(pi || ref), independent of the closed form
    for ref, gap, beta in [(0.2, 1.0, 0.5), (0.5, 2.0, 1.0), (0.9, -1.0, 0.1)]:
        grid = np.linspace(1e-6, 1 - 1e-6, 200001)
        kl = grid * np.log(grid / ref) + (1 - grid) * np.log((1 - grid) / (1 - ref))
        best = grid[np.argmax(grid * gap - beta * kl)]
        assert value("preference.kl_optimum_prob", ref_prob=ref, reward_gap=gap,
                     beta=beta) == pytest.approx(best, abs=1e-5)


def test_grpo_binary_advantage_closed_forms():
    # population std of k ones in G: sqrt(p (1 - p)), so A = sqrt((1 - p) / p)
    for k, g in [(1, 4), (2, 8), (7, 8), (3, 16)]:
        p = k / g
        assert value("preference.grpo_binary_advantage", correct=k, group=g) == \
            pytest.approx(math.sqrt((1 - p) / p))
        sample_std = math.sqrt(k * (1 - p) ** 2 / (g - 1) + (g - k) * p**2 / (g - 1))
        assert value("preference.grpo_binary_advantage", correct=k, group=g, ddof=1) == \
            pytest.approx((1 - p) / sample_std)
    with pytest.raises(ValueError):
        value("preference.grpo_binary_advantage", correct=8, group=8)


def test_ppo_clip_cases():
    # positive advantage: gains stop at 1 + eps; negative advantage: losses stop at 1 - eps
    assert value("preference.ppo_clip_objective", ratio=1.5, advantage=2.0) == \
        pytest.approx(2.4)
    assert value("preference.ppo_clip_objective", ratio=0.5, advantage=2.0) == \
        pytest.approx(1.0)
    assert value("preference.ppo_clip_objective", ratio=0.5, advantage=-1.0) == \
        pytest.approx(-0.8)
    assert value("preference.ppo_clip_objective", ratio=1.5, advantage=-1.0) == \
        pytest.approx(-1.5)
    assert value("preference.ppo_clip_objective", ratio=1.1, advantage=3.0) == \
        pytest.approx(3.3)


def test_best_of_n_kl_against_an_exact_discrete_computation():
    # N equally likely outcomes ranked by reward: best-of-n picks rank i with probability
    # (i/N)^n - ((i-1)/N)^n; its KL from uniform tends to log n - (n-1)/n as N grows
    big = 200_000
    i = np.arange(1, big + 1) / big
    for n in (1, 2, 4, 16, 64):
        p = i**n - (i - 1 / big) ** n
        kl = float(np.sum(np.where(p > 0, p * np.log(np.maximum(p, 1e-300) * big), 0.0)))
        assert value("preference.best_of_n_kl", n=n) == pytest.approx(kl, abs=1e-3)
