"""Blocks and models: parameter inventories against transformers' counts, attention against a
per-head loop, cached against recomputed decoding, wiring against hand-composed sublayers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.config import PRESETS, ModelConfig
from engine.functional import layer_norm, rms_norm
from engine.model import (
    KVCache,
    ModelOutput,
    decoder,
    encoder,
    encoder_decoder,
    ffn,
    init_params,
    multi_head_attention,
    param_shapes,
    pool,
    relative_position_bucket,
    transformer_block,
)

COUNTS = Path(__file__).parents[1] / "fixtures" / "param_counts.json"

_SMALL = dict(vocab_size=37, n_ctx=32, d_model=16, n_layer=2, n_head=4)
FLAVOURS = {
    "gpt2": ModelConfig(**_SMALL, activation="gelu_tanh"),
    "llama-gqa": ModelConfig(**_SMALL, n_kv_head=2, d_ff=24, activation="swiglu", norm="rmsnorm",
                             bias=False, tie_embeddings=False, positional="rope"),
    "mqa-alibi": ModelConfig(**_SMALL, n_kv_head=1, positional="alibi", activation="relu"),
    "sinusoidal-post": ModelConfig(**_SMALL, positional="sinusoidal", norm_position="post",
                                   final_norm=False),
    "relative-decoder": ModelConfig(**_SMALL, positional="relative", relative_buckets=8,
                                    norm="rmsnorm", bias=False),
    "bert": ModelConfig(**_SMALL, arch="encoder", norm_position="post", type_vocab_size=2,
                        embedding_norm=True, final_norm=False, pooler=True, eps=1e-12),
    "t5": ModelConfig(**_SMALL, arch="encoder-decoder", n_decoder_layer=3, d_head=8, d_ff=32,
                      activation="relu", norm="rmsnorm", bias=False, positional="relative",
                      relative_buckets=8, eps=1e-6),
    "layernorm-no-bias": ModelConfig(**_SMALL, bias=False, tie_embeddings=False),
}
DECODERS = [n for n, c in FLAVOURS.items() if c.arch == "decoder"]


def params_for(name, dtype=np.float64, seed=0):
    config = FLAVOURS[name]
    params = init_params(config, np.random.default_rng(seed), dtype)
    # perturb biases and gains so that loading or wiring mistakes change the numbers
    rng = np.random.default_rng(seed + 100)
    for k, v in params.items():
        if k.endswith((".g", ".b")) or ".b_" in k:
            params[k] = (v + 0.1 * rng.standard_normal(v.shape)).astype(dtype)
    return config, params


# ----------------------------------------------------------------------------- parameters

@pytest.mark.parametrize("name", sorted(json.loads(COUNTS.read_text())["models"]))
def test_param_shapes_match_transformers_counts(name):
    expected = json.loads(COUNTS.read_text())["models"][name]["total"]
    assert sum(math.prod(s) for s in param_shapes(PRESETS[name]).values()) == expected


def test_gpt2_and_llama_inventories_have_the_real_arrays():
    gpt2, llama = param_shapes(PRESETS["gpt2"]), param_shapes(PRESETS["llama-3-8b"])
    assert "lm_head" not in gpt2 and gpt2["pos_emb"] == (1024, 768)
    assert gpt2["blocks.11.attn.b_q"] == (768,)
    assert llama["lm_head"] == (4096, 128256) and "pos_emb" not in llama
    assert llama["blocks.0.attn.w_k"] == (4096, 1024)          # 8 KV heads of 128
    assert not any(k.endswith((".b", "b_q")) for k in llama)   # no biases anywhere
    t5 = param_shapes(PRESETS["t5-small"])
    assert t5["encoder.blocks.0.attn.rel_bias"] == (32, 8)
    assert "encoder.blocks.1.attn.rel_bias" not in t5
    assert "decoder.blocks.5.cross_attn.w_q" in t5


@pytest.mark.parametrize("name", list(FLAVOURS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_params_allocates_exactly_param_shapes(name, dtype):
    config = FLAVOURS[name]
    params = init_params(config, np.random.default_rng(0), dtype)
    shapes = param_shapes(config)
    assert list(params) == list(shapes)
    assert all(params[k].shape == s and params[k].dtype == dtype for k, s in shapes.items())
    again = init_params(config, np.random.default_rng(0), dtype)
    assert all(np.array_equal(params[k], again[k]) for k in params)


def test_init_follows_gpt2_statistics():
    config = ModelConfig(vocab_size=500, n_ctx=64, d_model=128, n_layer=8, n_head=4)
    p = init_params(config, np.random.default_rng(0), np.float64)
    assert abs(p["tok_emb"].std() - 0.02) < 0.001
    assert abs(p["blocks.3.attn.w_q"].std() - 0.02) < 0.001
    residual_std = 0.02 / math.sqrt(2 * 8)
    assert abs(p["blocks.3.attn.w_o"].std() - residual_std) < 0.0005
    assert abs(p["blocks.3.ffn.w_down"].std() - residual_std) < 0.0005
    assert np.all(p["blocks.0.attn.b_q"] == 0) and np.all(p["final_norm.g"] == 1)
    assert np.all(p["final_norm.b"] == 0)
    with pytest.raises(ValueError, match="int64"):
        init_params(config, np.random.default_rng(0), np.int64)


# ----------------------------------------------------------------------------- attention

def naive_attention(x, p, prefix, n_head, n_kv_head, mask=None):
    """One head at a time, one query at a time, softmax by hand."""
    n, d_head = x.shape[0], p[prefix + ".w_q"].shape[1] // n_head
    q = x @ p[prefix + ".w_q"] + p.get(prefix + ".b_q", 0)
    k = x @ p[prefix + ".w_k"] + p.get(prefix + ".b_k", 0)
    v = x @ p[prefix + ".w_v"] + p.get(prefix + ".b_v", 0)
    heads = []
    for h in range(n_head):
        kv = h // (n_head // n_kv_head)                     # the K/V head this query head uses
        qh = q[:, h * d_head:(h + 1) * d_head]
        kh = k[:, kv * d_head:(kv + 1) * d_head]
        vh = v[:, kv * d_head:(kv + 1) * d_head]
        out = np.zeros((n, d_head))
        for i in range(n):
            js = [j for j in range(n) if mask is None or mask[i, j]]
            s = [float(qh[i] @ kh[j]) / math.sqrt(d_head) for j in js]
            e = [math.exp(v - max(s)) for v in s]
            for j, w in zip(js, e, strict=True):
                out[i] += w / sum(e) * vh[j]
        heads.append(out)
    return np.concatenate(heads, axis=-1) @ p[prefix + ".w_o"] + p.get(prefix + ".b_o", 0)


@pytest.mark.parametrize("name", ["gpt2", "mqa-alibi", "layernorm-no-bias"])
@pytest.mark.parametrize("causal", [True, False])
def test_attention_matches_a_per_head_loop(name, causal):
    config, p = params_for(name)
    x = np.random.default_rng(1).normal(size=(7, config.d_model))
    out = multi_head_attention(x, p, "blocks.1.attn", config.n_head, config.kv_heads,
                               is_causal=causal)
    mask = np.tril(np.ones((7, 7), bool)) if causal else None
    expected = naive_attention(x, p, "blocks.1.attn", config.n_head, config.kv_heads, mask)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_grouped_query_attention_equals_mha_with_repeated_kv_weights():
    config, p = params_for("mqa-alibi")                       # 4 query heads, 1 K/V head
    x = np.random.default_rng(2).normal(size=(2, 5, config.d_model))
    gqa = multi_head_attention(x, p, "blocks.0.attn", 4, 1, is_causal=True)
    mha = dict(p)
    for w in ("w_k", "b_k", "w_v", "b_v"):                   # copy the K/V head to all 4 heads
        mha[f"blocks.0.attn.{w}"] = np.concatenate([p[f"blocks.0.attn.{w}"]] * 4, axis=-1)
    np.testing.assert_allclose(gqa, multi_head_attention(x, mha, "blocks.0.attn", 4, 4,
                                                         is_causal=True), rtol=1e-12)
    with pytest.raises(ValueError, match="n_kv_head=3"):
        multi_head_attention(x, p, "blocks.0.attn", 4, 3)


def test_cross_attention_reads_keys_from_the_other_sequence():
    config, p = params_for("gpt2")
    rng = np.random.default_rng(3)
    x, memory = rng.normal(size=(3, 16)), rng.normal(size=(6, 16))
    out, w = multi_head_attention(x, p, "blocks.0.attn", 4, kv_input=memory,
                                  return_weights=True)
    assert w.shape == (4, 3, 6)
    # a query attends the memory exactly as it would inside a sequence [memory; query]
    joint = np.concatenate([memory, x])
    mask = np.zeros((9, 9), bool)
    mask[6:, :6] = True
    mask[:6, :6] = True
    joint_out = multi_head_attention(joint, p, "blocks.0.attn", 4, attn_mask=mask)
    np.testing.assert_allclose(out, joint_out[6:], rtol=1e-10)


# ----------------------------------------------------------------------------- sublayers, blocks

def test_swiglu_and_gelu_ffn_match_their_formulas():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 16))
    _, p = params_for("llama-gqa")
    sigmoid = lambda z: 0.5 * (1 + np.tanh(z / 2))          # noqa: E731  (independent of exp)
    g = x @ p["blocks.0.ffn.w_gate"]
    expected = (g * sigmoid(g) * (x @ p["blocks.0.ffn.w_up"])) @ p["blocks.0.ffn.w_down"]
    np.testing.assert_allclose(ffn(x, p, "blocks.0.ffn", "swiglu"), expected, rtol=1e-10)

    _, p = params_for("gpt2")
    h = x @ p["blocks.0.ffn.w_up"] + p["blocks.0.ffn.b_up"]
    erf = np.vectorize(math.erf)
    expected = (0.5 * h * (1 + erf(h / math.sqrt(2)))) @ p["blocks.0.ffn.w_down"] \
        + p["blocks.0.ffn.b_down"]
    np.testing.assert_allclose(ffn(x, p, "blocks.0.ffn", "gelu"), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="tanh"):
        ffn(x, p, "blocks.0.ffn", "tanh")


@pytest.mark.parametrize("position", ["pre", "post"])
def test_block_wiring_matches_hand_composition(position):
    config, p = params_for("gpt2")
    x = np.random.default_rng(5).normal(size=(6, 16))
    b = "blocks.0"

    def ln(h, name):
        return layer_norm(h, p[f"{b}.{name}.g"], p[f"{b}.{name}.b"], eps=config.eps)

    def attn(h):
        return multi_head_attention(h, p, b + ".attn", 4, is_causal=True)

    def mlp(h):
        return ffn(h, p, b + ".ffn", config.activation)

    if position == "pre":
        h = x + attn(ln(x, "attn_norm"))
        expected = h + mlp(ln(h, "ffn_norm"))
    else:
        h = ln(x + attn(x), "attn_norm")
        expected = ln(h + mlp(h), "ffn_norm")
    out = transformer_block(x, p, b, config, norm_position=position, is_causal=True)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    if position == "post":   # post-norm output is normalised: per-token mean ~ shift b
        pre = transformer_block(x, p, b, config, norm_position="pre", is_causal=True)
        assert not np.allclose(out, pre)


def test_block_rejects_unknown_norm_position():
    config, p = params_for("gpt2")
    with pytest.raises(ValueError, match="middle"):
        transformer_block(np.zeros((2, 16)), p, "blocks.0", config, norm_position="middle")


# ----------------------------------------------------------------------------- decoders

@pytest.mark.parametrize("name", DECODERS)
def test_kv_cache_matches_recomputing_the_whole_sequence(name):
    config, p = params_for(name)
    ids = np.random.default_rng(6).integers(0, config.vocab_size, size=(2, 11))
    full = decoder(ids, p, config)
    cache = KVCache(config.n_layer, max_len=16)
    chunks = [decoder(ids[:, :3], p, config, cache=cache)]
    chunks += [decoder(ids[:, t:t + 1], p, config, cache=cache) for t in range(3, 9)]
    chunks.append(decoder(ids[:, 9:], p, config, cache=cache))       # two at once
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), full, rtol=0, atol=1e-10)
    assert cache.length == 11
    kv_dim = config.kv_heads * config.head_dim
    assert cache.nbytes == config.n_layer * 2 * 2 * 16 * kv_dim * 8   # layers, K/V, batch, len


@pytest.mark.parametrize("name", DECODERS)
def test_greedy_with_cache_equals_greedy_without(name):
    config, p = params_for(name)
    ids = np.array([[3, 1, 4]])
    recomputed = ids
    for _ in range(8):
        nxt = decoder(recomputed, p, config)[:, -1].argmax(-1)
        recomputed = np.concatenate([recomputed, nxt[:, None]], axis=1)
    cache, cached, step = KVCache(config.n_layer, 11), ids, ids
    for _ in range(8):
        nxt = decoder(step, p, config, cache=cache)[:, -1].argmax(-1)
        cached = np.concatenate([cached, nxt[:, None]], axis=1)
        step = nxt[:, None]
    np.testing.assert_array_equal(cached, recomputed)


@pytest.mark.parametrize("name", DECODERS)
def test_decoder_is_causal(name):
    config, p = params_for(name)
    ids = np.random.default_rng(7).integers(0, config.vocab_size, size=10)
    changed = ids.copy()
    changed[6:] = (changed[6:] + 1) % config.vocab_size
    a, b = decoder(ids, p, config), decoder(changed, p, config)
    np.testing.assert_allclose(a[:6], b[:6], rtol=0, atol=1e-12)
    assert not np.allclose(a[6:], b[6:])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_decoder_keeps_dtype_and_exposes_hidden_states(dtype):
    config, p = params_for("gpt2", dtype)
    ids = np.array([[1, 5, 9, 2]])
    out = decoder(ids, p, config, return_hidden=True, return_attention=True)
    assert isinstance(out, ModelOutput) and out.output.dtype == dtype
    assert len(out.hidden_states) == config.n_layer + 1
    np.testing.assert_allclose(out.hidden_states[0][0], p["tok_emb"][ids[0]] + p["pos_emb"][:4],
                               rtol=1e-6)
    final = layer_norm(out.hidden_states[-1], p["final_norm.g"], p["final_norm.b"], config.eps)
    np.testing.assert_allclose(out.output, final @ p["tok_emb"].T, rtol=1e-5, atol=1e-6)
    w = out.attentions[0]["attn"]                                      # (1, n_head, 4, 4)
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-6)
    assert np.all(np.triu(w[0, 0], 1) == 0)


def test_untied_head_uses_lm_head():
    config, p = params_for("layernorm-no-bias")
    out = decoder(np.array([1, 2]), p, config, return_hidden=True)
    final = layer_norm(out.hidden_states[-1], p["final_norm.g"], None, config.eps)
    np.testing.assert_allclose(out.output, final @ p["lm_head"], rtol=1e-10)


def test_relative_bias_lives_in_the_first_layer_and_acts_in_every_layer():
    config, p = params_for("relative-decoder")
    ids = np.array([4, 8, 15, 16, 23])
    base = decoder(ids, p, config)
    flat = dict(p, **{"blocks.0.attn.rel_bias": np.zeros_like(p["blocks.0.attn.rel_bias"])})
    assert not np.allclose(decoder(ids, flat, config), base)
    # shifting every bucket's bias by a constant per head changes nothing: softmax is
    # shift-invariant, so the bias enters only as differences between positions
    shifted = dict(p, **{"blocks.0.attn.rel_bias": p["blocks.0.attn.rel_bias"] + 3.0})
    np.testing.assert_allclose(decoder(ids, shifted, config), base, rtol=1e-10)


def scalar_bucket(rel, bidirectional, n_buckets, max_distance=128):
    """T5's bucketing for one integer, straight from the definition."""
    bucket, n = 0, -rel
    if bidirectional:
        n_buckets //= 2
        if n < 0:
            bucket += n_buckets
        n = abs(n)
    else:
        n = max(n, 0)
    exact = n_buckets // 2
    if n < exact:
        return bucket + n
    far = exact + int(math.log(n / exact) / math.log(max_distance / exact) * (n_buckets - exact))
    return bucket + min(far, n_buckets - 1)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_relative_position_buckets_match_the_scalar_definition(bidirectional):
    rel = np.arange(-300, 301)
    got = relative_position_bucket(rel, bidirectional, n_buckets=32)
    expected = [scalar_bucket(int(r), bidirectional, 32) for r in rel]
    np.testing.assert_array_equal(got, expected)
    if bidirectional:   # past and future fall in different halves; far maps to the last bucket
        assert got[rel == -1][0] == 1 and got[rel == 1][0] == 17
        assert got[0] == 15 and got[-1] == 31


def test_kv_cache_refuses_to_overflow():
    config, p = params_for("gpt2")
    cache = KVCache(config.n_layer, max_len=4)
    decoder(np.array([[1, 2, 3]]), p, config, cache=cache)
    with pytest.raises(ValueError, match="4 positions"):
        decoder(np.array([[1, 2]]), p, config, cache=cache)
    with pytest.raises(ValueError, match="n_ctx=32"):
        decoder(np.zeros(33, dtype=int), p, config)


# ----------------------------------------------------------------------------- encoders

def test_encoder_padding_does_not_change_real_tokens():
    config, p = params_for("bert")
    ids = np.array([[2, 7, 1, 9, 0, 0], [3, 3, 8, 5, 6, 4]])
    types = np.array([[0, 0, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1]])
    real = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    padded = encoder(ids, p, config, token_type_ids=types, padding_mask=real)
    alone = encoder(ids[0, :4], p, config, token_type_ids=types[0, :4])
    np.testing.assert_allclose(padded[0, :4], alone, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(padded[1], encoder(ids[1], p, config, token_type_ids=types[1]),
                               rtol=1e-10, atol=1e-12)
    # post-norm with no final norm: undoing the last LayerNorm's gain and shift leaves
    # every token with mean 0 and variance 1
    z = (padded - p["blocks.1.ffn_norm.b"]) / p["blocks.1.ffn_norm.g"]
    np.testing.assert_allclose(z.mean(-1), 0, atol=1e-10)
    np.testing.assert_allclose(z.var(-1), 1, rtol=1e-8)


def test_encoder_sees_both_directions_and_pools_the_first_token():
    config, p = params_for("bert")
    ids = np.array([5, 6, 7, 8])
    changed = np.array([5, 6, 7, 9])
    a, b = encoder(ids, p, config), encoder(changed, p, config)
    assert not np.allclose(a[0], b[0])                  # the first token sees the last
    np.testing.assert_allclose(pool(a, p), np.tanh(a[0] @ p["pooler.w"] + p["pooler.b"]))


def test_encoder_decoder_is_causal_in_the_target_and_ignores_source_padding():
    config, p = params_for("t5")
    src = np.array([[4, 9, 2, 7, 1, 0, 0]])
    mask = np.array([[1, 1, 1, 1, 1, 0, 0]], bool)
    tgt = np.array([[0, 3, 5, 8]])
    out = encoder_decoder(src, tgt, p, config, src_padding_mask=mask, return_attention=True)
    assert out.output.shape == (1, 4, config.vocab_size)
    assert len(out.attentions) == config.decoder_layers
    cross = out.attentions[0]["cross_attn"]                           # (1, n_head, 4, 7)
    assert np.all(cross[..., 5:] == 0)
    np.testing.assert_allclose(out.output, encoder_decoder(src[:, :5], tgt, p, config),
                               rtol=1e-10, atol=1e-12)
    later = encoder_decoder(src[:, :5], np.array([[0, 3, 6, 2]]), p, config)
    np.testing.assert_allclose(later[:, :2], out.output[:, :2], rtol=1e-10, atol=1e-12)
    other_src = encoder_decoder(np.array([[4, 9, 2, 7, 2]]), tgt, p, config)
    assert not np.allclose(other_src[:, 0], out.output[:, 0])     # the decoder reads the source


def test_t5_like_final_norms_are_rms_norms():
    config, p = params_for("t5")
    out = encoder_decoder(np.array([1, 2, 3]), np.array([0, 1]), p, config, return_hidden=True)
    final = rms_norm(out.hidden_states[-1], p["decoder.final_norm.g"], eps=config.eps)
    np.testing.assert_allclose(out.output, final @ p["tok_emb"].T, rtol=1e-10)
    with pytest.raises(ValueError, match="encoder-decoder"):
        encoder_decoder(np.array([1]), np.array([1]), *params_for("gpt2")[::-1])


# ----------------------------------------------------------------------------- golden: BERT, T5

def load_golden(name):
    data = np.load(Path(__file__).parents[1] / "fixtures" / name)
    state_dict = {k.removeprefix("sd/"): data[k] for k in data.files if k.startswith("sd/")}
    return state_dict, {k: data[k] for k in data.files if not k.startswith("sd/")}


def bert_params(sd, n_layer):
    """Hugging Face BertModel names -> engine names; nn.Linear stores (out, in), so transpose."""
    p = {"tok_emb": sd["embeddings.word_embeddings.weight"],
         "pos_emb": sd["embeddings.position_embeddings.weight"],
         "type_emb": sd["embeddings.token_type_embeddings.weight"],
         "emb_norm.g": sd["embeddings.LayerNorm.weight"],
         "emb_norm.b": sd["embeddings.LayerNorm.bias"],
         "pooler.w": sd["pooler.dense.weight"].T, "pooler.b": sd["pooler.dense.bias"]}
    linears = (("attention.self.query", "attn", "q"), ("attention.self.key", "attn", "k"),
               ("attention.self.value", "attn", "v"), ("attention.output.dense", "attn", "o"),
               ("intermediate.dense", "ffn", "up"), ("output.dense", "ffn", "down"))
    norms = (("attention.output.LayerNorm", "attn_norm"), ("output.LayerNorm", "ffn_norm"))
    for i in range(n_layer):
        hf, ours = f"encoder.layer.{i}.", f"blocks.{i}."
        for name, sub, w in linears:
            p[f"{ours}{sub}.w_{w}"] = sd[f"{hf}{name}.weight"].T
            p[f"{ours}{sub}.b_{w}"] = sd[f"{hf}{name}.bias"]
        for name, sub in norms:
            p[f"{ours}{sub}.g"] = sd[f"{hf}{name}.weight"]
            p[f"{ours}{sub}.b"] = sd[f"{hf}{name}.bias"]
    return p


def t5_params(sd, n_layer, n_decoder_layer):
    """Hugging Face T5ForConditionalGeneration names -> engine names."""
    p = {"tok_emb": sd["shared.weight"]}
    ours_of = {"SelfAttention": "attn", "EncDecAttention": "cross_attn", "DenseReluDense": "ffn"}
    for stack, n, subs in (("encoder", n_layer, ("SelfAttention", "DenseReluDense")),
                           ("decoder", n_decoder_layer,
                            ("SelfAttention", "EncDecAttention", "DenseReluDense"))):
        for i in range(n):
            hf, ours = f"{stack}.block.{i}.layer.", f"{stack}.blocks.{i}."
            for j, sub in enumerate(subs):
                name = ours_of[sub]
                p[f"{ours}{name}_norm.g"] = sd[f"{hf}{j}.layer_norm.weight"]
                if sub == "DenseReluDense":
                    p[ours + "ffn.w_up"] = sd[f"{hf}{j}.{sub}.wi.weight"].T
                    p[ours + "ffn.w_down"] = sd[f"{hf}{j}.{sub}.wo.weight"].T
                else:
                    for w in "qkvo":
                        p[f"{ours}{name}.w_{w}"] = sd[f"{hf}{j}.{sub}.{w}.weight"].T
        p[f"{stack}.blocks.0.attn.rel_bias"] = \
            sd[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        p[f"{stack}.final_norm.g"] = sd[f"{stack}.final_layer_norm.weight"]
    return p


def test_bert_encoder_matches_transformers():
    sd, g = load_golden("bert_tiny.npz")
    config = ModelConfig(arch="encoder", vocab_size=53, n_ctx=24, d_model=32, n_layer=2,
                         n_head=int(g["n_head"]), d_ff=64, activation="gelu",
                         norm_position="post", type_vocab_size=2, embedding_norm=True,
                         final_norm=False, pooler=True, eps=1e-12)
    p = bert_params(sd, config.n_layer)
    assert set(p) == set(param_shapes(config))           # BertModel has exactly our arrays
    hidden = encoder(g["input_ids"], p, config, token_type_ids=g["token_type_ids"],
                     padding_mask=g["attention_mask"].astype(bool))
    np.testing.assert_allclose(hidden, g["last_hidden_state"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pool(hidden, p), g["pooler_output"], rtol=0, atol=1e-9)


def test_t5_encoder_decoder_matches_transformers():
    sd, g = load_golden("t5_tiny.npz")
    d_model = 32
    config = ModelConfig(arch="encoder-decoder", vocab_size=61, n_ctx=512, d_model=d_model,
                         n_layer=2, n_decoder_layer=3, n_head=int(g["n_head"]),
                         d_head=int(g["d_head"]), d_ff=48, activation="relu", norm="rmsnorm",
                         bias=False, positional="relative", relative_buckets=8, eps=1e-6,
                         attn_scale=1.0, output_scale=d_model**-0.5)
    p = t5_params(sd, config.n_layer, config.decoder_layers)
    assert set(p) == set(param_shapes(config))
    logits = encoder_decoder(g["input_ids"], g["decoder_input_ids"], p, config,
                             src_padding_mask=g["attention_mask"].astype(bool))
    np.testing.assert_allclose(logits, g["logits"], rtol=0, atol=1e-9)


def test_models_refuse_the_wrong_architecture():
    gpt, p = params_for("gpt2")
    t5, q = params_for("t5")
    with pytest.raises(ValueError, match="encoder_decoder"):
        decoder(np.array([1, 2]), q, t5)
    with pytest.raises(ValueError, match="no encoder"):
        encoder(np.array([1, 2]), p, gpt)
    # the encoder of an encoder-decoder runs on its own, from the "encoder." parameters
    memory = encoder(np.array([1, 2, 3]), q, t5)
    assert memory.shape == (3, t5.d_model)


def llama_params(sd, n_layer, dtype):
    """Hugging Face LlamaForCausalLM names -> engine names."""
    p = {"tok_emb": sd["model.embed_tokens.weight"], "lm_head": sd["lm_head.weight"].T,
         "final_norm.g": sd["model.norm.weight"]}
    for i in range(n_layer):
        hf, ours = f"model.layers.{i}.", f"blocks.{i}."
        for w in "qkvo":
            p[f"{ours}attn.w_{w}"] = sd[f"{hf}self_attn.{w}_proj.weight"].T
        for w in ("gate", "up", "down"):
            p[f"{ours}ffn.w_{w}"] = sd[f"{hf}mlp.{w}_proj.weight"].T
        p[ours + "attn_norm.g"] = sd[hf + "input_layernorm.weight"]
        p[ours + "ffn_norm.g"] = sd[hf + "post_attention_layernorm.weight"]
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in p.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_llama_gqa_decoder_matches_transformers(dtype):
    sd, g = load_golden("llama_tiny.npz")
    config = ModelConfig(vocab_size=67, n_ctx=64, d_model=32, n_layer=2, n_head=int(g["n_head"]),
                         n_kv_head=int(g["n_kv_head"]), d_ff=48, activation="swiglu",
                         norm="rmsnorm", bias=False, tie_embeddings=False, positional="rope",
                         rope_theta=10000.0, eps=1e-5)
    p = llama_params(sd, config.n_layer, dtype)
    assert set(p) == set(param_shapes(config))
    logits = decoder(g["input_ids"], p, config)
    assert logits.dtype == dtype
    # the reference is float32 (transformers computes RoPE angles in float32 regardless)
    np.testing.assert_allclose(logits, g["logits"], rtol=0, atol=1e-4)

    cache, step, tokens = KVCache(config.n_layer, 16), g["prompt"], []
    for _ in range(g["greedy"].shape[-1]):
        step = decoder(step, p, config, cache=cache)[:, -1:].argmax(-1)     # (1, 1)
        tokens.append(int(step[0, 0]))
    np.testing.assert_array_equal(tokens, g["greedy"][0])
