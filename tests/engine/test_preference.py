"""DPO loss and gradient against finite differences and hand formulas; GRPO advantages against a
loop; the KL estimators against the exact KL, in expectation (summed exactly) and by sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.preference import (
    dpo_loss,
    group_advantages,
    kl_categorical,
    kl_estimators,
    kl_regularised_optimum,
    log_sigmoid,
    policy_kl,
    sequence_logprob,
    train_dpo,
)


def pairs(rng, n=5, t=3, v=6):
    return rng.integers(0, v, (n, t)), rng.integers(0, v, (n, t))


def test_sequence_logprob_by_hand():
    logits = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    expected = (2.0 - math.log(1 + math.e + math.e ** 2)) + math.log(1 / 3)
    assert sequence_logprob(logits, np.array([2, 0])) == pytest.approx(expected)


def test_dpo_loss_at_the_reference_is_log_2_and_matches_the_formula():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 6))
    chosen, rejected = pairs(rng)
    r = dpo_loss(ref, ref, chosen, rejected, beta=0.1)
    assert r.loss == pytest.approx(math.log(2)) and np.allclose(r.weight, 0.5)
    logits = ref + rng.standard_normal((3, 6))
    beta = 0.3
    r = dpo_loss(logits, ref, chosen, rejected, beta)
    z = [beta * ((sequence_logprob(logits, w) - sequence_logprob(ref, w))
                 - (sequence_logprob(logits, lo) - sequence_logprob(ref, lo)))
         for w, lo in zip(chosen, rejected, strict=True)]
    assert r.loss == pytest.approx(np.mean([math.log(1 + math.exp(-zi)) for zi in z]))


@pytest.mark.parametrize("beta", [0.05, 0.5, 5.0])
def test_dpo_gradient_matches_finite_differences(beta):
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((3, 5))
    logits = ref + 0.5 * rng.standard_normal((3, 5))
    chosen, rejected = pairs(rng, v=5)
    grad = dpo_loss(logits, ref, chosen, rejected, beta).grad
    h = 1e-6
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (dpo_loss(plus, ref, chosen, rejected, beta).loss
                        - dpo_loss(minus, ref, chosen, rejected, beta).loss) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def test_training_raises_the_margin_and_smaller_beta_drifts_further():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((4, 8))
    chosen, rejected = pairs(rng, n=8, t=4, v=8)
    kls = []
    for beta in (0.05, 0.5):
        logits, losses = train_dpo(ref, chosen, rejected, beta, steps=200, lr=1.0 / beta)
        assert losses[-1] < losses[0]
        assert dpo_loss(logits, ref, chosen, rejected, beta).margin.mean() > 0
        kls.append(policy_kl(logits, ref))
    assert kls[0] > kls[1]


def test_log_sigmoid_is_stable():
    assert log_sigmoid(np.array(-800.0)) == -800.0
    assert log_sigmoid(np.array(800.0)) == 0.0
    assert log_sigmoid(np.array(0.0)) == pytest.approx(-math.log(2))


def test_group_advantages_by_loop():
    rewards = np.array([[1.0, 0.0, 0.0, 1.0, 1.0], [3.0, 3.0, 3.0, 3.0, 3.0]])
    adv = group_advantages(rewards, eps=0.0 + 1e-12)
    for g, row in enumerate(rewards):
        mean = sum(row) / len(row)
        std = math.sqrt(sum((r - mean) ** 2 for r in row) / len(row))
        for i, r in enumerate(row):
            expected = 0.0 if std == 0 else (r - mean) / std
            assert adv[g, i] == pytest.approx(expected, abs=1e-9)
    sample = group_advantages(rewards[:1], eps=0.0, ddof=1)
    assert sample[0, 0] == pytest.approx((1 - 0.6) / np.std(rewards[0], ddof=1))


def test_kl_estimators_expectations_are_exact_and_k3_is_nonnegative():
    rng = np.random.default_rng(3)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    exact = kl_categorical(p, q)
    assert exact == pytest.approx(np.sum(p * np.log(p / q)))
    every = np.arange(6)
    k = kl_estimators(p, q, every)
    # E_p[k1] and E_p[k3] equal KL exactly (E_p[r] = 1); k2 is biased
    assert np.sum(p * k["k1"]) == pytest.approx(exact)
    assert np.sum(p * k["k3"]) == pytest.approx(exact)
    assert np.all(k["k3"] >= 0) and np.any(k["k1"] < 0)
    samples = rng.choice(6, size=200_000, p=p)
    est = kl_estimators(p, q, samples)
    assert est["k3"].mean() == pytest.approx(exact, rel=0.02)
    assert est["k1"].mean() == pytest.approx(exact, rel=0.05)


def test_kl_regularised_optimum_maximises_the_objective():
    rng = np.random.default_rng(4)
    ref, reward = rng.dirichlet(np.ones(5)), rng.standard_normal(5)
    beta = 0.7
    best = kl_regularised_optimum(ref, reward, beta)

    def objective(pi):
        return pi @ reward - beta * kl_categorical(pi, ref)

    for _ in range(300):
        assert objective(rng.dirichlet(np.ones(5))) <= objective(best) + 1e-12
    # a large beta keeps the reference; a small one puts all mass on the best answer
    np.testing.assert_allclose(kl_regularised_optimum(ref, reward, 1e6), ref, atol=1e-5)
    assert kl_regularised_optimum(ref, reward, 1e-3).argmax() == reward.argmax()
