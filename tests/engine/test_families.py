"""Today's dense decoder families loaded with engine.hf.from_hf, against transformers.

Golden numbers come from tests/fixtures/make_family_fixtures.py (random transformers
models at odd sizes: 6 query and 2 key/value heads, head dims 10 or 12, vocabulary 101;
norms and biases perturbed; float32-valued weights run in float64). For each family
the engine must reproduce the logits to 1e-10 and the 24 greedy tokens, with and
without its KV cache. Windows are shorter than the 30 decoded positions where a family
has them (Mistral 7, Qwen2 6 on layers 1-2, Gemma 2 5 on alternate layers, Phi-3 9),
and the RoPE scalings are active at these lengths (Llama 3 on Llama, dynamic NTK on
Qwen2 past 16 positions, YaRN on Qwen3, linear on Gemma, LongRoPE switching factors at
16 on Phi-3).

How transformers' float32 internals are handled: even a float64 transformers model
takes RMSNorm statistics in float32 (Llama-style `.to(torch.float32)`, Gemma's
`x.float()` with its (1 + w) gain), computes RoPE inverse frequencies from an int64
arange cast with `.float()` and the angles in float32, and runs the eager softmax (Gemma
2, with soft-capping) in float32. The engine computes all of these in the model dtype
(angles in float64, rounded once). The fixture script therefore runs the reference with
every float32 request from Python turned into float64 (`float64_everywhere`), and builds
models with float64 as the default dtype, so Gemma's sqrt(d) embedding scale is the
float64 number, as `from_pretrained(dtype=torch.float64)` makes it. Those logits are
compared at 1e-10. The fixtures also keep transformers' logits as shipped, with its
float32 internals; they are compared at 1e-4 (they sit 2.5e-7 .. 5.8e-6 from exact).

Dynamic NTK rescales the frequencies with the length, so keys cached at an earlier
length are rotated differently. transformers' cached generation keeps them (its
tokens diverge from its uncached ones once Qwen2 passes 16 positions); the engine
recomputes the prefix when the frequencies move, so its cached and uncached tokens
both equal transformers' uncached ones.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.attention import scaled_dot_product_attention, sliding_window_mask
from engine.config import ModelConfig
from engine.functional import softmax
from engine.hf import IGNORED_FIELDS, config_from_hf, from_hf
from engine.model import (
    CausalLM,
    KVCache,
    causal_window_mask,
    decoder,
    init_params,
    multi_head_attention,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
FAMILIES = ["gpt2", "llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "olmo2",
            "gpt_neox", "phi3"]
WINDOWED = {"mistral": 7, "qwen2": 6, "gemma2": 5, "phi3": 9}


def load(family):
    with np.load(FIXTURES / f"family_{family}.npz") as f:
        g = dict(f)
    config = json.loads(str(g.pop("config")))
    sd = {k[3:]: g.pop(k).astype(np.float64) for k in list(g) if k.startswith("sd/")}
    return config, sd, g


_MODELS: dict[str, tuple] = {}


def model_for(family):
    if family not in _MODELS:
        config, sd, g = load(family)
        _MODELS[family] = from_hf(config, sd), g
    return _MODELS[family]


# ----------------------------------------------------------------------------- golden

@pytest.mark.parametrize("family", FAMILIES)
def test_logits_match_transformers(family):
    model, g = model_for(family)
    logits = model(g["input_ids"])
    assert logits.dtype == np.float64 and logits.shape == g["logits"].shape
    np.testing.assert_allclose(logits, g["logits"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(logits, g["logits_shipped"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_tokens_match_transformers(family, use_cache):
    model, g = model_for(family)
    tokens = model.generate(g["prompt"], g["greedy"].shape[-1], use_cache=use_cache)
    np.testing.assert_array_equal(tokens, g["greedy"])
    if family != "qwen2":     # transformers' own cache agrees with it except for dynamic NTK
        np.testing.assert_array_equal(tokens, g["greedy_cached"])


def test_transformers_cached_dynamic_ntk_is_stale_and_the_engine_is_not():
    model, g = model_for("qwen2")
    assert (g["greedy_cached"] != g["greedy"]).any()     # transformers, cached vs not
    ids = np.concatenate([g["prompt"], g["greedy"]], axis=-1)
    cache = model.new_cache(ids.shape[-1])
    model(ids[:, :10], cache=cache)
    model(ids[:, 10:16], cache=cache)                     # up to n_ctx the frequencies hold
    with pytest.raises(ValueError, match="dynamic"):
        model(ids[:, 16:17], cache=cache)                 # past it they move: stale keys


@pytest.mark.parametrize("family", FAMILIES)
def test_cached_logits_equal_a_full_recompute(family):
    model, g = model_for(family)
    ids, sizes = g["input_ids"], (3, 1, 5, 1, 1, 7, 2)
    if family == "qwen2":     # dynamic NTK: the frequencies hold only up to n_ctx = 16
        ids = ids[:, :16]
    if family == "phi3":      # LongRoPE: short factors up to 16 positions, long ones after
        sizes = (17, 1, 2)
    full = model(ids)
    cache = model.new_cache(ids.shape[-1])
    chunks, start = [], 0
    for size in sizes:
        if start >= ids.shape[-1]:
            break
        chunks.append(model(ids[:, start:start + size], cache=cache))
        start += size
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), full[:, :start], rtol=0,
                               atol=1e-11)
    if family in WINDOWED:    # rolling layers hold no more than their window
        config = model.config
        for i in range(config.n_layer):
            held = cache.keys[i].shape[-2]
            assert held == (config.window(i) or ids.shape[-1])


# each config switch, undone, moves the logits: the fixtures exercise every one of them
SWITCHES = [
    ("gpt2", dict(attn_scale=1.0)), ("gpt2", dict(activation="gelu")),
    ("llama", dict(rope_scaling=None)),
    ("mistral", dict(sliding_window=None)),
    ("qwen2", dict(layer_windows=None)), ("qwen2", dict(rope_scaling=None)),
    ("qwen3", dict(qk_norm=None)), ("qwen3", dict(rope_scaling=None)),
    ("gemma", dict(norm_offset=0.0)), ("gemma", dict(embedding_scale=1.0)),
    ("gemma", dict(activation="swiglu")), ("gemma", dict(rope_scaling=None)),
    ("gemma2", dict(attn_softcap=None)), ("gemma2", dict(final_softcap=None)),
    ("gemma2", dict(layer_windows=None)), ("gemma2", dict(attn_scale=None)),
    ("gemma2", dict(norm_position="pre")),
    ("olmo2", dict(norm_position="pre")), ("olmo2", dict(qk_norm=None)),
    ("gpt_neox", dict(parallel_residual=False)), ("gpt_neox", dict(rotary_dim=None)),
    ("phi3", dict(rope_scaling=None)), ("phi3", dict(sliding_window=None)),
]


@pytest.mark.parametrize(("family", "change"), SWITCHES,
                         ids=[f"{f}-{next(iter(c))}" for f, c in SWITCHES])
def test_every_switch_changes_the_logits(family, change):
    model, g = model_for(family)
    changed = decoder(g["input_ids"], model.params, model.config.replace(**change))
    assert np.abs(changed - g["logits"]).max() > 1e-6


def test_qwen2_biases_are_on_qkv_only():
    model, g = model_for("qwen2")
    names = set(model.params)
    assert {"blocks.0.attn.b_q", "blocks.0.attn.b_k", "blocks.0.attn.b_v"} <= names
    assert not any(n.endswith(("attn.b_o", "ffn.b_up", "ffn.b_down", "ffn.b_gate"))
                   for n in names)
    zeroed = dict(model.params, **{"blocks.1.attn.b_k": np.zeros(24)})
    assert np.abs(decoder(g["input_ids"], zeroed, model.config) - g["logits"]).max() > 1e-6


# ----------------------------------------------------------------------------- loader

def test_loaded_configs_say_what_each_family_is():
    c = {f: model_for(f)[0].config for f in FAMILIES}
    assert c["mistral"].sliding_window == 7 and c["mistral"].window(2) == 7
    assert c["qwen2"].layer_windows == (None, 6, 6)
    assert c["gemma2"].layer_windows == (5, None, 5)
    assert c["gemma2"].attn_scale == 10 ** -0.5 and c["gemma2"].norm_position == "sandwich"
    assert c["gemma"].embedding_scale == math.sqrt(48) and c["gemma"].norm_offset == 1.0
    assert c["gemma"].activation == "geglu" and c["gemma"].tie_embeddings
    assert c["olmo2"].norm_position == "post_in_residual" and c["olmo2"].qk_norm == "whole"
    assert c["qwen3"].qk_norm == "head" and c["qwen3"].rope_scaling_dict["rope_type"] == "yarn"
    assert c["gpt_neox"].parallel_residual and c["gpt_neox"].rotary_dims == 6
    assert c["phi3"].rotary_dims == 6 and c["phi3"].rope_scaling_dict["short_factor"] == \
        [1.0, 1.25, 1.5]
    assert c["llama"].bias_of("qkv") and c["llama"].bias_of("out") and not c["llama"].bias_of(
        "ffn")
    assert not c["llama"].tie_embeddings and "lm_head" in model_for("llama")[0].params


def test_the_older_config_layout_loads_the_same_model():
    # config.json files on the Hub predate rope_parameters: rope_theta + rope_scaling,
    # partial_rotary_factor on top, GPT-NeoX's rotary_pct / rotary_emb_base and embed_out
    for family in ("llama", "qwen3", "phi3", "gpt_neox"):
        config, sd, g = load(family)
        rope = dict(config.pop("rope_parameters"))
        theta, partial = rope.pop("rope_theta"), rope.pop("partial_rotary_factor", None)
        if family == "gpt_neox":
            config |= {"rotary_emb_base": theta, "rotary_pct": partial}
            sd["embed_out.weight"] = sd.pop("lm_head.weight")
        else:
            config |= {"rope_theta": theta, "rope_scaling": rope if rope else None}
            if partial is not None:
                config["partial_rotary_factor"] = partial
        model = from_hf(config, sd)
        assert model.config == model_for(family)[0].config
        np.testing.assert_allclose(model(g["input_ids"]), g["logits"], rtol=0, atol=1e-10)


def test_base_model_state_dicts_and_tied_heads():
    config, sd, g = load("qwen2")                      # tied: the fixture has no lm_head
    base = {k.removeprefix("model."): v for k, v in sd.items()}
    np.testing.assert_allclose(from_hf(config, base)(g["input_ids"]), g["logits"], atol=1e-10)
    # a tied head stored anyway is the embedding (transformers ties them on load)
    with_head = dict(sd, **{"lm_head.weight": sd["model.embed_tokens.weight"] + 1.0})
    np.testing.assert_allclose(from_hf(config, with_head)(g["input_ids"]), g["logits"],
                               atol=1e-10)
    config, sd, _ = load("llama")                      # untied: the head must be there
    del sd["lm_head.weight"]
    with pytest.raises(ValueError, match="missing lm_head.weight"):
        from_hf(config, sd)


def test_float32_loading():
    config, sd, g = load("gemma2")
    model = from_hf(config, sd, dtype=np.float32)
    logits = model(g["input_ids"])
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, g["logits"], rtol=0, atol=1e-4)
    np.testing.assert_array_equal(model.generate(g["prompt"], 24), g["greedy"])


@pytest.mark.parametrize(("family", "edit", "message"), [
    ("llama", {"model_type": "llama4"}, "model_type='llama4'"),
    ("llama", {"hidden_act": "gelu_fast"}, "hidden_act='gelu_fast'"),
    ("gpt_neox", {"hidden_act": "quick_gelu"}, "hidden_act='quick_gelu'"),
    ("gpt2", {"activation_function": "silu"}, "activation_function='silu'"),
    ("gpt2", {"scale_attn_by_inverse_layer_idx": True}, "scale_attn_by_inverse_layer_idx"),
    ("llama", {"rope_parameters": {"rope_type": "su", "rope_theta": 1e4}}, "rope_type='su'"),
    ("llama", {"rope_parameters": {"rope_type": "linear", "rope_theta": 1e4}},
     "missing factor"),
    ("llama", {"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4,
                                   "mrope_section": [2, 2, 2]}}, "mrope_section"),
    ("gemma", {"use_bidirectional_attention": True}, "use_bidirectional_attention"),
    ("gemma2", {"layer_types": ["sliding_attention", "chunked_attention", "full_attention"]},
     "layer_types"),
    ("mistral", {"is_encoder_decoder": True}, "is_encoder_decoder"),
    ("qwen3", {"some_new_switch": 1}, "some_new_switch"),
    ("gpt_neox", {"rotary_pct": 0.25}, "partial_rotary_factor|rotary"),
])
def test_fields_that_cannot_be_honoured_are_named(family, edit, message):
    config, sd, _ = load(family)
    config |= edit
    if family == "gpt_neox" and "rotary_pct" in edit:   # 12 * 0.25 = 3 dims: not pairs
        config["rope_parameters"] = dict(config["rope_parameters"], partial_rotary_factor=0.25)
    with pytest.raises(ValueError, match=message):
        from_hf(config, sd)


def test_fields_that_do_not_change_the_output_are_ignored():
    config, sd, g = load("mistral")
    config |= {"attention_dropout": 0.3, "initializer_range": 7.0, "eos_token_id": 5,
               "use_cache": False, "architectures": ["MistralForCausalLM"]}
    assert {"attention_dropout", "initializer_range"} <= IGNORED_FIELDS
    np.testing.assert_allclose(from_hf(config, sd)(g["input_ids"]), g["logits"], atol=1e-10)
    config["some_new_switch"] = 1       # the caller can vouch for a field
    assert config_from_hf(config, ignore=["some_new_switch"]) == model_for("mistral")[0].config


def test_state_dict_mismatches_are_named():
    config, sd, _ = load("phi3")
    with pytest.raises(ValueError, match="unexpected model.layers.0.mlp.extra.weight"):
        from_hf(config, dict(sd, **{"model.layers.0.mlp.extra.weight": np.zeros(3)}))
    bad = dict(sd, **{"model.layers.2.self_attn.o_proj.weight": np.zeros((72, 71))})
    with pytest.raises(ValueError, match="blocks.2.attn.w_o"):
        from_hf(config, bad)


# ----------------------------------------------------------------------------- windows

def naive_windowed_attention(x, p, prefix, n_head, n_kv_head, window):
    """One head at a time, one query at a time, over keys i - window < j <= i."""
    n, d_head = x.shape[0], p[prefix + ".w_q"].shape[1] // n_head
    q, k, v = (x @ p[f"{prefix}.w_{w}"] for w in "qkv")
    out = np.zeros((n, n_head * d_head))
    for h in range(n_head):
        kv = h // (n_head // n_kv_head)
        for i in range(n):
            js = [j for j in range(n) if i - window < j <= i]
            s = [q[i, h * d_head:(h + 1) * d_head] @ k[j, kv * d_head:(kv + 1) * d_head]
                 / math.sqrt(d_head) for j in js]
            w = softmax(np.array(s))
            out[i, h * d_head:(h + 1) * d_head] = sum(
                wj * v[j, kv * d_head:(kv + 1) * d_head] for wj, j in zip(w, js, strict=True))
    return out @ p[prefix + ".w_o"]


@pytest.mark.parametrize("window", [1, 3, 8, 20])
def test_windowed_attention_matches_a_per_query_loop(window):
    config = ModelConfig(vocab_size=11, n_ctx=16, d_model=24, n_layer=1, n_head=4,
                         n_kv_head=2, bias=False)
    p = init_params(config, np.random.default_rng(window), np.float64)
    x = np.random.default_rng(1).normal(size=(13, 24))
    got = multi_head_attention(x, p, "blocks.0.attn", 4, 2, is_causal=True, window=window)
    want = naive_windowed_attention(x, p, "blocks.0.attn", 4, 2, window)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_causal_window_mask_is_attentions_sliding_window_mask():
    for n, w in ((9, 1), (9, 4), (9, 9), (9, 30)):
        np.testing.assert_array_equal(causal_window_mask(n, n, w) if w < n else
                                      sliding_window_mask(n, w), sliding_window_mask(n, w))
    assert causal_window_mask(1, 5, 5) is None          # the newest query sees all 5
    np.testing.assert_array_equal(causal_window_mask(2, 6, 3), [[0, 0, 1, 1, 1, 0],
                                                                [0, 0, 0, 1, 1, 1]])


WINDOW_CONFIG = ModelConfig(vocab_size=31, n_ctx=64, d_model=24, n_layer=3, n_head=4,
                            n_kv_head=2, d_ff=40, activation="swiglu", norm="rmsnorm",
                            bias=False, positional="rope", layer_windows=(3, None, 5))


@pytest.mark.parametrize("chunks", [[1] * 23, [4, 1, 1, 9, 2, 6], [23], [2, 7, 1, 13]])
def test_rolling_cache_equals_an_uncached_windowed_forward(chunks):
    config = WINDOW_CONFIG
    params = init_params(config, np.random.default_rng(0), np.float64)
    ids = np.random.default_rng(1).integers(0, 31, size=(2, sum(chunks)))
    full = decoder(ids, params, config)
    cache, out, start = KVCache.for_config(config, ids.shape[-1]), [], 0
    for n in chunks:
        out.append(decoder(ids[:, start:start + n], params, config, cache=cache))
        start += n
    np.testing.assert_allclose(np.concatenate(out, axis=1), full, rtol=0, atol=1e-12)
    assert [cache.keys[i].shape[-2] for i in range(3)] == [3, 23, 5]   # rings of 3 and 5
    # without windows the model sees further back: the windows are really applied
    assert not np.allclose(decoder(ids, params, config.replace(layer_windows=None)), full)


def test_a_full_cache_serves_a_windowed_model_but_a_short_ring_does_not():
    config = WINDOW_CONFIG
    params = init_params(config, np.random.default_rng(0), np.float64)
    ids = np.random.default_rng(2).integers(0, 31, size=(1, 12))
    full = decoder(ids, params, config)
    cache = KVCache(config.n_layer, 12)                  # keeps everything; masks by position
    steps = [decoder(ids[:, i:i + 1], params, config, cache=cache) for i in range(12)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="keeps 2 positions"):
        decoder(ids, params, config, cache=KVCache(3, 12, windows=(2, None, 5)))
    with pytest.raises(ValueError, match="pass layer="):
        from engine.model import transformer_block
        transformer_block(np.zeros((2, 24)), params, "blocks.0", config, is_causal=True)


def test_generate_with_rolling_cache_matches_uncached_and_sampling_is_reproducible():
    config = WINDOW_CONFIG
    model = CausalLM(config, init_params(config, np.random.default_rng(3), np.float64))
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(model.generate(prompt, 20), model.generate(prompt, 20,
                                                                             use_cache=False))
    a = model.generate(prompt, 15, temperature=1.0, top_k=5, rng=np.random.default_rng(9))
    b = model.generate(prompt, 15, use_cache=False, temperature=1.0, top_k=5,
                       rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- soft-capping

@pytest.mark.parametrize("return_weights", [True, False])
def test_softcapped_attention_matches_the_formula(return_weights):
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(2, 7, 6)) * 3, rng.normal(size=(2, 9, 6)) * 3, \
        rng.normal(size=(2, 9, 5))
    mask = np.tri(7, 9, k=2, dtype=bool)
    scores = 2.5 * np.tanh(q @ k.swapaxes(-1, -2) * 0.3 / 2.5)
    want = softmax(np.where(mask, scores, -np.inf)) @ v
    got = scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3, softcap=2.5,
                                       return_weights=return_weights)
    got = got[0] if return_weights else got
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
