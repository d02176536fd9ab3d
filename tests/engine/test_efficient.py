"""Tiled, linear, Performer and Linformer attention against independent routes."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from engine.efficient import (
    attention_cost,
    flash_attention,
    flash_workers,
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


@pytest.mark.parametrize("batch", [1, 8])
def test_flash_memory_figure_matches_what_it_holds(batch):
    # tracemalloc's peak during a real call, beyond the output it returns, against
    # attention_cost's count of what flash_attention keeps alive
    rng = np.random.default_rng(3)
    n, d, bq, bk = 2048, 64, 128, 256
    q, k, v = (rng.standard_normal((batch, n, d), dtype=np.float32) for _ in range(3))
    tracemalloc.start()
    try:
        out = flash_attention(q, k, v, block_q=bq, block_k=bk)
        held = tracemalloc.get_traced_memory()[1] - out.nbytes
    finally:
        tracemalloc.stop()
    workers = flash_workers(batch, n, n, bq)
    claimed = attention_cost("flash", n, d, n_head=batch, block_q=bq, block_k=bk,
                             workers=workers).memory_floats * 4
    assert 1 / 1.5 < held / claimed < 1.5, (held, claimed)
    if batch > 1:   # K^T and [V | 1] are kept only for the items in progress, not all 8
        assert held < batch * n * (2 * d + 1) * 4 / 2


def test_flash_cost_by_hand():
    # one thread, one item: K^T + [V | 1], then q block, tile, 2 x [acc | sum], 4 vectors
    n, d, bq, bk = 1000, 32, 100, 250
    assert attention_cost("flash", n, d, block_q=bq, block_k=bk).memory_floats == \
        n * (2 * d + 1) + bq * d + bq * bk + 2 * bq * (d + 1) + 4 * bq
    # more threads than items: only the items exist; more items than threads: one per thread
    two = attention_cost("flash", n, d, n_head=3, block_q=bq, block_k=bk, workers=2)
    assert two.memory_floats == 2 * n * (2 * d + 1) + 2 * (bq * d + bq * bk + 2 * bq * (d + 1)
                                                          + 4 * bq)
    assert flash_workers(1, 10, 10) == 1                  # too small to spread over threads
    with pytest.raises(ValueError, match="workers"):
        attention_cost("flash", n, d, workers=0)


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


def _unsigned_qr_omega(d: int, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Orthogonal blocks from a QR without the sign step: NOT a uniform rotation."""
    blocks = [np.linalg.qr(rng.standard_normal((d, d)))[0].T for _ in range(n_blocks)]
    w = np.concatenate(blocks)
    return w * np.linalg.norm(rng.standard_normal(w.shape), axis=1)[:, None]


def _z_score(draw_omega, q, k, draws: int = 2000) -> float:
    """(mean estimate - exp(q.k)) in standard errors, one d-row block of features per draw."""
    est = np.array([(performer_features(q, w) @ performer_features(k, w).T).item()
                    for w in (draw_omega(np.random.default_rng(s)) for s in range(draws))])
    return (est.mean() - math.exp((q @ k.T).item())) / (est.std(ddof=1) / math.sqrt(draws))


@pytest.mark.parametrize("seed", [1, 2, 5, 6])
def test_orthogonal_performer_features_are_unbiased(seed):
    # E[phi(q) . phi(k)] = exp(q . k): the mean over 2000 independent draws must sit
    # within 4 standard errors of the exact value
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((1, 4)) * 0.5, rng.standard_normal((1, 4)) * 0.5
    assert abs(_z_score(lambda r: performer_omega(4, 4, r), q, k)) < 4
    if seed != 6:
        # the same test catches a QR without the sign step: 11 to 25 SE off for these
        # pairs (its bias depends on the direction of q + k, and is small for seed 6)
        assert abs(_z_score(lambda r: _unsigned_qr_omega(4, 1, r), q, k)) > 8


def test_orthogonal_blocks_are_uniform_rotations():
    # a Haar rotation's first row starts with a negative entry half of the time
    negative = sum(performer_omega(8, 8, np.random.default_rng(s))[0, 0] < 0 for s in range(400))
    assert 160 < negative < 240                    # binomial(400, 1/2): 200 +- 4 sd
    unsigned = sum(_unsigned_qr_omega(8, 1, np.random.default_rng(s))[0, 0] < 0
                   for s in range(400))
    assert unsigned in (0, 400)                    # LAPACK fixes the sign of every block


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
