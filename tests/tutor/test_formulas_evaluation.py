"""Evaluation formulas against a second route: the engine's loss, enumeration, Bradley-Terry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_perplexity_is_the_inverse_geometric_mean_probability():
    from engine.loss import cross_entropy

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 11)) * 2
    targets = rng.integers(0, 11, size=50)
    ce = cross_entropy(logits, targets)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    geometric = np.prod(p[np.arange(50), targets]) ** (1 / 50)
    assert value("evaluation.perplexity", loss_nats=ce) == pytest.approx(1 / geometric)


def test_uniform_prediction_has_perplexity_equal_to_the_vocabulary():
    for k in (2, 10, 50257):
        assert value("evaluation.perplexity", loss_nats=math.log(k)) == pytest.approx(k)


def test_bits_per_byte_does_not_depend_on_the_tokenizer():
    # one text of 1,200 bytes with a total log-loss of 900 nats, cut into 300 or 400 tokens:
    # the per-token losses differ, bits per byte does not
    total_nats, n_bytes = 900.0, 1200
    coarse = value("evaluation.bits_per_byte", loss_nats=total_nats / 300,
                   bytes_per_token=n_bytes / 300)
    fine = value("evaluation.bits_per_byte", loss_nats=total_nats / 400,
                 bytes_per_token=n_bytes / 400)
    assert coarse == pytest.approx(fine) == pytest.approx(total_nats / math.log(2) / n_bytes)


def _pass_at_k_by_enumeration(n: int, c: int, k: int) -> float:
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n,c,k", [(5, 1, 1), (6, 2, 3), (8, 0, 4), (8, 5, 4), (10, 3, 5),
                                   (7, 7, 2)])
def test_pass_at_k_matches_every_subset(n, c, k):
    assert value("evaluation.pass_at_k", n=n, c=c, k=k) == \
        pytest.approx(_pass_at_k_by_enumeration(n, c, k))


def test_pass_at_k_large_n_matches_binomials_and_pass_at_1():
    got = value("evaluation.pass_at_k", n=200, c=13, k=10)
    assert got == pytest.approx(1 - math.comb(187, 10) / math.comb(200, 10))
    assert value("evaluation.pass_at_k", n=200, c=13, k=1) == pytest.approx(13 / 200)
    # the plug-in estimator 1 - (1 - c/n)^k is a different (biased) number
    assert got != pytest.approx(1 - (1 - 13 / 200) ** 10, rel=1e-3)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="c <= n"):
        value("evaluation.pass_at_k", n=5, c=6, k=1)


def test_elo_is_bradley_terry_on_a_base_10_scale():
    for gap in (-250.0, 0.0, 100.0, 400.0):
        bt = value("preference.bradley_terry", reward_chosen=gap * math.log(10) / 400,
                   reward_rejected=0.0)
        assert value("evaluation.elo_win_probability", rating_gap=gap) == pytest.approx(bt)
    # 400 points is 10:1 odds
    assert value("evaluation.elo_win_probability", rating_gap=400) == pytest.approx(10 / 11)


def test_confidence_target_breaks_even_at_the_threshold():
    for t in (0.5, 0.75, 0.9):
        assert value("evaluation.confidence_target_score", confidence=t,
                     threshold=t) == pytest.approx(0.0, abs=1e-12)
    # by hand: right with probability 0.6 scores 1, wrong with 0.4 costs 0.75 / 0.25 = 3
    assert value("evaluation.confidence_target_score", confidence=0.6,
                 threshold=0.75) == pytest.approx(0.6 - 0.4 * 3)
    # threshold 0 is plain accuracy: guessing never loses
    assert value("evaluation.confidence_target_score", confidence=0.1,
                 threshold=0.0) == pytest.approx(0.1)
