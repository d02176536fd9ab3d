"""Long-context formulas against hand arithmetic and the engine's RoPE scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def _wavelengths(d_head: int, theta: float) -> list[float]:
    return [2 * math.pi * theta ** (2 * i / d_head) for i in range(d_head // 2)]


def test_ntk_base_stretches_the_slowest_pair_by_the_factor():
    from engine.positional import rope_inv_freq

    for theta, s, d in [(10000.0, 4.0, 128), (500000.0, 8.0, 64)]:
        base = value("longctx.ntk_theta", theta=theta, factor=s, d_head=d)
        # the lowest frequency theta^(-(d-2)/d) becomes exactly 1/s of itself
        assert base ** (-(d - 2) / d) == pytest.approx(theta ** (-(d - 2) / d) / s)
        # transformers' dynamic NTK at factor 1 and length s x L0 uses the same base
        dynamic, _ = rope_inv_freq(d, theta, {"rope_type": "dynamic", "factor": 1.0},
                                   seq_len=int(s * 4096), max_position_embeddings=4096)
        ntk, _ = rope_inv_freq(d, base)
        np.testing.assert_allclose(dynamic, ntk, rtol=1e-12)


def test_yarn_logit_scale_by_hand():
    for s in (2.0, 4.0, 16.0, 32.0):
        m = 0.1 * math.log(s) + 1
        assert value("longctx.yarn_logit_scale", factor=s) == pytest.approx(m * m)
        assert value("longctx.yarn_logit_scale", factor=s, squared=0) == pytest.approx(m)


def test_llama3_bands_by_wavelength():
    for d, theta, original in [(128, 500000.0, 8192), (64, 10000.0, 4096), (128, 10000.0, 8192)]:
        waves = _wavelengths(d, theta)
        kept = sum(w < original / 4 for w in waves)
        divided = sum(w > original / 1 for w in waves)
        got = {w: value("longctx.llama3_pairs", d_head=d, theta=theta, original=original,
                        which=w) for w in ("kept", "divided", "blended")}
        assert (got["kept"], got["divided"]) == (kept, divided)
        assert sum(got.values()) == d // 2
    # Llama 3.1's own configuration
    assert value("longctx.llama3_pairs", d_head=128, theta=500000.0, original=8192) == 29


def test_unturned_pairs_by_hand():
    for length, d, theta in [(4096, 128, 10000.0), (8192, 128, 500000.0), (2048, 64, 10000.0)]:
        expected = sum(w > length for w in _wavelengths(d, theta))
        assert value("longctx.unturned_pairs", trained_len=length, d_head=d,
                     theta=theta) == expected
    assert value("longctx.unturned_pairs", trained_len=4096, d_head=128) == 18


# llama-3.1-8b by hand: 32 layers, 32 query heads of 128, 8 K/V heads, d = 4096
L8_MATMUL = 8_030_261_248 - 128_256 * 4096 - (2 * 32 + 1) * 4096   # head included, no norms
L8_PER_KEY = 2 * 32 * 32 * (128 + 128)                               # Q K^T and weights x V


def test_attention_share_by_hand():
    for n in (8192, 131072):
        scores = L8_PER_KEY * n
        assert value("longctx.attention_share", preset="llama-3.1-8b", context=n) == \
            pytest.approx(scores / (scores + 2 * L8_MATMUL))
    kv = L8_PER_KEY * 8192 // 4
    assert value("longctx.attention_share", preset="llama-3.1-8b", context=8192,
                 kv_heads_only=1) == pytest.approx(kv / (kv + 2 * L8_MATMUL))


def test_prefill_flops_by_hand():
    n = 32768
    head = 2 * 4096 * 128_256
    blocks = 2 * (L8_MATMUL - 4096 * 128_256)
    causal = n * blocks + L8_PER_KEY * n * (n + 1) // 2 + head
    assert value("longctx.prefill_flops", preset="llama-3.1-8b", context=n) == \
        pytest.approx(causal, rel=1e-12)
    dense = n * blocks + L8_PER_KEY * n * n + head
    assert value("longctx.prefill_flops", preset="llama-3.1-8b", context=n, causal=0) == \
        pytest.approx(dense, rel=1e-12)
    with pytest.raises(ValueError, match="sliding-window"):
        value("longctx.prefill_flops", preset="gemma-2-9b", context=n)
