"""Speculative decoding: the output distribution against the target's (exactly, by summing the
acceptance rule over every path, and empirically), acceptance against sum min(p, q), and tokens
per call against the geometric formula with context-free stub models."""

from __future__ import annotations

import numpy as np
import pytest

from engine.speculative import (
    acceptance_rate,
    expected_speedup,
    expected_tokens_per_call,
    residual_distribution,
    speculative_generate,
    speculative_sample,
    speculative_step,
    total_variation,
)


def dirichlet(rng, v, concentration=0.5):
    return rng.dirichlet(np.full(v, concentration))


def test_the_rule_gives_exactly_p_summed_over_accept_and_reject():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = dirichlet(rng, 7), dirichlet(rng, 7)
        accept = np.minimum(1, p / q)
        # P(x) = q(x) min(1, p/q) + P(reject) residual(x)
        p_reject = np.sum(q * (1 - accept))
        out = q * accept + p_reject * residual_distribution(p, q)
        np.testing.assert_allclose(out, p, atol=1e-12)
        assert acceptance_rate(p, q) == pytest.approx(1 - p_reject)
        assert acceptance_rate(p, q) == pytest.approx(1 - total_variation(p, q))


def test_empirical_first_token_matches_the_target_not_the_draft():
    rng = np.random.default_rng(1)
    p, q = dirichlet(rng, 16), dirichlet(rng, 16)
    tokens, accepted = speculative_sample(p, q, 200_000, rng)
    freq = np.bincount(tokens, minlength=16) / tokens.size
    assert total_variation(freq, p) < 0.01 < 0.1 < total_variation(freq, q)
    assert accepted.mean() == pytest.approx(acceptance_rate(p, q), abs=0.005)


def test_residual_when_the_draft_equals_the_target():
    p = np.array([0.5, 0.5, 0.0])
    np.testing.assert_array_equal(residual_distribution(p, p), p)
    tokens, accepted = speculative_sample(p, p, 1000, np.random.default_rng(2))
    assert accepted.all() and set(tokens.tolist()) <= {0, 1}


def fixed(dist):
    # a "model" whose next-token distribution ignores the context
    return lambda ids: np.broadcast_to(dist, (len(ids), dist.size))


@pytest.mark.parametrize("gamma", [1, 3, 6])
def test_tokens_per_call_follow_the_formula_when_alpha_is_constant(gamma):
    rng = np.random.default_rng(3)
    p, q = dirichlet(rng, 8, 2.0), dirichlet(rng, 8, 2.0)
    alpha = float(acceptance_rate(p, q))
    run = speculative_generate(fixed(p), fixed(q), np.array([0]), 3000, gamma, rng)
    assert run.acceptance == pytest.approx(alpha, abs=0.02)
    per_step = run.accepted + 1
    standard_error = per_step.std() / np.sqrt(per_step.size)
    assert standard_error < 0.03 * per_step.mean()
    assert abs(run.tokens_per_call - expected_tokens_per_call(alpha, gamma)) < 4 * standard_error
    np.testing.assert_allclose(run.alpha, alpha)
    assert run.draft_calls == gamma * run.target_calls
    freq = np.bincount(run.tokens, minlength=8) / run.tokens.size
    assert total_variation(freq, p) < 0.03


def test_two_token_sequences_follow_a_context_dependent_target():
    # target and draft depend on the previous token; the pair (x1, x2) must be ~ p(x1) p(x2|x1)
    rng = np.random.default_rng(4)
    v = 4
    p_table, q_table = rng.dirichlet(np.ones(v), v), rng.dirichlet(np.ones(v), v)

    def model(table):
        return lambda ids: table[np.asarray(ids)]

    prompt, n = np.array([2]), 3000
    counts = np.zeros((v, v))
    for _ in range(n):
        step = speculative_step(model(p_table), model(q_table), prompt, 2, rng)
        x1 = step.tokens[0]
        x2 = step.tokens[1] if len(step.tokens) > 1 else \
            speculative_step(model(p_table), model(q_table), np.append(prompt, x1), 2,
                             rng).tokens[0]
        counts[x1, x2] += 1

    def chi2(joint):
        expected = n * joint.ravel()
        return np.sum((counts.ravel() - expected) ** 2 / expected)

    # 15 degrees of freedom: chi2 > 42 has probability 2e-4 when the pairs follow `joint`
    assert chi2(p_table[2][:, None] * p_table) < 42                 # p(x1) p(x2 | x1)
    assert chi2(q_table[2][:, None] * q_table) > 200                # not the draft's


def test_formulas():
    assert expected_tokens_per_call(1.0, 4) == 5
    assert expected_tokens_per_call(0.0, 4) == 1
    a, g = 0.7, 4
    assert expected_tokens_per_call(a, g) == pytest.approx(sum(a ** i for i in range(g + 1)))
    assert expected_speedup(a, g, 0.0) == expected_tokens_per_call(a, g)
    assert expected_speedup(a, g, 0.1) == pytest.approx(expected_tokens_per_call(a, g) / 1.4)
    with pytest.raises(ValueError, match="alpha=1.5"):
        expected_tokens_per_call(1.5, 2)
    with pytest.raises(ValueError, match="gamma=0"):
        speculative_step(fixed(np.ones(2) / 2), fixed(np.ones(2) / 2), np.array([0]), 0,
                         np.random.default_rng(0))
