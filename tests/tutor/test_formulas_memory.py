"""Memory formulas against hand computations and published figures."""

from __future__ import annotations

import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_kv_cache_llama_2_70b_gqa_and_mha():
    # 80 layers, 8 K/V heads of width 128 (64 query heads), fp16
    assert value("memory.kv_cache_preset", preset="llama-2-70b", context=4096) == \
        2 * 4096 * 80 * 8 * 128 * 2 == 1.25 * 2**30
    assert value("memory.kv_cache_preset", preset="llama-2-70b", context=4096, mha=True) == \
        2 * 4096 * 80 * 64 * 128 * 2
    assert value("memory.kv_gqa_saving", preset="llama-2-70b", context=4096, batch=2) == \
        2 * 2 * 4096 * 80 * (64 - 8) * 128 * 2


def test_kv_cache_plain_dims():
    assert value("memory.kv_cache_bytes", seq=2048, layers=32, kv_heads=32, d_head=128,
                 batch=4) == 2 * 4 * 2048 * 32 * 32 * 128 * 2


def test_max_batch_llama_2_7b_on_80gb():
    weights = 6_738_415_616 * 2                  # published LLaMA-2-7B size, fp16
    per_seq = 2 * 4096 * 32 * 32 * 128 * 2       # 2 GiB
    assert value("memory.max_batch", preset="llama-2-7b", context=4096, gpu_gb=80) == \
        (80e9 - weights) // per_seq == 30


def test_decode_bound_is_bandwidth_over_weight_bytes():
    assert value("memory.decode_tokens_per_s", preset="llama-2-7b", bandwidth_gbs=2039) == \
        pytest.approx(2039e9 / (6_738_415_616 * 2))


def test_mixed_precision_adam_is_16_bytes_per_param():
    assert value("memory.training_state", params_b=175) == \
        pytest.approx(175e9 * (2 + 2 + 4 + 4 + 4))
    assert value("memory.training_state", params_b=7, optimizer="sgd") == pytest.approx(7e9 * 8)


@pytest.mark.parametrize(("stage", "per_param"), [(0, 16), (1, 4 + 12 / 8), (2, 2 + 14 / 8),
                                                  (3, 16 / 8)])
def test_zero_stages_match_the_paper(stage, per_param):
    # Rajbhandari et al. 2020, Figure 1: 2 + 2 + K with K = 12 for mixed-precision Adam
    assert value("memory.zero_per_gpu", params_b=7.5, gpus=8, stage=stage) == \
        pytest.approx(7.5e9 * per_param)


def test_activations_gpt_layout_and_checkpointing():
    # GPT-2: s b h (34 + 5 a s / h) bytes per layer (Korthikanti et al. 2022)
    s, b, h, a, L = 1024, 2, 768, 12, 12
    assert value("memory.activation_bytes", preset="gpt2", batch=b, seq=s) == \
        L * s * b * h * (34 + 5 * a * s / h)
    assert value("memory.activation_bytes", preset="gpt2", batch=b, seq=s,
                 checkpointing=True) == L * 2 * s * b * h
