"""Formulas over published Hugging Face configs, against hand computations."""

from __future__ import annotations

import pytest

from tutor.formulas import FORMULAS, compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_totals_and_active_of_published_configs():
    assert value("params.hf_total", preset="deepseek-v3") == 671_026_404_352
    # Mixtral: 6 of 8 experts (3 x 4096 x 14336 each) skipped in each of 32 layers
    total = value("params.hf_total", preset="mixtral-8x7b")
    assert total - value("params.hf_active", preset="mixtral-8x7b") == 32 * 6 * 3 * 4096 * 14336
    assert value("params.hf_active", preset="llama-3.1-8b") == \
        value("params.hf_total", preset="llama-3.1-8b") == 8_030_261_248
    working = compute_answer("params.hf_active", {"preset": "qwen3-30b-a3b"}).working
    assert "routed experts a token skips" in working and "%" in working


def test_mla_and_window_caches():
    assert value("memory.hf_kv_cache", preset="deepseek-v3", context=1) == (512 + 64) * 61 * 2
    assert value("memory.hf_kv_cache", preset="deepseek-v3", context=1000, latent=False) == \
        1000 * 128 * (192 + 128) * 61 * 2
    # Gemma 2 9B at 8192: 21 local layers hold 4096 tokens, 21 global ones 8192
    assert value("memory.hf_kv_cache", preset="gemma-2-9b", context=8192) == \
        21 * (4096 + 8192) * 2 * 8 * 256 * 2


def test_quantized_weights():
    assert value("memory.quantized_bits_per_weight", bits=4, group_size=128) == 4.125
    assert value("memory.quantized_bits_per_weight", bits=4, group_size=64, zero_bits=4) == \
        4 + 20 / 64
    matrices = 32 * (2 * 4096**2 + 2 * 4096 * 1024 + 3 * 4096 * 14336)
    others = 8_030_261_248 - matrices
    assert value("memory.hf_weights", preset="llama-3.1-8b", bits=4, group_size=128) == \
        pytest.approx((matrices * 4.125 + others * 16) / 8, abs=1)


def test_moe_forward_flops():
    d, n = 4096, 1024
    per_layer = (2 * (2 * d * d + 2 * d * 1024) + 2 * n * 32 * 256 + 2 * 2 * 3 * d * 14336
                 + 2 * d * 8)
    assert value("flops.hf_forward_per_token", preset="mixtral-8x7b", context=n) == \
        32 * per_layer + 2 * d * 32000


def test_registered():
    for name in ("params.hf_total", "params.hf_active", "memory.hf_kv_cache",
                 "memory.quantized_bits_per_weight", "memory.hf_weights",
                 "flops.hf_forward_per_token"):
        assert name in FORMULAS
