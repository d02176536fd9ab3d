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
    HF_COMPONENTS,
    HF_MODEL_TYPES,
    activation_memory,
    attention_flop_share,
    attention_params,
    chinchilla_optimal,
    count_hf_params,
    count_params,
    ffn_params,
    forward_flops_per_token,
    hf_forward_flops_per_token,
    hf_inference_memory,
    hf_kv_cache_bytes,
    hf_weight_memory,
    inference_memory,
    kv_cache_bytes,
    layer_params,
    norm_params,
    quantized_bits_per_weight,
    training_flops,
    training_memory,
)
from engine.config import PRESETS, ModelConfig, preset
from engine.hf_configs import HF_PRESETS, hf_config
from engine.model import init_params, param_shapes

FIXTURE = Path(__file__).parents[1] / "fixtures" / "param_counts.json"
REFERENCE = json.loads(FIXTURE.read_text())["models"]
HF_FIXTURE = json.loads((FIXTURE.parent / "hf_param_counts.json").read_text())
HF_CASES = [(group, name) for group in ("presets", "small", "minimal")
            for name in HF_FIXTURE[group]]

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


# ----------------------------------------------------------------------------- HF configs

def test_hf_fixture_covers_every_preset_and_model_type():
    assert sorted(HF_FIXTURE["presets"]) == sorted(HF_PRESETS)
    types = {entry["config"]["model_type"]
             for group in ("small", "minimal") for entry in HF_FIXTURE[group].values()}
    assert types == set(HF_MODEL_TYPES)


@pytest.mark.parametrize("form", ["config", "to_dict"])
@pytest.mark.parametrize("group,name", HF_CASES)
def test_hf_count_matches_transformers(group, name, form):
    # counted from the dict given to transformers and from the dict it writes back
    ref = HF_FIXTURE[group][name]
    count = count_hf_params(ref[form])
    assert count.total == ref["total"]
    assert count.active == ref["active"]
    assert {k: v for k, v in count.items.items() if v} == ref["items"]
    assert list(count.items) == list(HF_COMPONENTS)


@pytest.mark.parametrize("name", sorted(HF_PRESETS))
def test_hf_presets_are_the_fixture_configs(name):
    assert hf_config(name) == HF_FIXTURE["presets"][name]["config"]


def test_hf_presets_match_published_sizes():
    # sizes quoted by the model cards and papers, in billions: (total, active)
    quoted = {"mixtral-8x7b": ("46.7", "12.9"), "qwen2.5-7b": ("7.61", None),
              "qwen3-30b-a3b": ("30.5", "3.3"), "gemma-2-9b": ("9.24", None),
              "llama-3.1-8b": ("8.03", None), "llama-3.1-70b": ("70.6", None),
              "llama-3.1-405b": ("406", None), "phi-3-mini": ("3.82", None),
              "gpt-neox-20b": ("20.6", None), "olmo-2-7b": ("7.30", None),
              "deepseek-v3": ("671", "37")}

    def close(n: int, text: str) -> bool:     # within one unit of the last quoted digit
        unit = 10.0 ** -len(text.partition(".")[2])
        return abs(n / 1e9 - float(text)) <= unit

    for name, (total, active) in quoted.items():
        count = count_hf_params(hf_config(name))
        assert close(count.total, total), name
        assert count.active == count.total if active is None else close(count.active, active)
    # Qwen's cards also quote the non-embedding counts
    assert close(count_hf_params(hf_config("qwen2.5-7b")).non_embedding, "6.53")
    assert close(count_hf_params(hf_config("qwen3-30b-a3b")).non_embedding, "29.9")


def test_mixtral_by_hand():
    d, f, layers, vocab = 4096, 14336, 32, 32000
    attention = d * d * 2 + 2 * d * 1024                          # q, o; k, v with 8 KV heads
    expert = 3 * d * f
    count = count_hf_params(hf_config("mixtral-8x7b"))
    assert count.items["routed_experts"] == layers * 8 * expert
    assert count.items["router"] == layers * d * 8
    assert count.total == 2 * vocab * d + layers * (attention + 8 * expert + 8 * d + 2 * d) + d
    assert count.total - count.active == layers * 6 * expert       # top-2 of 8


def test_deepseek_v3_by_hand_and_its_mtp_module():
    d, h, vocab, layers = 7168, 128, 129280, 61
    attention = (d * 1536 + 1536 * h * (128 + 64)          # q: down to rank 1536, up per head
                 + d * (512 + 64) + 512 * h * (128 + 128)   # kv latent + rope key, up to K_nope, V
                 + h * 128 * d)                             # output
    norms = 2 * d + 1536 + 512
    expert = 3 * d * 2048
    moe = 256 * expert + expert + 256 * d                    # routed, one shared, router
    dense = 3 * d * 18432
    count = count_hf_params(hf_config("deepseek-v3"))
    assert count.total == (2 * vocab * d + layers * (attention + norms) + 3 * dense + 58 * moe + d)
    assert count.total == 671_026_404_352
    assert count.active == count.total - 58 * 248 * expert   # 8 of 256 routed experts
    assert count.n_moe_layers == 58
    # The release also holds one multi-token-prediction block: an MoE layer, two
    # norms, a 2d -> d projection and a norm before the shared head; transformers
    # does not build it. The checkpoint stores its own copies of embedding and head,
    # which makes the quoted 685B.
    mtp = attention + norms + moe + 2 * d + 2 * d * d + d
    assert count.not_built == {"mtp": mtp}
    assert round((count.total + mtp + 2 * vocab * d) / 1e9) == 684   # 684.49: "685B" as rounded


def test_hf_count_refuses_what_it_does_not_understand():
    base = hf_config("mixtral-8x7b")
    with pytest.raises(ValueError, match="model_type='bert' is not supported"):
        count_hf_params({**base, "model_type": "bert"})
    with pytest.raises(ValueError, match="'n_shared_experts'=2 is not understood"):
        count_hf_params({**base, "n_shared_experts": 2})
    with pytest.raises(ValueError, match="'hidden_size' is missing"):
        count_hf_params({k: v for k, v in base.items() if k != "hidden_size"})
    with pytest.raises(ValueError, match="'num_hidden_layers'=32.5 must be a whole number"):
        count_hf_params({**base, "num_hidden_layers": 32.5})
    with pytest.raises(ValueError, match="exceeds the 8 experts"):
        count_hf_params({**base, "num_experts_per_tok": 9})
    with pytest.raises(ValueError, match="'num_local_experts' and 'num_experts' disagree"):
        count_hf_params({**base, "num_experts": 4})
    with pytest.raises(ValueError, match="add_cross_attention"):
        count_hf_params({**HF_FIXTURE["small"]["gpt2-tied"]["config"], "add_cross_attention": True})
    with pytest.raises(ValueError, match="moe_layer_freq"):
        count_hf_params({**hf_config("deepseek-v3"), "moe_layer_freq": 2})
    with pytest.raises(ValueError, match="layer_types"):
        count_hf_params({**hf_config("gemma-2-9b"), "layer_types": ["full_attention"]})
    with pytest.raises(ValueError, match="expected a config dict"):
        count_hf_params([1, 2])
    # null or false fields switch nothing on, and unrelated fields are ignored
    assert count_hf_params({**base, "attention_bias": False, "my_note": "x"}).total == \
        count_hf_params(base).total


@pytest.mark.parametrize("name", sorted(HF_FIXTURE["small"]))
def test_hf_flops_match_torch_flop_counter(name):
    # FlopCounterMode on a real transformers forward pass of n tokens, per token
    ref = HF_FIXTURE["small"][name]
    n = HF_FIXTURE["n_tokens"]
    assert hf_forward_flops_per_token(ref["config"], n).total == \
        ref["flops_per_token"]["with_head"]
    assert hf_forward_flops_per_token(ref["config"], n, head=False).total == \
        ref["flops_per_token"]["without_head"]


def test_mixtral_flops_by_hand():
    d, n, vocab = 4096, 2048, 32000
    per_layer = (2 * (2 * d * d + 2 * d * 1024)        # projections (GQA: K, V 1024 wide)
                 + 2 * n * 32 * (128 + 128)            # scores and values over n keys
                 + 2 * 2 * 3 * d * 14336               # two experts of three d x f matrices
                 + 2 * d * 8)                          # router
    flops = hf_forward_flops_per_token(hf_config("mixtral-8x7b"), n)
    assert flops.total == 32 * per_layer + 2 * d * vocab
    assert flops.all_experts - flops.total == 32 * 6 * 2 * 3 * d * 14336
    # about 2 x active parameters once the context term is small
    short = hf_forward_flops_per_token(hf_config("mixtral-8x7b"), 1)
    active = count_hf_params(hf_config("mixtral-8x7b"))
    assert short.total == pytest.approx(2 * (active.active - active.items["token_embedding"]),
                                        rel=1e-4)


def test_sliding_window_caps_context_flops_and_cache():
    config = HF_FIXTURE["small"]["mistral-window"]["config"]      # window 5, 2 layers, 4 heads of 8
    per_key = 2 * 4 * (8 + 8)                                     # scores + values per layer
    short, long = (hf_forward_flops_per_token(config, n) for n in (3, 100))
    assert short.context == 2 * 3 * per_key
    assert long.context == 2 * 5 * per_key                         # only the last 5 keys
    assert long.total - long.context == short.total - short.context
    # cache: 2 layers x 2 (K, V) x 1 KV head x 8 dims, capped at 5 tokens
    assert hf_kv_cache_bytes(config, 1, 3, bytes_per=4) == 3 * 2 * 2 * 8 * 4
    assert hf_kv_cache_bytes(config, 3, 100, bytes_per=4) == 3 * 5 * 2 * 2 * 8 * 4


def test_gemma2_alternates_local_and_global_layers():
    # 42 layers: 21 sliding (window 4096) and 21 global; 8 KV heads of 256
    config = hf_config("gemma-2-9b")
    per_token_layer = 2 * 8 * 256 * 2                              # K and V, bf16
    assert hf_kv_cache_bytes(config, 1, 8192) == 21 * (8192 + 4096) * per_token_layer
    assert hf_kv_cache_bytes(config, 1, 1000) == 42 * 1000 * per_token_layer
    flops = hf_forward_flops_per_token(config, 8192)
    assert flops.context == 21 * (8192 + 4096) * 2 * 16 * (256 + 256)
    # the same dict with layer_types written out (as transformers' to_dict does)
    written = HF_FIXTURE["presets"]["gemma-2-9b"]["to_dict"]
    assert hf_kv_cache_bytes(written, 1, 8192) == hf_kv_cache_bytes(config, 1, 8192)


def test_phi3_window_applies_to_every_layer():
    config = hf_config("phi-3-mini")                               # sliding_window 2047
    assert hf_kv_cache_bytes(config, 2, 4096) == 2 * 32 * 2047 * 2 * 3072 * 2


def test_mla_caches_the_latent():
    config = hf_config("deepseek-v3")
    # (kv_lora_rank + qk_rope_head_dim) x layers x bytes per token
    assert hf_kv_cache_bytes(config, 1, 1) == (512 + 64) * 61 * 2
    assert hf_kv_cache_bytes(config, 4, 1000, bytes_per=1) == 4 * 1000 * 576 * 61
    # expanded per-head K (128 + 64) and V (128) for 128 heads: 71x more
    expanded = hf_kv_cache_bytes(config, 1, 1, latent=False)
    assert expanded == 128 * (192 + 128) * 61 * 2
    assert expanded / hf_kv_cache_bytes(config, 1, 1) == pytest.approx(40960 / 576)
    # a standard model: 2 x kv_heads x head_dim; GQA 8 x 128 for Llama-3.1-8B
    assert hf_kv_cache_bytes(hf_config("llama-3.1-8b"), 1, 8192) == 2 * 8192 * 32 * 8 * 128 * 2
    with pytest.raises(ValueError):
        hf_kv_cache_bytes(config, 0, 10)


def test_quantized_bits_per_weight():
    assert quantized_bits_per_weight(4, 128) == 4 + 16 / 128 == 4.125
    assert quantized_bits_per_weight(4, 64, zero_bits=4) == 4 + 20 / 64
    assert quantized_bits_per_weight(8, 128 * 128, scale_bits=32) == 8 + 32 / 16384
    assert quantized_bits_per_weight(16) == 16
    for bad in (dict(bits=0), dict(bits=4, group_size=0), dict(bits=4, scale_bits=-1)):
        with pytest.raises(ValueError):
            quantized_bits_per_weight(**bad)


def test_weight_memory_quantizes_the_matrices_only():
    # Llama-3.1-8B: 32 x (attention + FFN) matrices in int4/g128; embedding, head, norms in 16 bits
    matrices = 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336)
    kept = 2 * 128256 * 4096 + 65 * 4096
    memory = hf_weight_memory(hf_config("llama-3.1-8b"), bits=4, group_size=128)
    assert (memory.quantized, memory.kept) == (matrices, kept)
    assert memory.total_bytes == math.ceil((matrices * 4.125 + kept * 16) / 8)
    every = hf_weight_memory(hf_config("llama-3.1-8b"), 4, 128, quantize_embeddings=True)
    assert every.total_bytes == math.ceil((matrices + 2 * 128256 * 4096) * 4.125 / 8
                                          + 65 * 4096 * 2)
    # biases stay in 16 bits (Qwen2.5's q, k, v biases)
    qwen = hf_weight_memory(hf_config("qwen2.5-7b"), bits=8)
    assert qwen.kept == 2 * 152064 * 3584 + 28 * (2 * 3584 + 3584 + 2 * 512) + 3584
    # fp16 weights plus the KV cache; MoE holds every expert
    mixtral = hf_inference_memory(hf_config("mixtral-8x7b"), batch=1, seq=4096)
    assert mixtral.weights == 2 * 46_702_792_704
    assert mixtral.kv_cache == 2 * 4096 * 32 * 8 * 128 * 2
