"""Sampling filters against brute-force routes (sorting by hand, enumerating subsets and
sequences) and against Hugging Face's logits processors (tests/fixtures/sampling.npz, made by
make_sampling_fixtures.py)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.sampling import (
    apply_temperature,
    beam_search,
    distribution,
    greedy,
    min_p_filter,
    repetition_penalty,
    sample,
    sample_from,
    top_k_filter,
    top_p_filter,
)

FIXTURE = np.load(Path(__file__).parents[1] / "fixtures" / "sampling.npz")

logit_rows = arrays(np.float64, st.integers(2, 7),
                    elements=st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 1)))


def brute_softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    return [v / sum(e) for v in e]


def brute_top_k(row, k):
    # keep every value >= the k-th largest (ties at the boundary stay)
    kth = sorted(row, reverse=True)[k - 1]
    return [v if v >= kth else -math.inf for v in row]


def brute_top_p(row, p):
    # enumerate subsets from small to large; the smallest whose mass >= p, preferring
    # more probable tokens, then lower ids. Ranking subsets by (size, -mass) finds it.
    probs = brute_softmax(row)
    n = len(row)
    for size in range(1, n + 1):
        best = None
        for subset in itertools.combinations(range(n), size):
            mass = sum(probs[i] for i in subset)
            if mass >= p - 1e-12 and (best is None or mass > best[0] + 1e-12):
                best = (mass, subset)
        if best is not None:
            return [v if i in best[1] else -math.inf for i, v in enumerate(row)]
    return list(row)


@settings(max_examples=60, deadline=None)
@given(row=logit_rows, k=st.integers(1, 8))
def test_top_k_matches_sorting_by_hand(row, k):
    k = min(k, len(row))
    np.testing.assert_array_equal(top_k_filter(row, k), brute_top_k(list(row), k))


@settings(max_examples=60, deadline=None)
@given(row=arrays(np.float64, st.integers(2, 6),
                  elements=st.floats(-4, 4, allow_nan=False), unique=True),
       p=st.floats(0.01, 0.99))
def test_top_p_matches_enumerating_subsets(row, p):
    # distinct logits: the nucleus is then unique, whatever order ties would break
    # (logits 1e-14 apart are ties once softmax rounds them, so they are left out)
    assume(np.min(np.diff(np.sort(row))) > 1e-9)
    probs = np.sort(brute_softmax(list(row)))[::-1]
    cum = np.cumsum(probs)
    if np.any(np.abs(cum - p) < 1e-9):   # mass exactly at p: rounding decides, skip
        return
    np.testing.assert_array_equal(top_p_filter(row, p), brute_top_p(list(row), p))


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = np.log(np.array([0.1, 0.5, 0.15, 0.25]))
    kept = np.isfinite(top_p_filter(logits, 0.7))
    np.testing.assert_array_equal(kept, [False, True, False, True])     # 0.5 + 0.25 >= 0.7
    kept = np.isfinite(top_p_filter(logits, 0.76))
    np.testing.assert_array_equal(kept, [False, True, True, True])      # needs 0.15 more
    kept = np.isfinite(top_p_filter(logits, 1e-6))
    np.testing.assert_array_equal(kept, [False, True, False, False])    # always one token
    assert np.isfinite(top_p_filter(logits, 1.0)).all()


def test_filters_act_on_each_row_of_a_batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 9))
    for f, arg, brute in ((top_k_filter, 3, brute_top_k), (top_p_filter, 0.6, brute_top_p)):
        out = f(logits, arg)
        for idx in np.ndindex(*logits.shape[:-1]):
            np.testing.assert_array_equal(out[idx], brute(list(logits[idx]), arg))


def test_temperature_divides_logits_and_keeps_dtype():
    logits = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    out = apply_temperature(logits, 0.5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [2.0, 4.0, 8.0])
    probs = distribution(logits.astype(np.float64), temperature=2.0)
    np.testing.assert_allclose(probs, brute_softmax([0.5, 1.0, 2.0]), rtol=1e-12)


def test_distribution_composes_temperature_top_k_top_p():
    logits = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    scaled = list(logits / 0.7)
    expected = brute_softmax(brute_top_p(brute_top_k(scaled, 4), 0.8))
    np.testing.assert_allclose(distribution(logits, 0.7, top_k=4, top_p=0.8), expected,
                               rtol=1e-12, atol=0)


def test_temperature_zero_is_greedy():
    logits = np.array([[0.1, 3.0, 2.0], [5.0, -1.0, 5.0]])
    np.testing.assert_array_equal(greedy(logits), [1, 0])          # first index on ties
    s = sample(logits, rng=None, temperature=0)
    np.testing.assert_array_equal(s.token, [1, 0])
    np.testing.assert_array_equal(s.probs, [[0, 1, 0], [1, 0, 0]])


def test_sample_frequencies_follow_the_distribution():
    rng = np.random.default_rng(123)
    logits = np.log(np.array([0.5, 0.0, 0.2, 0.3]) + 1e-300)
    n = 40_000
    s = sample(np.broadcast_to(logits, (n, 4)), rng, temperature=1.0)
    freq = np.bincount(s.token, minlength=4) / n
    # binomial standard error at p=0.5 and n=40k is 0.0025; allow 4 of them
    np.testing.assert_allclose(freq, [0.5, 0.0, 0.2, 0.3], atol=0.01)
    assert freq[1] == 0


def test_sample_never_draws_a_filtered_token():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(2000, 30))
    s = sample(logits, rng, temperature=1.3, top_k=5, top_p=0.5)
    assert np.all(s.probs[np.arange(2000), s.token] > 0)
    allowed = np.isfinite(top_p_filter(top_k_filter(logits / 1.3, 5), 0.5))
    assert np.all(allowed[np.arange(2000), s.token])
    np.testing.assert_allclose(s.probs.sum(-1), 1.0)


def test_sample_from_inverts_the_cdf():
    class FixedUniform:
        def __init__(self, u):
            self.u = np.asarray(u)

        def random(self, shape):
            return np.broadcast_to(self.u, shape)

    probs = np.array([0.25, 0.0, 0.25, 0.5])
    # cdf = 0.25, 0.25, 0.5, 1.0: u lands in the step of the token it picks
    for u, token in ((0.0, 0), (0.2499, 0), (0.25, 2), (0.49, 2), (0.5, 3), (0.999, 3)):
        assert sample_from(probs, FixedUniform(u)) == token


@pytest.mark.parametrize(("call", "match"), [
    (lambda: apply_temperature(np.zeros(3), 0), "temperature=0"),
    (lambda: top_k_filter(np.zeros(3), 0), "top_k=0"),
    (lambda: top_p_filter(np.zeros(3), 0), "top_p=0"),
    (lambda: top_p_filter(np.zeros(3), 1.5), "top_p=1.5"),
    (lambda: distribution(np.zeros(3), -1), "temperature=-1"),
    (lambda: sample(np.zeros(3), None, 1.0), "rng"),
])
def test_invalid_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("penalty", [1.3, 0.8])
def test_repetition_penalty_matches_transformers(penalty):
    out = repetition_penalty(FIXTURE["logits"], FIXTURE["previous"], penalty)
    np.testing.assert_allclose(out, FIXTURE[f"repetition_{penalty}"], rtol=1e-15)


def test_repetition_penalty_by_hand():
    logits = np.array([2.0, -2.0, 0.0, 1.0])
    out = repetition_penalty(logits, np.array([0, 1, 1, 2]), 2.0)
    np.testing.assert_array_equal(out, [1.0, -4.0, 0.0, 1.0])     # token 3 never appeared
    np.testing.assert_array_equal(repetition_penalty(logits, np.array([0, 1]), 1.0), logits)
    np.testing.assert_array_equal(repetition_penalty(logits, np.zeros(0, int), 3.0), logits)


@pytest.mark.parametrize("min_p", [0.05, 0.2, 0.6])
def test_min_p_matches_transformers(min_p):
    out = min_p_filter(FIXTURE["logits"], min_p)
    expected = FIXTURE[f"min_p_{min_p}"]
    np.testing.assert_array_equal(np.isinf(out), np.isinf(expected))
    np.testing.assert_array_equal(out[np.isfinite(out)], expected[np.isfinite(expected)])


def test_min_p_keeps_tokens_within_a_factor_of_the_top():
    probs = np.array([0.5, 0.3, 0.04, 0.16])
    kept = np.isfinite(min_p_filter(np.log(probs), 0.1))        # cut at 0.1 * 0.5 = 0.05
    np.testing.assert_array_equal(kept, [True, True, False, True])
    assert np.isfinite(min_p_filter(np.log(probs), 1.0)).sum() == 1
    d = distribution(np.log(probs), min_p=0.1)
    np.testing.assert_allclose(d, [0.5 / 0.96, 0.3 / 0.96, 0, 0.16 / 0.96])


@pytest.mark.parametrize("logits", [np.full(4, -np.inf), np.full((3, 4), -np.inf),
                                    np.array([[0.0, 1.0], [-np.inf, -np.inf]]),
                                    np.array([0.0, np.nan, 1.0])])
def test_no_allowed_token_raises_a_clear_error(logits):
    with pytest.raises(ValueError, match="no token can be sampled"):
        sample(logits, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no token can be sampled"):
        distribution(logits, temperature=0)


def test_sample_from_with_size_draws_like_one_row_per_draw():
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    a = sample_from(probs, np.random.default_rng(7), size=1000)
    b = sample_from(np.broadcast_to(probs, (1000, 4)), np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="one distribution"):
        sample_from(np.ones((2, 3)) / 3, np.random.default_rng(0), size=4)


def toy_logits_fn(v=4, seed=0):
    # next-token logits depend on the last two tokens: a fixed random table
    table = np.random.default_rng(seed).normal(scale=2.0, size=(v, v, v))
    return lambda ids: table[ids[:, -2], ids[:, -1]]


def brute_force_scores(fn, prompt, steps, v):
    scores = {}
    for seq in itertools.product(range(v), repeat=steps):
        ids, total = np.array([prompt]), 0.0
        for tok in seq:
            logits = fn(ids)[0]
            total += logits[tok] - np.log(np.sum(np.exp(logits)))
            ids = np.concatenate([ids, [[tok]]], axis=1)
        scores[seq] = total
    return scores


def test_beam_search_wide_enough_is_exhaustive():
    fn, prompt, steps, v = toy_logits_fn(), [1, 2], 4, 4
    exact = brute_force_scores(fn, prompt, steps, v)
    beams = beam_search(fn, np.array(prompt), steps, width=v ** (steps - 1))
    ranked = sorted(exact.items(), key=lambda kv: -kv[1])
    assert tuple(beams.sequences[0]) == ranked[0][0]
    np.testing.assert_allclose(beams.scores[:10], [s for _, s in ranked[:10]], rtol=1e-12)
    for seq, score in zip(beams.sequences, beams.scores, strict=True):
        assert exact[tuple(seq)] == pytest.approx(score, abs=1e-12)   # scores are real


def test_beam_of_one_is_greedy_and_wider_beams_never_score_lower_here():
    fn, prompt, steps = toy_logits_fn(seed=3), [0, 1], 6
    ids = np.array([prompt])
    for _ in range(steps):
        ids = np.concatenate([ids, [[int(np.argmax(fn(ids)[0]))]]], axis=1)
    one = beam_search(fn, np.array(prompt), steps, width=1)
    np.testing.assert_array_equal(one.sequences[0], ids[0, 2:])
    exact = brute_force_scores(fn, prompt, steps, 4)
    best = max(exact.values())
    for width in (2, 4, 16):
        b = beam_search(fn, np.array(prompt), steps, width)
        assert one.scores[0] - 1e-12 <= b.scores[0] <= best + 1e-12
        assert np.all(np.diff(b.scores) <= 0)                    # best first
