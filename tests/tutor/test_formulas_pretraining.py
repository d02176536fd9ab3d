"""Pretraining formulas against simulations (MinHash LSH), the engine's Chinchilla rule
and hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_lsh_candidate_probability_matches_real_minhash():
    # two sets of Jaccard similarity 0.75 (300 shared of 400 distinct shingles); each
    # "hash" is a random ranking of the universe, the signature the minimum rank in a set
    rng = np.random.default_rng(0)
    a, b = np.arange(0, 350), np.arange(50, 400)       # |A & B| = 300, |A | B| = 400
    bands, rows, trials = 14, 8, 1500
    hits = 0
    for _ in range(trials):
        ranks = rng.random((bands * rows, 400))
        sig_a, sig_b = ranks[:, a].min(1), ranks[:, b].min(1)
        same = (sig_a == sig_b).reshape(bands, rows).all(1)
        hits += bool(same.any())
    p = value("pretrain.lsh_candidate_prob", similarity=0.75, bands=bands, rows=rows)
    assert p == pytest.approx(1 - (1 - 0.75 ** 8) ** 14)
    assert hits / trials == pytest.approx(p, abs=0.035)


def test_tokens_per_param_and_the_compute_optimal_size_of_a_run():
    from engine.accounting import chinchilla_optimal

    n = 8_030_261_248                                    # llama-3-8b, every parameter
    assert value("pretrain.tokens_per_param", preset="llama-3-8b", tokens_b=15000) == \
        pytest.approx(15e12 / n)
    c = 6 * n * 15e12
    best = value("pretrain.chinchilla_size_for_run", preset="llama-3-8b", tokens_b=15000)
    assert best == pytest.approx(chinchilla_optimal(compute_flops=c).n_params)
    assert best == pytest.approx(math.sqrt(c / 120))
    assert value("pretrain.chinchilla_size_for_run", preset="llama-3-8b", tokens_b=15000,
                 tokens_per_param=1) == pytest.approx(math.sqrt(c / 6))


def test_size_growth_by_hand():
    assert value("pretrain.size_growth", compute_factor=100, law="Kaplan") == \
        pytest.approx(100 ** 0.73)
    assert value("pretrain.size_growth", compute_factor=100, law="chinchilla") == \
        pytest.approx(10.0)


def test_lifetime_flops_by_hand():
    assert value("pretrain.lifetime_flops", params_b=8, train_tokens_t=15,
                 served_tokens_t=100) == pytest.approx(6 * 8e9 * 15e12 + 2 * 8e9 * 100e12)


def test_effective_tokens_limits_and_a_hand_value():
    r = 15.387756
    assert value("pretrain.effective_tokens", unique_b=100, epochs=1) == pytest.approx(100e9)
    # a few repeats are worth nearly fresh data; many are capped at U (1 + R*)
    four = value("pretrain.effective_tokens", unique_b=100, epochs=4)
    assert four == pytest.approx(100e9 * (1 + r * (1 - math.exp(-3 / r))), rel=1e-4)
    assert four / 400e9 > 0.9
    assert value("pretrain.effective_tokens", unique_b=100, epochs=1000) == \
        pytest.approx(100e9 * (1 + r), rel=1e-3)


def test_wsd_schedule_by_phase():
    from tutor.formulas.pretraining import wsd_lr

    kw = dict(peak_lr=3e-4, warmup=2000, decay_start=90_000, total=100_000)
    assert wsd_lr(step=1000, **kw).value == pytest.approx(1.5e-4)
    assert wsd_lr(step=50_000, **kw).value == 3e-4
    assert wsd_lr(step=95_000, **kw).value == pytest.approx(1.5e-4)
    assert wsd_lr(step=100_000, min_lr=3e-5, **kw).value == pytest.approx(3e-5)
    # the warmup is the same ramp as the warmup-cosine schedule's
    cosine = value("training.warmup_cosine_lr", peak_lr=3e-4, warmup=2000, total=100_000,
                   step=500)
    assert wsd_lr(step=500, **kw).value == pytest.approx(cosine)
