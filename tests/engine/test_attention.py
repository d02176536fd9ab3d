"""scaled_dot_product_attention against PyTorch golden outputs, masks, additive attention."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.attention import (
    additive_attention,
    causal_mask,
    global_window_mask,
    padding_mask,
    scaled_dot_product_attention,
    sliding_window_mask,
    strided_mask,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def textbook_attention(q, k, v, mask=None, scale=None):
    """Independent float64 route: one query row at a time, only over its allowed keys."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    n_q, n_k = q.shape[-2], k.shape[-2]
    mask = np.ones((n_q, n_k), bool) if mask is None else mask
    mask = np.broadcast_to(mask, batch + (n_q, n_k))
    out = np.zeros(batch + (n_q, v.shape[-1]))
    weights = np.zeros(batch + (n_q, n_k))
    qb, kb, vb = (np.broadcast_to(a, batch + a.shape[-2:]) for a in (q, k, v))
    for idx in np.ndindex(batch):
        for i in range(n_q):
            allowed = np.flatnonzero(mask[idx][i])
            if allowed.size == 0:
                continue
            s = (kb[idx][allowed] @ qb[idx][i]) * scale            # (n_allowed,)
            e = np.exp(s - s.max())
            weights[idx][i, allowed] = e / math.fsum(e)
            out[idx][i] = weights[idx][i] @ vb[idx]
    return out, weights


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURES / "sdpa.npz") as f:
        return dict(f)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", ["sq", "rect"])
@pytest.mark.parametrize("case", ["plain", "bool", "float", "causal", "scale1"])
@pytest.mark.parametrize("return_weights", [False, True])
def test_matches_torch(golden, dtype, shape, case, return_weights):
    p = f"{dtype}_{shape}_"
    q, k, v = golden[p + "q"], golden[p + "k"], golden[p + "v"]
    kwargs = {
        "plain": {}, "causal": {"is_causal": True}, "scale1": {"scale": 1.0},
        "bool": {"attn_mask": golden[p + "bool_mask"]},
        "float": {"attn_mask": golden[p + "float_mask"]},
    }[case]
    got = scaled_dot_product_attention(q, k, v, return_weights=return_weights, **kwargs)
    out = got[0] if return_weights else got
    assert out.dtype == np.dtype(dtype)
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(out, golden[p + case], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_matches_textbook_with_masks(dtype):
    rng = np.random.default_rng(1)
    # Large enough to use several row blocks and the thread pool.
    q = rng.standard_normal((2, 700, 16)).astype(dtype)
    k = rng.standard_normal((2, 900, 16)).astype(dtype)
    v = rng.standard_normal((2, 900, 8)).astype(dtype)
    mask = rng.random((700, 900)) > 0.5
    want, _ = textbook_attention(q[:, :40], k, v, mask[:40])
    got = scaled_dot_product_attention(q, k, v, attn_mask=mask)[:, :40]
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # The last rows come from another block.
    want, _ = textbook_attention(q[:, -30:], k, v, mask[-30:])
    got = scaled_dot_product_attention(q, k, v, attn_mask=mask)[:, -30:]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_fast_path_equals_weights_path_large_scores():
    # Scores far beyond exp's range force the max-subtraction route.
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((3, 600, 32)) * 20 for _ in range(3))
    fast = scaled_dot_product_attention(q, k, v, is_causal=True)
    plain, w = scaled_dot_product_attention(q, k, v, is_causal=True, return_weights=True)
    np.testing.assert_allclose(fast, plain, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)


def test_float32_fast_path_agrees_with_float64():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((1, 4, 640, 64)) for _ in range(3))
    want = scaled_dot_product_attention(q, k, v, return_weights=True)[0]
    got64 = scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(got64, want, rtol=0, atol=1e-13)
    got = scaled_dot_product_attention(q.astype(np.float32), k.astype(np.float32),
                                       v.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("n", [5, 600])
def test_changing_future_tokens_leaves_the_past_bit_identical(n):
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((2, n, 8)).astype(np.float32) for _ in range(3))
    t = n // 2
    k2, v2, q2 = k.copy(), v.copy(), q.copy()
    k2[:, t:] = rng.standard_normal(k2[:, t:].shape)
    v2[:, t:] = rng.standard_normal(v2[:, t:].shape)
    q2[:, t:] = rng.standard_normal(q2[:, t:].shape)
    a = scaled_dot_product_attention(q, k, v, is_causal=True)
    b = scaled_dot_product_attention(q2, k2, v2, is_causal=True)
    assert np.array_equal(a[:, :t], b[:, :t])
    assert not np.array_equal(a[:, t:], b[:, t:])


@pytest.mark.parametrize("return_weights", [False, True])
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_fully_masked_row_gives_zeros_without_warnings(return_weights, mask_kind):
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((2, 4, 6)) for _ in range(3))
    mask = np.ones((4, 4), bool)
    mask[2] = False
    attn_mask = mask if mask_kind == "bool" else np.where(mask, 0.0, -np.inf)
    got = scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, return_weights=return_weights)
    out = got[0] if return_weights else got
    assert np.all(np.isfinite(out))
    assert np.array_equal(out[:, 2], np.zeros((2, 6)))
    want, _ = textbook_attention(q, k, v, mask)
    np.testing.assert_allclose(out, want, atol=1e-12)
    if return_weights:
        assert np.array_equal(got[1][:, 2], np.zeros((2, 4)))


def test_kv_cache_mask_matches_full_causal_attention():
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((3, 9, 4)) for _ in range(3))
    full = scaled_dot_product_attention(q, k, v, is_causal=True)
    # The last 2 queries against all 9 keys: bottom-right causal mask.
    last = scaled_dot_product_attention(q[:, -2:], k, v, attn_mask=causal_mask(2, 9))
    np.testing.assert_allclose(last, full[:, -2:], atol=1e-14)


def test_is_causal_is_top_left_aligned():
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((1, n, 4)) for n in (2, 5, 5))
    got = scaled_dot_product_attention(q, k, v, is_causal=True)
    want, _ = textbook_attention(q, k, v, np.tri(2, 5, dtype=bool))
    np.testing.assert_allclose(got, want, atol=1e-14)


def test_invalid_arguments_raise():
    q = np.zeros((3, 4))
    with pytest.raises(ValueError, match="d_k"):
        scaled_dot_product_attention(q, np.zeros((3, 5)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="n_k"):
        scaled_dot_product_attention(q, np.zeros((3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="broadcast"):
        scaled_dot_product_attention(q, q, q, attn_mask=np.ones((2, 2), bool))


# --- masks ------------------------------------------------------------------


def test_causal_mask_offsets():
    assert np.array_equal(causal_mask(3), np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], bool))
    assert np.array_equal(causal_mask(2, 4), np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool))
    assert np.array_equal(causal_mask(2, 4, offset=0), np.array([[1, 0, 0, 0], [1, 1, 0, 0]], bool))


def test_padding_mask():
    m = padding_mask([2, 0, 3], 3)
    assert m.shape == (3, 1, 1, 3)
    assert np.array_equal(m[:, 0, 0], np.array([[1, 1, 0], [0, 0, 0], [1, 1, 1]], bool))
    with pytest.raises(ValueError, match="lengths"):
        padding_mask([4], 3)


def brute_force(n, rule):
    return np.array([[rule(i, j) for j in range(n)] for i in range(n)], dtype=bool)


@pytest.mark.parametrize("causal", [True, False])
def test_sliding_window_mask(causal):
    want = brute_force(7, lambda i, j: (0 <= i - j < 3) if causal else abs(i - j) < 3)
    assert np.array_equal(sliding_window_mask(7, 3, causal=causal), want)


def test_global_window_mask():
    want = brute_force(8, lambda i, j: abs(i - j) < 2 or i in (0, 5) or j in (0, 5))
    assert np.array_equal(global_window_mask(8, 2, [0, 5]), want)


@pytest.mark.parametrize("causal", [True, False])
def test_strided_mask(causal):
    def rule(i, j):
        if causal and j > i:
            return False
        return abs(i - j) < 3 or abs(i - j) % 3 == 0
    assert np.array_equal(strided_mask(10, 3, causal=causal), brute_force(10, rule))


def test_padding_mask_in_attention_ignores_padded_keys():
    rng = np.random.default_rng(8)
    q, k, v = (rng.standard_normal((2, 2, 5, 4)) for _ in range(3))
    out = scaled_dot_product_attention(q, k, v, attn_mask=padding_mask([3, 5], 5))
    short = scaled_dot_product_attention(q[:1], k[:1, :, :3], v[:1, :, :3])
    np.testing.assert_allclose(out[:1], short, atol=1e-14)


# --- additive attention -----------------------------------------------------


def test_additive_attention_matches_loops():
    rng = np.random.default_rng(9)
    q, k, v = rng.standard_normal((3, 5)), rng.standard_normal((4, 6)), rng.standard_normal((4, 2))
    w_q, w_k, v_a = rng.standard_normal((5, 7)), rng.standard_normal((6, 7)), rng.standard_normal(7)
    mask = np.ones((3, 4), bool)
    mask[1, 2] = False
    out, w = additive_attention(q, k, v, w_q, w_k, v_a, mask=mask, return_weights=True)
    for i in range(3):
        s = np.array([v_a @ np.tanh(w_q.T @ q[i] + w_k.T @ k[j]) for j in range(4)])
        e = np.where(mask[i], np.exp(s - s.max()), 0.0)
        np.testing.assert_allclose(w[i], e / e.sum(), atol=1e-14)
        np.testing.assert_allclose(out[i], (e / e.sum()) @ v, atol=1e-14)
    with pytest.raises(ValueError, match="d_a"):
        additive_attention(q, k, v, w_q, w_k, np.ones(3))


def test_rows_depend_only_on_what_they_may_see_bit_for_bit():
    """Large future keys, or a large other batch item, must not change any visible row's bits
    (the fast path decides per row, from visible keys only, whether to subtract the row max)."""
    from engine.attention import scaled_dot_product_attention as sdpa

    rng = np.random.default_rng(7)
    n, d = 1024, 64
    q, k, v = (rng.standard_normal((2, 4, n, d)).astype(np.float32) for _ in range(3))
    base = sdpa(q, k, v, is_causal=True)
    k2, v2 = k.copy(), v.copy()
    k2[..., 700:, :] *= 50.0          # future keys now push the bound past the threshold
    v2[..., 700:, :] = 3.0
    moved = sdpa(q, k2, v2, is_causal=True)
    assert np.array_equal(base[..., :700, :], moved[..., :700, :])
    assert not np.array_equal(base[..., 700:, :], moved[..., 700:, :])
    # batch items are independent: item 0 alone equals item 0 next to a huge item 1
    big = k.copy()
    big[1] *= 100.0
    assert np.array_equal(sdpa(q[:1], k[:1], v[:1]), sdpa(q, big, v)[:1])
