"""LoRA: merged against unmerged, analytic gradients against finite differences, training
against the closed-form reduced-rank optimum, parameter counts against the arrays."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import PRESETS, ModelConfig
from engine.lora import (
    count_adapters,
    fit_lora,
    lora_delta,
    lora_init,
    lora_linear,
    lora_loss_and_grads,
    lora_merge,
    lora_params,
    lora_unmerge,
    reduced_rank_fit,
)
from engine.model import init_params, param_shapes


def test_merged_layer_equals_the_unmerged_one():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((32, 48))
    a, b = rng.standard_normal((32, 4)), rng.standard_normal((4, 48))
    x = rng.standard_normal((10, 32))
    unmerged = lora_linear(x, w, a, b, alpha=8)
    # the paper's layout: B (d_out, r), A (r, d_in), h = W0 x + (alpha / r) B A x per column
    big_b, big_a = b.T, a.T
    by_hand = np.stack([w.T @ xi + (8 / 4) * big_b @ (big_a @ xi) for xi in x])
    np.testing.assert_allclose(unmerged, by_hand, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x @ lora_merge(w, a, b, 8), unmerged, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lora_unmerge(lora_merge(w, a, b, 8), a, b, 8), w, atol=1e-13)
    assert np.linalg.matrix_rank(lora_delta(a, b, 8)) == 4


def test_init_starts_at_the_base_model():
    rng = np.random.default_rng(1)
    a, b = lora_init(16, 24, 4, rng)
    assert a.shape == (16, 4) and b.shape == (4, 24)
    assert np.all(b == 0) and np.abs(a).max() <= 1 / 4
    w, x = rng.standard_normal((16, 24)), rng.standard_normal((3, 16))
    np.testing.assert_array_equal(lora_linear(x, w, a, b, 8), x @ w)
    with pytest.raises(ValueError, match="rank=17"):
        lora_init(16, 24, 17, rng)
    with pytest.raises(ValueError, match=r"a \(3, 4\)"):
        lora_linear(x, w, np.zeros((3, 4)), np.zeros((4, 24)), 8)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((20, 6)), rng.standard_normal((20, 5))
    w = rng.standard_normal((6, 5))
    a, b = rng.standard_normal((6, 2)), rng.standard_normal((2, 5))
    _, ga, gb = lora_loss_and_grads(x, y, w, a, b, alpha=3.0)
    h = 1e-6
    for param, grad, which in ((a, ga, "a"), (b, gb, "b")):
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            plus, minus = param.copy(), param.copy()
            plus[idx] += h
            minus[idx] -= h
            args = {"a": a, "b": b}
            lp = lora_loss_and_grads(x, y, w, **{**args, which: plus}, alpha=3.0)[0]
            lm = lora_loss_and_grads(x, y, w, **{**args, which: minus}, alpha=3.0)[0]
            numeric[idx] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_reduced_rank_fit_is_optimal_and_matches_svd_for_whitened_inputs():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((200, 12)))
    x = q * np.sqrt(200)                                     # x^T x / n = I
    delta = rng.standard_normal((12, 9))
    fit = reduced_rank_fit(x, x @ delta, 3)
    u, s, vt = np.linalg.svd(delta)
    np.testing.assert_allclose(fit, (u[:, :3] * s[:3]) @ vt[:3], atol=1e-10)   # Eckart-Young
    # general x: no rank-3 update from a random search does better
    x = rng.standard_normal((200, 12)) @ rng.standard_normal((12, 12))
    target = x @ delta
    best = np.linalg.norm(x @ reduced_rank_fit(x, target, 3) - target)
    for _ in range(200):
        other = rng.standard_normal((12, 3)) @ rng.standard_normal((3, 9))
        assert np.linalg.norm(x @ other - target) >= best


def test_training_reaches_the_reduced_rank_optimum():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((256, 16))
    w = rng.standard_normal((16, 16)) * 0.1
    task = rng.standard_normal((16, 2)) @ rng.standard_normal((2, 16)) * 0.1
    y = x @ (w + task)
    for rank in (1, 2):
        a, b, losses = fit_lora(x, y, w, rank, alpha=2 * rank, rng=rng, steps=600, lr=0.02)
        best = reduced_rank_fit(x, y - x @ w, rank)
        optimum = np.sum((x @ best - (y - x @ w)) ** 2) / (2 * len(x))
        assert losses[-1] == pytest.approx(optimum, rel=0.02, abs=1e-6)
        assert losses[-1] < losses[0]
    assert losses[-1] < 1e-4 * losses[0]                   # rank 2 fits a rank-2 task exactly


def test_adapter_counts_against_the_arrays():
    config = ModelConfig(vocab_size=50, n_ctx=16, d_model=32, n_layer=3, n_head=4,
                         n_kv_head=2, activation="swiglu", norm="rmsnorm", bias=False,
                         tie_embeddings=False, positional="rope")
    params = init_params(config, np.random.default_rng(5))
    count = count_adapters(param_shapes(config), rank=4, targets=("attn.w_q", "attn.w_v"))
    expected = sum(4 * (p.shape[0] + p.shape[1]) for n, p in params.items()
                   if n.endswith((".attn.w_q", ".attn.w_v")))
    assert count.trainable == expected == 3 * (4 * (32 + 32) + 4 * (32 + 16))
    assert count.total == sum(p.size for p in params.values())
    assert count.adapted == 3 * (32 * 32 + 32 * 16)
    # the LoRA paper's GPT-3 175B rows (Table 4): W_q and W_v of 96 layers, d = 12288,
    # "4.7M" at r = 1 and "37.7M" at r = 8
    assert lora_params(12288, 12288, 1) * 2 * 96 == 4_718_592
    assert lora_params(12288, 12288, 8) * 2 * 96 == 37_748_736
    llama = count_adapters(param_shapes(PRESETS["llama-2-7b"]), 8)
    assert llama.trainable == 32 * 2 * 8 * (4096 + 4096) and llama.share < 0.001
