"""Tiled, linear, Performer and Linformer attention against independent routes."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from engine.efficient import (
    attention_cost,
    flash_attention,
    linear_attention,
    linformer_attention,
    linformer_projections,
    performer_attention,
    performer_features,
    performer_omega,
)


def softmax_attention(q, k, v, causal=False):
    """Plain float64 softmax attention, written out here as the reference."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tri(*s.shape[-2:], dtype=bool), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("n_q", "n_k", "bq", "bk"),
                         [(7, 7, 256, 512), (100, 100, 16, 32), (130, 70, 32, 16),
                          (40, 130, 64, 24)])
def test_flash_equals_plain(dtype, causal, n_q, n_k, bq, bk):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, n_q, 16)) * 3     # large scores: the running max matters
    k = rng.standard_normal((2, 3, n_k, 16))
    v = rng.standard_normal((2, 3, n_k, 8))
    got = flash_attention(q.astype(dtype), k.astype(dtype), v.astype(dtype), is_causal=causal,
                          block_q=bq, block_k=bk)
    assert got.dtype == dtype
    want = softmax_attention(q, k, v, causal)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_flash_threaded_path_and_huge_scores():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 600, 32)) * 30 for _ in range(3))   # exp would overflow
    got = flash_attention(q, k, v, is_causal=True, block_q=128, block_k=96)
    np.testing.assert_allclose(got, softmax_attention(q, k, v, True), rtol=1e-10, atol=1e-10)


def test_flash_never_allocates_the_score_matrix():
    rng = np.random.default_rng(2)
    n = 4096
    q, k, v = (rng.standard_normal((1, n, 64)).astype(np.float32) for _ in range(3))
    tracemalloc.start()
    try:
        flash_attention(q, k, v)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * n * n * 4        # the full score matrix would be 64 MiB


def elu1(x):
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("name", "phi"), [("elu1", elu1), ("relu", lambda x: np.maximum(x, 0))])
def test_linear_attention_equals_quadratic_form(causal, name, phi):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 9, 5)) for _ in range(3))
    a = phi(q) @ np.swapaxes(phi(k), -1, -2)                      # (2, 9, 9)
    if causal:
        a = a * np.tri(9)
    den = a.sum(-1, keepdims=True)
    want = np.divide(a @ v, den, out=np.zeros((2, 9, 5)), where=den > 0)
    got = linear_attention(q, k, v, feature_map=name, is_causal=causal)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_linear_attention_rejects_unknown_feature_map():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="feature_map"):
        linear_attention(x, x, x, feature_map="tanh")


def test_performer_features_are_unbiased_for_exp_dot():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((1, 4)) * 0.5, rng.standard_normal((1, 4)) * 0.5
    omega = performer_omega(4, 200_000, rng, orthogonal=False)
    est = (performer_features(x, omega) @ performer_features(y, omega).T).item()
    assert est == pytest.approx(math.exp((x @ y.T).item()), rel=0.01)


def test_performer_omega_orthogonal_blocks():
    w = performer_omega(8, 8, np.random.default_rng(5))
    gram = w @ w.T
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0, atol=1e-10)


def test_performer_error_shrinks_with_features():
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((64, 16)) * 0.7 for _ in range(3))
    want = softmax_attention(q, k, v)
    errors = []
    for m in (8, 64, 512, 4096):
        errs = [np.abs(performer_attention(q, k, v, m, np.random.default_rng(s)) - want).mean()
                for s in range(3)]
        errors.append(np.mean(errs))
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < 0.02


def test_performer_causal_matches_masked_estimate():
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((10, 8)) for _ in range(3))
    omega = performer_omega(8, 32, rng)
    c = 8 ** -0.25
    a = performer_features(q * c, omega) @ performer_features(k * c, omega).T * np.tri(10)
    want = (a @ v) / a.sum(-1, keepdims=True)
    got = performer_attention(q, k, v, 32, rng, omega=omega, is_causal=True)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_linformer_exact_for_low_rank_keys():
    # 4 distinct (key, value) pairs, each repeated 8 times: pooling each group is exact.
    rng = np.random.default_rng(8)
    groups = np.repeat(np.arange(4), 8)
    kc, vc = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    q, k, v = rng.standard_normal((5, 6)), kc[groups], vc[groups]
    pool = (groups[None, :] == np.arange(4)[:, None]) / 8.0      # (4, 32)
    got = linformer_attention(q, k, v, pool, pool)
    np.testing.assert_allclose(got, softmax_attention(q, k, v), atol=1e-12)


def test_linformer_error_shrinks_with_rank():
    rng = np.random.default_rng(9)
    n = 256
    # Keys near a low-dimensional subspace, as Linformer assumes.
    k = rng.standard_normal((n, 4)) @ rng.standard_normal((4, 16)) * 0.3
    q, v = rng.standard_normal((n, 16)) * 0.3, rng.standard_normal((n, 8))
    want = softmax_attention(q, k, v)
    errors = []
    for r in (4, 32, 256):
        errs = []
        for seed in range(4):
            e_proj, f_proj = linformer_projections(n, r, np.random.default_rng(seed))
            errs.append(np.abs(linformer_attention(q, k, v, e_proj, f_proj) - want).mean())
        errors.append(np.mean(errs))
    assert errors[0] > errors[1] > errors[2], errors


def test_attention_cost_orders_methods():
    full, lin = attention_cost("full", 4096, 64), attention_cost("linear", 4096, 64)
    assert full.flops == 4 * 4096**2 * 64 and full.memory_floats == 4096**2
    assert lin.flops < full.flops and lin.memory_floats < full.memory_floats
    with pytest.raises(ValueError, match="method"):
        attention_cost("sparse", 8, 8)
