"""Multi-head latent attention against transformers' DeepseekV3Attention
(tests/fixtures/mla_attention.npz, made by make_moe_mla_fixtures.py), and against second routes:
the weight-absorbed form, token-by-token decoding from a latent-only cache, GPT-J style pair
rotation for the interleaved RoPE, and the cache bytes actually held."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.accounting import kv_cache_bytes
from engine.mla import (
    MLAConfig,
    absorb,
    kv_bytes_per_token,
    mla_config_from_hf,
    mla_param_shapes,
    mla_softmax_scale,
    mla_weight_map,
    multi_head_latent_attention,
    rope_decoupled,
    yarn_mscale,
)
from engine.model import KVCache, multi_head_attention
from tests.engine._hf_blocks import block_sd, convert

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mla_attention.npz"
CASES = ("q_lora", "no_q_lora", "yarn")


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(FIXTURE))


def from_hf_block(sd, config):
    return convert(sd, mla_weight_map("attn", config))


def case(golden, key):
    hf = json.loads(str(golden[f"{key}/config"]))
    rope = hf["rope_parameters"]
    config = mla_config_from_hf(hf, rope["rope_theta"], rope)
    return config, from_hf_block(block_sd(golden, key), config)


# ----------------------------------------------------------------------------- transformers

@pytest.mark.parametrize("absorbed", [False, True], ids=["expanded", "absorbed"])
@pytest.mark.parametrize("key", CASES)
def test_matches_transformers(golden, key, absorbed):
    config, params = case(golden, key)
    x, positions = golden[f"{key}/x"], golden[f"{key}/positions"]
    y, w = multi_head_latent_attention(x, params, "attn", config, positions=positions,
                                       absorb=absorbed, return_weights=True)
    ref_y, ref_w = golden[f"{key}/y"], golden[f"{key}/weights"]
    assert y.shape == ref_y.shape and w.shape == ref_w.shape
    np.testing.assert_allclose(y, ref_y, rtol=0, atol=1e-14 * np.abs(ref_y).max())
    np.testing.assert_allclose(w, ref_w, rtol=0, atol=1e-14)


@pytest.mark.parametrize("key", CASES)
def test_softmax_scale_matches_transformers(golden, key):
    config, _ = case(golden, key)
    assert config.scale == pytest.approx(float(golden[f"{key}/scaling"]), rel=1e-15)
    plain = 1 / math.sqrt(config.qk_head_dim)
    assert (config.scale != pytest.approx(plain)) == (key == "yarn")


def test_fixture_covers_both_query_paths_and_rope_layouts(golden):
    configs = [case(golden, key)[0] for key in CASES]
    assert {c.q_lora_rank is None for c in configs} == {True, False}
    assert {c.rope_interleave for c in configs} == {True, False}
    assert {c.bias for c in configs} == {True, False}


def test_yarn_mscale_formula():
    assert yarn_mscale(1.0, 0.7) == 1.0 and yarn_mscale(0.5) == 1.0
    assert yarn_mscale(math.e**2, 0.5) == pytest.approx(1.1, rel=1e-15)
    # without mscale_all_dim, or with default RoPE, the scale is plain 1/sqrt(d)
    assert mla_softmax_scale(16, {"rope_type": "yarn", "factor": 4.0}) == 0.25
    assert mla_softmax_scale(16, {"rope_type": "default", "mscale_all_dim": 1.0}) == 0.25
    assert mla_softmax_scale(16, {"rope_type": "yarn", "factor": 40, "mscale_all_dim": 1.0}) \
        == pytest.approx(0.25 * (1 + 0.1 * math.log(40)) ** 2, rel=1e-15)


# ----------------------------------------------------------------------------- second routes

def random_setup(q_lora_rank, bias, seed=0, d=14):
    config = MLAConfig(n_head=3, kv_lora_rank=5, qk_nope_head_dim=4, qk_rope_head_dim=6,
                       v_head_dim=3, q_lora_rank=q_lora_rank, rope_theta=500.0, bias=bias)
    rng = np.random.default_rng(seed)
    params = {}
    for k, s in mla_param_shapes("a", d, config).items():
        params[k] = (1 + 0.1 * rng.normal(size=s)) if k.endswith(".g") else \
            rng.normal(size=s) / math.sqrt(s[0] if len(s) > 1 else 10)
    return config, params, rng


@pytest.mark.parametrize("q_lora_rank,bias", [(None, False), (7, True)])
def test_absorbed_equals_expanded(q_lora_rank, bias):
    config, params, rng = random_setup(q_lora_rank, bias)
    x = rng.normal(size=(2, 3, 9, 14))                  # two batch dims
    mask = rng.random((9, 9)) < 0.8
    mask[:, 0] = True
    for kwargs in (dict(), dict(attn_mask=mask), dict(is_causal=False),
                   dict(positions=np.arange(30, 39))):
        a = multi_head_latent_attention(x, params, "a", config, **kwargs)
        b = multi_head_latent_attention(x, params, "a", config, absorb=True, **kwargs)
        c = multi_head_latent_attention(x, absorb(params, "a", config), "a", config,
                                        absorb=True, **kwargs)
        assert np.abs(a - b).max() <= 1e-10 and np.abs(a - c).max() <= 1e-10
        assert np.abs(a).max() > 0.1


@pytest.mark.parametrize("absorbed", [False, True])
def test_cached_decoding_equals_full_forward(absorbed):
    config, params, rng = random_setup(6, True, seed=1)
    x = rng.normal(size=(2, 13, 14))
    full = multi_head_latent_attention(x, params, "a", config)
    cache = KVCache(n_layer=1, max_len=16)
    outs, start = [], 0
    for n in (4, 1, 1, 3, 1, 2, 1):                      # prefill, then mixed chunks
        outs.append(multi_head_latent_attention(x[:, start:start + n], params, "a", config,
                                                cache=cache.layer(0), absorb=absorbed))
        cache.advance(n)
        start += n
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=0, atol=1e-12)
    # the cache holds the latent and the shared rotary key, nothing per head
    assert cache.keys[0].shape == (2, 16, config.kv_lora_rank)
    assert cache.values[0].shape == (2, 16, config.qk_rope_head_dim)
    assert cache.nbytes == 2 * 16 * config.cache_width * 8


def test_interleaved_rope_is_gptj_pair_rotation_then_regrouped():
    rng = np.random.default_rng(2)
    x, pos, theta = rng.normal(size=(3, 5, 8)), np.arange(2, 7), 77.0
    # GPT-J / Meta: rotate each pair (x_2i, x_2i+1) by pos * theta^(-2i/d)
    ang = pos[:, None] * theta ** (-np.arange(0, 8, 2) / 8)          # (n, d/2)
    even, odd = x[..., 0::2], x[..., 1::2]
    rot_even = even * np.cos(ang) - odd * np.sin(ang)
    rot_odd = odd * np.cos(ang) + even * np.sin(ang)
    expected = np.concatenate([rot_even, rot_odd], axis=-1)          # [evens | odds]
    np.testing.assert_allclose(rope_decoupled(x, pos, theta), expected, rtol=0, atol=1e-14)
    # and the layout does not change a dot product between equally treated q and k
    q, k = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    s_inter = rope_decoupled(q, pos, theta) @ rope_decoupled(k, pos, theta).T
    perm = np.r_[0:8:2, 1:8:2]
    s_plain = rope_decoupled(q[:, perm], pos, theta, interleaved=False) @ \
        rope_decoupled(k[:, perm], pos, theta, interleaved=False).T
    np.testing.assert_allclose(s_inter, s_plain, rtol=0, atol=1e-13)


def test_weights_rows_sum_to_one_and_respect_causality():
    config, params, rng = random_setup(None, False, seed=3)
    x = rng.normal(size=(6, 14))
    _, w = multi_head_latent_attention(x, params, "a", config, return_weights=True)
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-14)
    assert (np.triu(w, 1) == 0).all()


# ----------------------------------------------------------------------------- memory

def test_kv_bytes_per_token_matches_the_caches_held():
    config, params, rng = random_setup(None, False, seed=4)
    x = rng.normal(size=(1, 10, 14))
    cache = KVCache(n_layer=1, max_len=10)
    multi_head_latent_attention(x, params, "a", config, cache=cache.layer(0))
    assert kv_bytes_per_token("mla", 1, kv_lora_rank=5, d_rope=6, bytes_per=8) * 10 \
        == cache.nbytes
    # MHA and GQA against engine.model's own cache and engine.accounting
    for n_kv in (4, 2, 1):
        p = {"m.w_q": rng.normal(size=(14, 24)), "m.w_k": rng.normal(size=(14, 6 * n_kv)),
             "m.w_v": rng.normal(size=(14, 6 * n_kv)), "m.w_o": rng.normal(size=(24, 14))}
        mha_cache = KVCache(n_layer=1, max_len=10)
        multi_head_attention(x, p, "m", 4, n_kv, is_causal=True, cache=mha_cache.layer(0))
        kind = {4: "mha", 2: "gqa", 1: "mqa"}[n_kv]
        per_token = kv_bytes_per_token(kind, 1, n_head=4, n_kv_head=n_kv, d_k=6, bytes_per=8)
        assert per_token * 10 == mha_cache.nbytes
        assert per_token * 7 * 3 == kv_cache_bytes((7, n_kv, 6), batch=1, seq=3, bytes_per=8)


def test_kv_bytes_follow_deepseek_v2_table():
    # DeepSeek-V2, Table 1: MLA caches (d_c + d_R) l = 9/2 d_h l elements per token with
    # d_c = 4 d_h and d_R = d_h / 2; MHA caches 2 n_h d_h l.
    d_h, n_h, layers = 128, 128, 60
    mla = kv_bytes_per_token("mla", layers, kv_lora_rank=4 * d_h, d_rope=d_h // 2, bytes_per=1)
    mha = kv_bytes_per_token("mha", layers, n_head=n_h, d_k=d_h, bytes_per=1)
    assert mla == 4.5 * d_h * layers and mha == 2 * n_h * d_h * layers
    # different key and value widths, as DeepSeek-V3's heads have (192 and 128)
    assert kv_bytes_per_token("mha", 2, n_head=3, d_k=192, d_v=128) == 2 * 3 * 320 * 2


@pytest.mark.parametrize("kwargs,message", [
    (dict(attention="mla", n_layer=2, kv_lora_rank=4), "d_rope=None"),
    (dict(attention="gqa", n_layer=2, d_k=4), "n_kv_head=None"),
    (dict(attention="flash", n_layer=2), "not one of mha, gqa, mqa, mla"),
])
def test_kv_bytes_rejects_missing_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kv_bytes_per_token(**kwargs)


# ----------------------------------------------------------------------------- validation

def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="qk_rope_head_dim=5 must be even"):
        MLAConfig(n_head=2, kv_lora_rank=4, qk_nope_head_dim=2, qk_rope_head_dim=5, v_head_dim=2)
    with pytest.raises(ValueError, match="q_lora_rank=0 must be >= 1 or None"):
        MLAConfig(n_head=2, kv_lora_rank=4, qk_nope_head_dim=2, qk_rope_head_dim=4,
                  v_head_dim=2, q_lora_rank=0)


def test_hf_loader_checks_shapes(golden):
    config, params = case(golden, "q_lora")
    assert {k: v.shape for k, v in params.items()} == mla_param_shapes(
        "attn", golden["q_lora/x"].shape[-1], config)
    with pytest.raises(ValueError, match="does not fit the MLA config: q_b_proj has shape"):
        from_hf_block(block_sd(golden, "q_lora"), config.replace(
            v_head_dim=config.v_head_dim - 1, qk_nope_head_dim=config.qk_nope_head_dim + 1))


def test_rotary_tables_give_the_same_as_plain_rope():
    from engine.positional import rope_angles
    config, params, rng = random_setup(6, False, seed=5)
    x, pos = rng.normal(size=(2, 7, 14)), np.arange(3, 10)
    plain = multi_head_latent_attention(x, params, "a", config, positions=pos)
    cos, sin = rope_angles(pos, config.qk_rope_head_dim, config.rope_theta)
    tabled = multi_head_latent_attention(x, params, "a", config, positions=pos, rotary=(cos, sin))
    np.testing.assert_allclose(tabled, plain, rtol=0, atol=1e-14)
    scaled = multi_head_latent_attention(x, params, "a", config, positions=pos,
                                         rotary=(1.3 * cos, 1.3 * sin))
    assert np.abs(scaled - plain).max() > 1e-3


def test_model_config_checks_the_mla_shapes():
    from engine.config import ModelConfig
    mla = MLAConfig(n_head=2, kv_lora_rank=4, qk_nope_head_dim=3, qk_rope_head_dim=2,
                    v_head_dim=2)
    base = dict(vocab_size=11, n_ctx=8, d_model=8, n_layer=1, n_head=2, activation="swiglu",
                norm="rmsnorm", bias=False, positional="rope")
    assert ModelConfig(**base, attention="mla", mla=mla, d_head=5, rotary_dim=2).mla is mla
    with pytest.raises(ValueError, match="MLA needs n_head=2, d_head=5"):
        ModelConfig(**base, attention="mla", mla=mla)
    with pytest.raises(ValueError, match="attention='mla' needs an MLAConfig"):
        ModelConfig(**base, attention="mla")
    with pytest.raises(ValueError, match="no sliding windows"):
        ModelConfig(**base, attention="mla", mla=mla, d_head=5, rotary_dim=2, sliding_window=4)


def test_random_latent_moe_model_decodes_the_same_with_and_without_cache():
    # a DeepSeek-shaped model from engine.model.init_params: no transformers involved
    from engine.config import ModelConfig
    from engine.model import CausalLM, init_params
    from engine.moe import MoEConfig
    mla = MLAConfig(n_head=3, kv_lora_rank=6, qk_nope_head_dim=4, qk_rope_head_dim=4,
                    v_head_dim=5, q_lora_rank=8)
    config = ModelConfig(vocab_size=41, n_ctx=40, d_model=20, n_layer=3, n_head=3, d_head=8,
                         rotary_dim=4, d_ff=24, activation="swiglu", norm="rmsnorm", bias=False,
                         tie_embeddings=False, positional="rope", attention="mla", mla=mla,
                         ffn="moe", dense_layers=(0,),
                         moe=MoEConfig(n_experts=6, top_k=2, d_expert=7, score="sigmoid",
                                       n_group=3, topk_group=2, select_bias=True, n_shared=1))
    params = init_params(config, np.random.default_rng(0), np.float64)
    params = {k: v * 20 if k.endswith(("w", "bias", "w_gate", "w_up", "w_down", "tok_emb"))
              else v for k, v in params.items()}        # larger weights: varied tokens
    model = CausalLM(config, params)
    assert "blocks.0.ffn.w_gate" in params and "blocks.1.ffn.experts.w_gate" in params
    prompt = np.array([[3, 14, 15, 9, 2]])
    cached, uncached = model.generate(prompt, 30), model.generate(prompt, 30, use_cache=False)
    np.testing.assert_array_equal(cached, uncached)
    assert len(set(cached[0].tolist())) > 3
