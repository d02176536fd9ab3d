"""Accounting checked against reference counts, the model's own arrays, a traced
forward pass and hand arithmetic from the papers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.accounting import (
    COMPONENTS,
    activation_memory,
    attention_flop_share,
    attention_params,
    chinchilla_optimal,
    count_params,
    ffn_params,
    forward_flops_per_token,
    inference_memory,
    kv_cache_bytes,
    layer_params,
    norm_params,
    training_flops,
    training_memory,
)
from engine.config import PRESETS, ModelConfig, preset
from engine.model import init_params, param_shapes

FIXTURE = Path(__file__).parents[1] / "fixtures" / "param_counts.json"
REFERENCE = json.loads(FIXTURE.read_text())["models"]

# Small configs of every flavour the engine builds.
SMALL = {
    "gpt2-like": ModelConfig(vocab_size=61, n_ctx=16, d_model=16, n_layer=2, n_head=4,
                             activation="gelu_tanh"),
    "bert-like": ModelConfig(arch="encoder", vocab_size=53, n_ctx=12, d_model=16, n_layer=2,
                             n_head=2, norm_position="post", type_vocab_size=2,
                             embedding_norm=True, final_norm=False, pooler=True),
    "t5-like": ModelConfig(arch="encoder-decoder", vocab_size=47, n_ctx=12, d_model=16,
                           n_layer=2, n_decoder_layer=3, n_head=2, d_head=12, d_ff=24,
                           activation="relu", norm="rmsnorm", bias=False,
                           positional="relative", relative_buckets=8),
    "llama-gqa": ModelConfig(vocab_size=40, n_ctx=16, d_model=32, n_layer=2, n_head=8,
                             n_kv_head=2, activation="swiglu", norm="rmsnorm", bias=False,
                             tie_embeddings=False, positional="rope"),
    "mqa": ModelConfig(vocab_size=40, n_ctx=16, d_model=32, n_layer=1, n_head=4, n_kv_head=1,
                       activation="swiglu", norm="rmsnorm", bias=False, positional="rope"),
    "sinusoidal-relu": ModelConfig(vocab_size=30, n_ctx=8, d_model=8, n_layer=2, n_head=2,
                                   activation="relu", positional="sinusoidal"),
    "alibi-untied": ModelConfig(vocab_size=30, n_ctx=8, d_model=8, n_layer=3, n_head=2,
                                positional="alibi", tie_embeddings=False),
    "no-bias-layernorm": ModelConfig(vocab_size=30, n_ctx=8, d_model=8, n_layer=2, n_head=2,
                                     bias=False, norm_position="post", final_norm=False),
    "encoder-untied": ModelConfig(arch="encoder", vocab_size=30, n_ctx=8, d_model=8,
                                  n_layer=1, n_head=2, tie_embeddings=False),
    "enc-dec-learned": ModelConfig(arch="encoder-decoder", vocab_size=30, n_ctx=8, d_model=8,
                                   n_layer=1, n_head=2, embedding_norm=True,
                                   tie_embeddings=False, activation="swiglu", d_ff=12),
}


def shapes_total(config: ModelConfig) -> int:
    return sum(math.prod(s) for s in param_shapes(config).values())


# ----------------------------------------------------------------------------- parameters

def test_fixture_covers_every_preset():
    assert sorted(REFERENCE) == sorted(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_count_matches_reference_implementation(name):
    count = count_params(preset(name))
    assert count.total == REFERENCE[name]["total"]
    assert {k: v for k, v in count.items.items() if v} == REFERENCE[name]["items"]
    assert list(count.items) == list(COMPONENTS)


def test_well_known_totals():
    # the numbers quoted in model cards and papers, written out by hand
    assert count_params(preset("gpt2")).total == 124_439_808
    assert count_params(preset("bert-base")).total == 109_482_240
    assert count_params(preset("t5-small")).total == 60_506_624
    assert count_params(preset("llama-2-7b")).total == 6_738_415_616
    assert count_params(preset("mistral-7b")).total == 7_241_732_096
    assert count_params(preset("llama-3-8b")).total == 8_030_261_248


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_count_matches_model_param_shapes(name):
    assert count_params(preset(name)).total == shapes_total(preset(name))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_count_matches_allocated_arrays(name):
    config = SMALL[name]
    params = init_params(config, np.random.default_rng(0))
    assert count_params(config).total == sum(a.size for a in params.values())


@settings(max_examples=60, deadline=None)
@given(
    arch=st.sampled_from(["decoder", "encoder", "encoder-decoder"]),
    n_head=st.sampled_from([1, 2, 4]),
    kv_div=st.sampled_from([1, 2, 4]),
    d_head=st.sampled_from([None, 3]),
    d_ff=st.sampled_from([None, 5]),
    n_layer=st.integers(1, 3),
    n_decoder_layer=st.sampled_from([None, 1, 2]),
    activation=st.sampled_from(["gelu", "gelu_tanh", "relu", "swiglu"]),
    norm=st.sampled_from(["layernorm", "rmsnorm"]),
    bias=st.booleans(),
    tie=st.booleans(),
    positional=st.sampled_from(["learned", "sinusoidal", "rope", "alibi", "relative"]),
    type_vocab_size=st.sampled_from([0, 2]),
    embedding_norm=st.booleans(),
    final_norm=st.booleans(),
    pooler=st.booleans(),
)
def test_count_matches_param_shapes_for_any_config(arch, n_head, kv_div, d_head, d_ff, n_layer,
                                                   n_decoder_layer, activation, norm, bias, tie,
                                                   positional, type_vocab_size, embedding_norm,
                                                   final_norm, pooler):
    config = ModelConfig(arch=arch, vocab_size=23, n_ctx=7, d_model=8, n_layer=n_layer,
                         n_head=n_head, n_kv_head=max(1, n_head // kv_div), d_head=d_head,
                         d_ff=d_ff, n_decoder_layer=n_decoder_layer, activation=activation,
                         norm=norm, bias=bias, tie_embeddings=tie, positional=positional,
                         type_vocab_size=type_vocab_size, embedding_norm=embedding_norm,
                         final_norm=final_norm, pooler=pooler, relative_buckets=5)
    assert count_params(config).total == shapes_total(config)


def test_gpt_block_is_12_d_squared_plus_13_d():
    # 4 d^2 + 4d (Q, K, V, O) + 8 d^2 + 5d (FFN) + 4d (two LayerNorms)
    for d in (64, 768, 1600):
        assert layer_params(d) == 12 * d * d + 13 * d
        assert layer_params(d, bias=False, norm="rmsnorm") == 12 * d * d + 2 * d
    gpt2 = count_params(preset("gpt2"))
    assert gpt2.per_layer == 12 * 768**2 + 13 * 768
    assert gpt2.rule_12d2 == 12 * 12 * 768**2


def test_llama_block_by_hand():
    # LLaMA-2-7B: four 4096^2 projections, three 4096 x 11008 matrices, two RMSNorm gains
    block = 4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096
    assert layer_params(4096, 11008, n_head=32, activation="swiglu", bias=False,
                        norm="rmsnorm") == block
    assert count_params(preset("llama-2-7b")).per_layer == block
    # GQA (70B): K and V are 8 heads of 128 = 1024 wide instead of 8192
    assert attention_params(8192, 64, 8, bias=False) == 2 * 8192**2 + 2 * 8192 * 1024


def test_block_helpers():
    assert norm_params(10) == 20
    assert norm_params(10, bias=False) == 10
    assert norm_params(10, "rmsnorm") == 10
    assert ffn_params(10) == 2 * 10 * 40 + 40 + 10
    assert ffn_params(10, 7, "swiglu", bias=False) == 3 * 10 * 7
    assert attention_params(12, 3, d_head=5, bias=False) == 4 * 12 * 15
    t5 = count_params(preset("t5-small"))
    assert t5.per_decoder_layer == layer_params(512, 2048, 8, d_head=64, activation="relu",
                                                bias=False, norm="rmsnorm",
                                                cross_attention=True)


def test_embedding_share():
    gpt2 = count_params(preset("gpt2"))
    assert gpt2.non_embedding == 124_439_808 - 50257 * 768 - 1024 * 768
    assert gpt2.embedding_share == pytest.approx((50257 + 1024) * 768 / 124_439_808)
    llama = count_params(preset("llama-2-7b"))   # untied: the head counts as embedding
    assert llama.embedding == 2 * 32000 * 4096


@pytest.mark.parametrize("bad", [
    lambda: norm_params(0),
    lambda: norm_params(8, "batchnorm"),
    lambda: attention_params(10, 3),
    lambda: attention_params(12, 4, 3),
    lambda: ffn_params(8, activation="tanh"),
    lambda: ffn_params(8, d_ff=0),
])
def test_helpers_reject_bad_arguments(bad):
    with pytest.raises(ValueError):
        bad()


# ----------------------------------------------------------------------------- FLOPs

class MatmulCounter:
    """a @ b that adds up 2 x multiply-adds: each output element is a k-long dot product."""

    def __init__(self) -> None:
        self.flops = 0

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = a @ b
        self.flops += 2 * out.size * a.shape[-1]
        return out


def traced_forward_flops(config: ModelConfig, n_ctx: int, head: bool) -> float:
    """Run a forward pass's matmuls on zero arrays of the real shapes and count them."""
    mm = MatmulCounter()
    c = config
    d, h, kv, dh, f = c.d_model, c.n_head, c.kv_heads, c.head_dim, c.ffn_dim

    def w(n_in, n_out):
        return np.zeros((n_in, n_out))

    def attention(x, memory):                                       # (T, d), (S, d)
        t, s = len(x), len(memory)
        q = mm(x, w(d, h * dh)).reshape(t, h, dh).transpose(1, 0, 2)          # (h, T, dh)
        k = mm(memory, w(d, kv * dh)).reshape(s, kv, dh).transpose(1, 0, 2)   # (kv, S, dh)
        v = mm(memory, w(d, kv * dh)).reshape(s, kv, dh).transpose(1, 0, 2)
        k, v = np.repeat(k, h // kv, axis=0), np.repeat(v, h // kv, axis=0)   # (h, S, dh)
        p = mm(q, k.swapaxes(-1, -2))                                          # (h, T, S)
        o = mm(p, v).transpose(1, 0, 2).reshape(t, h * dh)                     # (T, h*dh)
        return mm(o, w(h * dh, d))

    def ffn(x):
        hidden = mm(x, w(d, f))
        if c.activation == "swiglu":
            hidden = hidden * mm(x, w(d, f))
        return mm(hidden, w(f, d))

    x = np.zeros((n_ctx, d))
    if c.arch == "encoder-decoder":
        memory = x
        for _ in range(c.n_layer):
            memory = memory + attention(memory, memory)
            memory = memory + ffn(memory)
        for _ in range(c.decoder_layers):
            x = x + attention(x, x)
            x = x + attention(x, memory)
            x = x + ffn(x)
    else:
        for _ in range(c.n_layer):
            x = x + attention(x, x)
            x = x + ffn(x)
    if head:
        mm(x, w(d, c.vocab_size))
    return mm.flops / n_ctx


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("n_ctx", [1, 5, 16])
def test_flops_match_traced_forward_pass(name, n_ctx):
    config = SMALL[name]
    flops = forward_flops_per_token(config, n_ctx)
    head = config.arch != "encoder"
    assert flops.total == traced_forward_flops(config, n_ctx, head)
    assert forward_flops_per_token(config, n_ctx, head=not head).total == \
        traced_forward_flops(config, n_ctx, not head)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_flops_match_walk_over_param_shapes(name):
    # every projection matrix is used once per token; the output head is the
    # (tied or untied) vocab x d matrix; Q K^T and A V add 2 n_ctx d_q each per layer
    config, n_ctx = preset(name), 333
    shapes = param_shapes(config)
    projections = sum(2 * math.prod(s) for k, s in shapes.items() if ".w_" in k)
    n_attention = sum(1 for k in shapes if k.endswith("attn.w_q"))
    context = n_attention * 4 * n_ctx * config.n_head * config.head_dim
    head = 2 * config.d_model * config.vocab_size if config.arch != "encoder" else 0
    assert forward_flops_per_token(config, n_ctx).total == projections + context + head


def test_gpt2_flops_by_hand_and_kaplan():
    L, d, n, V = 12, 768, 1024, 50257
    flops = forward_flops_per_token(preset("gpt2"), n)
    assert flops.total == 2 * 12 * L * d * d + 4 * L * n * d + 2 * d * V
    n_non_embedding = 124_439_808 - V * d - n * d
    assert flops.kaplan == 2 * n_non_embedding + 2 * L * n * d
    assert flops.attention_context == 4 * L * n * d
    assert attention_flop_share(preset("gpt2"), n) == pytest.approx(4 * L * n * d / flops.total)


def test_attention_share_grows_with_context():
    shares = [attention_flop_share(preset("llama-2-7b"), n) for n in (128, 1024, 8192, 65536)]
    assert shares == sorted(shares)
    assert shares[0] < 0.02 and shares[-1] > 0.5


def test_training_flops_gpt3():
    # GPT-3 paper: 175B parameters on 300B tokens, about 3.14e23 FLOPs
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23)
    with pytest.raises(ValueError):
        training_flops(-1, 10)


def test_chinchilla_rule():
    point = chinchilla_optimal(n_params=70e9)
    assert point.n_tokens == pytest.approx(1.4e12)
    assert point.compute_flops == pytest.approx(6 * 70e9 * 1.4e12)
    # Chinchilla's budget, 5.76e23 FLOPs, gives about 70B parameters and 1.4T tokens
    budget = chinchilla_optimal(compute_flops=5.76e23)
    assert budget.n_params == pytest.approx(math.sqrt(5.76e23 / 120))
    assert 65e9 < budget.n_params < 72e9
    assert budget.compute_flops == pytest.approx(5.76e23)
    with pytest.raises(ValueError):
        chinchilla_optimal()
    with pytest.raises(ValueError):
        chinchilla_optimal(compute_flops=1e20, n_params=1e9)


# ----------------------------------------------------------------------------- memory

def test_mixed_precision_adam_is_16_bytes_per_parameter():
    gpt3 = training_memory(175_000_000_000, "mixed", "adam")
    assert gpt3.total == 2_800_000_000_000                   # 2.8 TB
    assert (gpt3.weights, gpt3.gradients, gpt3.master_weights, gpt3.optimizer_states) == \
        (350e9, 350e9, 700e9, 1400e9)
    assert training_memory(10, "fp32", "adam").total == 10 * (4 + 4 + 8)
    assert training_memory(10, "fp32", "sgd").bytes_per_param == 8
    assert training_memory(10, "mixed", "momentum").total == 10 * (2 + 2 + 4 + 4)
    with pytest.raises(ValueError):
        training_memory(10, "fp8")
    with pytest.raises(ValueError):
        training_memory(10, optimizer="lion")


@pytest.mark.parametrize("name", ["gpt2", "gpt2-xl", "gpt3-175b"])
@pytest.mark.parametrize("batch,seq", [(1, 128), (8, 1024), (1, 2048)])
def test_activations_match_korthikanti_formula(name, batch, seq):
    config = PRESETS.get(name) or ModelConfig(d_model=12288, n_layer=96, n_head=96, n_ctx=2048)
    s, b, h, a, L = seq, batch, config.d_model, config.n_head, config.n_layer
    memory = activation_memory(config, batch, seq)
    # Korthikanti et al. (2022), eq. (1): s b h (34 + 5 a s / h) bytes per layer
    assert memory.per_layer == s * b * h * 34 + 5 * a * s * s * b
    assert memory.total == L * memory.per_layer
    assert memory.quadratic == L * 5 * a * s * s * b
    # full recomputation keeps only each layer's input: 2 s b h L
    assert activation_memory(config, batch, seq, checkpointing=True).total == 2 * s * b * h * L


def test_activations_without_dropout_in_fp32():
    s, b, h, a, L = 64, 2, 768, 12, 12
    memory = activation_memory(preset("gpt2"), b, s, bytes_per=4, dropout=False)
    assert memory.total == L * 4 * (16 * s * b * h + a * s * s * b)


def test_llama_2_7b_kv_cache_is_2_gib():
    assert kv_cache_bytes(preset("llama-2-7b"), batch=1, seq=4096) == 2 * 4096 * 32 * 32 * 128 * 2
    assert kv_cache_bytes(preset("llama-2-7b"), 1, 4096) == 2**31
    assert kv_cache_bytes((32, 32, 128), 1, 4096) == 2**31
    assert kv_cache_bytes({"n_layer": 32, "n_kv_head": 32, "head_dim": 128}, 1, 4096) == 2**31
    # GQA: LLaMA-2-70B keeps 8 K/V heads over 80 layers, 1.25 GiB at 4096 tokens
    assert kv_cache_bytes(preset("llama-2-70b"), 1, 4096) == 5 * 2**28
    with pytest.raises(ValueError):
        kv_cache_bytes(preset("bert-base"), 1, 10)
    with pytest.raises(ValueError):
        kv_cache_bytes({"n_layer": 2}, 1, 10)


def test_inference_memory():
    memory = inference_memory(preset("llama-2-7b"), batch=4, seq=4096)
    assert memory.weights == 2 * 6_738_415_616
    assert memory.kv_cache == 4 * 2**31
    assert memory.total == memory.weights + memory.kv_cache
    assert inference_memory(preset("llama-2-7b"), seq=0, weight_bytes=0.5).total == \
        6_738_415_616 // 2
