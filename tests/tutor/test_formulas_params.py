"""Parameter formulas against hand computations and published model sizes."""

from __future__ import annotations

import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_layer_exact_is_12d2_plus_13d():
    # Q, K, V, O: 4 (d*d + d); FFN: d*4d + 4d + 4d*d + d; two LayerNorms: 2 * 2d
    d = 768
    by_hand = 4 * (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 4 * d
    assert value("params.layer_exact", d_model=d) == by_hand == 7_087_872


def test_layer_exact_without_biases_rmsnorm():
    assert value("params.layer_exact", d_model=512, bias=False, norm="rmsnorm") == \
        12 * 512 * 512 + 2 * 512


def test_block_and_estimate():
    assert value("params.block_12d2", d_model=1024) == 12 * 1024**2
    # GPT-3 175B: 96 layers of width 12288 (Brown et al. 2020, Table 2.1)
    assert value("params.estimate_12d2", d_model=12288, n_layer=96) == \
        pytest.approx(173.95e9, rel=1e-4)


def test_preset_totals_match_published_counts():
    # GPT-2 small: 124,439,808 with tied head (transformers' num_parameters())
    assert value("params.preset_total", preset="gpt2") == 124_439_808
    # LLaMA-2-7B: 6,738,415,616 (Hugging Face model card / num_parameters())
    assert value("params.preset_total", preset="llama-2-7b") == 6_738_415_616


def test_embedding_and_head():
    assert value("params.embedding_table", vocab=50257, d_model=768) == 38_597_376
    assert value("params.head_params", preset="llama-3-8b") == 128256 * 4096


def test_gqa_saving_llama2_70b():
    # d=8192, 64 query heads of 128, 8 KV heads: K and V go from 8192x8192 to 8192x1024 each
    d, kv_width = 8192, 8 * 128
    per_layer = 2 * d * d - 2 * d * kv_width
    assert value("params.gqa_saving", d_model=d, n_head=64, n_kv_head=8, n_layer=80) == \
        80 * per_layer


def test_swiglu_hidden_matches_llama():
    # LLaMA 7B and 13B intermediate sizes (config.json): 11008 and 13824
    assert value("params.swiglu_hidden", d_model=4096) == 11008
    assert value("params.swiglu_hidden", d_model=5120) == 13824


def test_ffn_swiglu_and_gelu():
    assert value("params.ffn", d_model=4096, activation="swiglu") == 3 * 4096 * 11008
    assert value("params.ffn", d_model=768) == 2 * 768 * 3072


def test_per_layer_and_ratios():
    # LLaMA-2-7B block: 4 d^2 attention + 3 d f SwiGLU + 2 RMSNorm gains
    d, f = 4096, 11008
    assert value("params.per_layer", preset="llama-2-7b") == 4 * d * d + 3 * d * f + 2 * d
    assert value("params.rule_ratio", preset="gpt2") == \
        pytest.approx(12 * 12 * 768**2 / 124_439_808)
    # GPT-2 non-embedding: total minus wte (50257 x 768) and wpe (1024 x 768)
    assert value("params.non_embedding", preset="gpt2") == \
        124_439_808 - 50257 * 768 - 1024 * 768


def test_norm_total():
    # GPT-2: two LayerNorms per block plus the final one, each gain + shift of 768
    assert value("params.norm_total", preset="gpt2") == (2 * 12 + 1) * 2 * 768
    # LLaMA-2-7B: RMSNorm gains only
    assert value("params.norm_total", preset="llama-2-7b") == (2 * 32 + 1) * 4096


def test_decoder_layer_matches_t5_small():
    d, f = 512, 2048
    assert value("params.decoder_layer", d_model=d) == 2 * 4 * d * d + 2 * d * f + 3 * d
