"""Attention formulas against hand computations done independently of the engine."""

from __future__ import annotations

import math

import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_score_matrix_size():
    assert value("complexity.score_entries", n=1000, heads=8, batch=2) == 16_000_000
    # 32 heads x 32768^2 x 2 bytes = 2^5 x 2^30 x 2 = 2^36 bytes = 64 GiB
    assert value("complexity.score_gib", n=32768, heads=32, bytes_per=2) == 64.0
    assert value("complexity.score_gib", n=4096, heads=12, bytes_per=4) == pytest.approx(
        12 * 4096**2 * 4 / 2**30)


def test_attention_flops_are_4_n2_d():
    assert value("complexity.attention_layer_flops", n=4096, d_model=4096) == 4 * 4096**2 * 4096
    assert value("complexity.attention_layer_flops", n=1000, d_model=768) == 4 * 1000**2 * 768
    assert value("complexity.attention_growth", n1=1024, n2=4096) == pytest.approx(16.0)


def test_crossover_is_6d_for_a_plain_layer():
    # per token: 24 d^2 fixed (8 d^2 projections + 16 d^2 FFN) against 4 n d -> n = 6 d
    assert value("complexity.crossover_context", d_model=768) == pytest.approx(6 * 768)
    # LLaMA-2-7B: 2 d (3 d) + 2 d d + 2 x 3 x d x 11008 over 4 d
    d = 4096
    fixed = 2 * d * 3 * d + 2 * d * d + 2 * 3 * d * 11008
    assert value("complexity.crossover_context", preset="llama-2-7b") == pytest.approx(
        fixed / (4 * d))


def test_sequence_growth_for_gpt2_by_hand():
    d, L, V = 768, 12, 50257

    def per_seq(n):
        per_token = L * (24 * d * d + 4 * n * d) + 2 * d * V
        return n * per_token

    expected = per_seq(4096) / per_seq(2048)
    assert value("complexity.sequence_flops_growth", preset="gpt2", n1=2048,
                 n2=4096) == pytest.approx(expected)
    assert 2 < expected < 4


def test_scaling_and_softmax():
    assert value("scaling.dot_std", d_k=64) == pytest.approx(8.0)
    assert value("scaling.dot_std", d_k=128, var=0.5) == pytest.approx(math.sqrt(128) * 0.5)
    # softmax([3, 0, 0]) = [0.909, 0.045, 0.045]
    p = math.exp(3) / (math.exp(3) + 2)
    assert value("scaling.softmax_top_weight", gap=3, n_keys=3) == pytest.approx(p)
    assert value("scaling.softmax_self_grad", gap=3, n_keys=3) == pytest.approx(p * (1 - p))
    # gap 24: 1 - p is about 2 e^-24, and must not cancel to zero
    assert value("scaling.softmax_self_grad", gap=24, n_keys=3) == pytest.approx(
        2 * math.exp(-24), rel=1e-6)


def test_masks():
    assert value("masks.causal_pairs", n=4) == 10           # 1 + 2 + 3 + 4
    assert value("masks.causal_pairs", n=2048) == sum(range(1, 2049))
    assert value("masks.padding_waste_percent", lengths="2,5,10") == pytest.approx(
        100 * 13 / 30)
    assert value("masks.padding_waste_percent", lengths="512, 512") == 0


def test_heads_and_projections():
    assert value("attention.head_dim", d_model=4096, heads=32) == 128
    # LLaMA-2-70B: Q and O are 8192 x 8192, K and V are 8192 x (8 x 128)
    assert value("attention.projection_params", d_model=8192, heads=64,
                 kv_heads=8) == 2 * 8192**2 + 2 * 8192 * 1024
    assert value("attention.projection_params", d_model=768, heads=12,
                 kv_heads=12) == 4 * 768**2


def test_positions():
    # ALiBi, 8 heads: 1/2, 1/4, ..., 1/256
    assert value("positional.alibi_slope", head=1, heads=8) == 0.5
    assert value("positional.alibi_slope", head=8, heads=8) == 1 / 256
    assert value("positional.alibi_slope", head=3, heads=16) == pytest.approx(2**-1.5)
    # pair 0 turns once every 2 pi tokens; the last pair of d=128 at 10000^(126/128)
    assert value("positional.rope_wavelength", pair=0, d_head=128) == pytest.approx(2 * math.pi)
    assert value("positional.rope_wavelength", pair=32, d_head=128) == pytest.approx(
        2 * math.pi * 100)
    assert value("positional.rope_wavelength", pair=32, d_head=128,
                 theta=500000.0) == pytest.approx(2 * math.pi * math.sqrt(500000))
    assert value("positional.rope_angle_degrees", position=10, pair=0,
                 d_head=64) == pytest.approx(10 * 180 / math.pi)
    assert value("positional.sinusoidal_wavelength", pair=128, d_model=512) == pytest.approx(
        2 * math.pi * 100)
