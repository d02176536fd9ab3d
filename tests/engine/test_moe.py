"""Mixture of experts against transformers' own MoE blocks (tests/fixtures/moe_blocks.npz, made by
make_moe_mla_fixtures.py), and against second routes: a dense gate over every expert, a loop
that fills expert capacity one assignment at a time, and the loss's known extremes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.functional import softmax, swiglu
from engine.moe import (
    MoEConfig,
    capacity_mask,
    expert_capacity,
    expert_load,
    gate_matrix,
    load_balancing_loss,
    moe_ffn,
    moe_param_shapes,
    moe_weight_map,
    route,
    route_with,
    sigmoid,
)
from tests.engine._hf_blocks import block_sd, convert

FIXTURE = Path(__file__).parents[1] / "fixtures" / "moe_blocks.npz"

# What each transformers block means, stated independently of any loader.
CONFIGS = {
    "mixtral": MoEConfig(n_experts=7, top_k=3, d_expert=11),
    "qwen3_moe": MoEConfig(n_experts=9, top_k=4, d_expert=9, normalize=False),
    "qwen3_moe_norm": MoEConfig(n_experts=9, top_k=4, d_expert=9, normalize=True),
    "qwen2_moe": MoEConfig(n_experts=6, top_k=2, d_expert=7, normalize=False, d_shared=10,
                           shared_gate=True),
    "deepseek_v3": MoEConfig(n_experts=12, top_k=3, d_expert=5, score="sigmoid", n_group=4,
                             topk_group=2, select_bias=True, scaling=2.5, n_shared=2),
    "deepseek_v3_plain": MoEConfig(n_experts=10, top_k=4, d_expert=6, score="sigmoid",
                                   select_bias=True, normalize=False, n_shared=1),
}


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(FIXTURE))


def case(golden, key):
    shared = "shared_expert" if key == "qwen2_moe" else "shared_experts"
    params = convert(block_sd(golden, key), moe_weight_map("moe", CONFIGS[key], shared))
    return params, golden[f"{key}/x"], golden[f"{key}/y"]


def rel_err(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# ----------------------------------------------------------------------------- transformers

@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_block_matches_transformers(golden, key):
    params, x, y = case(golden, key)
    out = moe_ffn(x, params, "moe", CONFIGS[key])
    assert out.shape == y.shape == x.shape and out.dtype == np.float64
    assert rel_err(out, y) < 1e-14


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_router_matches_transformers(golden, key):
    params, x, _ = case(golden, key)
    config = CONFIGS[key]
    logits = x.reshape(-1, x.shape[-1]) @ params["moe.router.w"]
    np.testing.assert_allclose(logits, golden[f"{key}/logits"], rtol=0, atol=1e-13)
    weights, idx = route_with(logits, config, params.get("moe.router.select_bias"))
    ref_w, ref_idx = golden[f"{key}/weights"], golden[f"{key}/indices"]
    # DeepSeek's router returns its experts unsorted: compare both sides in expert order
    order, ref_order = np.argsort(idx, axis=-1), np.argsort(ref_idx, axis=-1)
    np.testing.assert_array_equal(np.take_along_axis(idx, order, -1),
                                  np.take_along_axis(ref_idx, ref_order, -1))
    np.testing.assert_allclose(np.take_along_axis(weights, order, -1),
                               np.take_along_axis(ref_w, ref_order, -1), rtol=1e-14, atol=0)
    if config.score == "softmax":   # sorted best first, as torch.topk gives them
        np.testing.assert_array_equal(idx, ref_idx)


def test_deepseek_fixture_exercises_groups_and_bias(golden):
    # Without the group limit or without the selection bias, some tokens would pick other
    # experts: so the comparison above really checks both.
    params, x, _ = case(golden, "deepseek_v3")
    config = CONFIGS["deepseek_v3"]
    logits = x.reshape(-1, x.shape[-1]) @ params["moe.router.w"]
    bias = params["moe.router.select_bias"]
    _, idx = route_with(logits, config, bias)
    _, no_groups = route_with(logits, config.replace(n_group=1, topk_group=None), bias)
    _, no_bias = route_with(logits, config, None)
    assert (np.sort(idx) != np.sort(no_groups)).any(axis=-1).sum() >= 2
    assert (np.sort(idx) != np.sort(no_bias)).any(axis=-1).sum() >= 2
    group_of = idx // (config.n_experts // config.n_group)
    assert max(len(set(g)) for g in group_of) <= config.topk_group


def test_load_balancing_loss_matches_transformers(golden):
    layers, mask = golden["aux/logits"], golden["aux/mask"]
    for k in (1, 2, 3):
        # transformers accumulates in float32
        assert load_balancing_loss(list(layers), k) == pytest.approx(
            float(golden[f"aux/loss_k{k}"]), rel=1e-6)
        assert load_balancing_loss(tuple(layers), k, mask=mask) == pytest.approx(
            float(golden[f"aux/loss_k{k}_masked"]), rel=1e-6)
    assert load_balancing_loss(layers[0], 2) != pytest.approx(load_balancing_loss(layers, 2))


def test_hf_loader_names_every_array(golden):
    for key, config in CONFIGS.items():
        params, x, _ = case(golden, key)
        assert {k: v.shape for k, v in params.items()} == moe_param_shapes("moe", x.shape[-1],
                                                                           config)


def test_hf_weight_map_rejects_what_does_not_fit(golden):
    sd = block_sd(golden, "mixtral")
    with pytest.raises(ValueError, match="gate_up_proj has shape"):
        convert(sd, moe_weight_map("moe", CONFIGS["mixtral"].replace(d_expert=10)))
    biased = moe_weight_map("moe", CONFIGS["mixtral"].replace(select_bias=True))
    assert set(biased) - set(sd) == {"gate.e_score_correction_bias"}


# ----------------------------------------------------------------------------- routing

def test_top_k_first_is_softmax_then_renormalise():
    logits = np.random.default_rng(1).normal(size=(50, 9)) * 3
    w1, i1 = route(logits, 3, top_k_first=True)
    w2, i2 = route(logits, 3, normalize=True)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(w1, w2, rtol=1e-14)
    w3, _ = route(logits, 3, normalize=False)           # softmax over all E: mass < 1
    assert (w3.sum(-1) < 1).all() and w3.sum(-1).min() < 0.9


@pytest.mark.parametrize("score,scaling", [("softmax", 1.0), ("sigmoid", 1.0), ("sigmoid", 2.5)])
def test_normalised_weights_sum_to_the_scaling(score, scaling):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(40, 16))
    w, idx = route(logits, 5, score=score, normalize=True, scaling=scaling,
                   select_bias=rng.normal(size=16) * 0.2, n_group=4, topk_group=3)
    np.testing.assert_allclose(w.sum(-1), scaling, rtol=1e-14)
    assert all(len(set(row)) == 5 for row in idx)        # k distinct experts


def test_route_weights_come_from_unbiased_scores_by_brute_force():
    rng = np.random.default_rng(3)
    logits, bias = rng.normal(size=(30, 8)), rng.normal(size=8) * 0.3
    w, idx = route(logits, 3, score="sigmoid", select_bias=bias, n_group=4, topk_group=2,
                   normalize=False)
    s = 1 / (1 + np.exp(-logits))
    for t in range(30):
        groups = sorted(range(4), key=lambda g: -sum(sorted(s[t, 2 * g:2 * g + 2] + bias[2 * g:
                                                      2 * g + 2])[-2:]))[:2]
        allowed = [e for e in range(8) if e // 2 in groups]
        best = sorted(allowed, key=lambda e: -(s[t, e] + bias[e]))[:3]
        assert list(idx[t]) == best
        np.testing.assert_allclose(w[t], s[t, best], rtol=1e-15)


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    np.testing.assert_allclose(sigmoid(x), [0.0, 1 / (1 + np.exp(30)), 0.5,
                                            1 / (1 + np.exp(-30)), 1.0], rtol=1e-15, atol=0)


def test_expert_load_counts_assignments():
    idx = np.random.default_rng(4).integers(0, 6, size=(20, 2))
    counts = expert_load(idx, 6)
    assert counts.tolist() == [int((idx == e).sum()) for e in range(6)]
    kept = np.random.default_rng(5).random((20, 2)) < 0.5
    assert expert_load(idx, 6, kept).tolist() == [int(((idx == e) & kept).sum())
                                                  for e in range(6)]


# ----------------------------------------------------------------------------- the layer

def random_params(config, d, rng):
    return {k: rng.normal(size=s) / np.sqrt(s[-2] if len(s) > 1 else 1)
            for k, s in moe_param_shapes("m", d, config).items()}


def dense_moe(x, params, config, kept=None):
    # every expert on every token, combined with the dense (n, E) gate
    h = x.reshape(-1, x.shape[-1])
    logits = h @ params["m.router.w"]
    w, idx = route_with(logits, config, params.get("m.router.select_bias"))
    if kept is not None:
        w = np.where(kept, w, 0)
    g = gate_matrix(w, idx, config.n_experts)                           # (n, E)
    out = sum(g[:, e:e + 1] * (swiglu(h, params["m.experts.w_gate"][e], params["m.experts.w_up"][e])
                               @ params["m.experts.w_down"][e]) for e in range(config.n_experts))
    if config.has_shared:
        shared = swiglu(h, params["m.shared.w_gate"], params["m.shared.w_up"]) \
            @ params["m.shared.w_down"]
        if config.shared_gate:
            shared = shared / (1 + np.exp(-(h @ params["m.shared_gate.w"])))
        out = out + shared
    return out.reshape(x.shape)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_sparse_dispatch_equals_dense_gate(key):
    config = CONFIGS[key]
    rng = np.random.default_rng(6)
    params = random_params(config, 10, rng)
    x = rng.normal(size=(3, 5, 10))
    np.testing.assert_allclose(moe_ffn(x, params, "m", config), dense_moe(x, params, config),
                               rtol=0, atol=1e-13)


def capacity_by_loop(idx, n_experts, capacity):
    used = [0] * n_experts
    kept = np.zeros(idx.shape, dtype=bool)
    for j in range(idx.shape[1]):          # every first choice, then every second choice, ...
        for t in range(idx.shape[0]):
            e = idx[t, j]
            if used[e] < capacity:
                used[e] += 1
                kept[t, j] = True
    return kept


@pytest.mark.parametrize("seed", range(4))
def test_capacity_mask_matches_a_loop(seed):
    rng = np.random.default_rng(seed)
    n, e, k = rng.integers(1, 40), rng.integers(2, 9), 2
    idx = np.stack([rng.permutation(e)[:k] for _ in range(n)])
    # skewed: some experts far more popular
    idx = np.where(rng.random(idx.shape) < 0.3, idx.min(axis=1, keepdims=True), idx)
    idx[:, 1] = np.where(idx[:, 1] == idx[:, 0], (idx[:, 0] + 1) % e, idx[:, 1])
    for capacity in (0, 1, 2, 3, 5, n * k):
        np.testing.assert_array_equal(capacity_mask(idx, e, capacity),
                                      capacity_by_loop(idx, e, capacity))


def test_capacity_drops_tokens_and_the_layer_skips_them():
    config = CONFIGS["qwen3_moe_norm"]
    rng = np.random.default_rng(7)
    params = random_params(config, 8, rng)
    params["m.router.w"][:, 0] += 1.5           # crowd expert 0
    x = rng.normal(size=(24, 8))
    y, routing = moe_ffn(x, params, "m", config, capacity_factor=1.0, return_routing=True)
    cap = expert_capacity(24, config.n_experts, config.top_k, 1.0)
    assert cap == 11
    assert (expert_load(routing.indices, config.n_experts, routing.kept) <= cap).all()
    assert not routing.kept.all()
    np.testing.assert_array_equal(routing.kept, capacity_mask(routing.indices,
                                                              config.n_experts, cap))
    np.testing.assert_allclose(y, dense_moe(x, params, config, routing.kept), rtol=0,
                               atol=1e-13)
    # a generous capacity drops nothing and changes nothing
    y_free, free = moe_ffn(x, params, "m", config, capacity_factor=100.0, return_routing=True)
    assert free.kept.all() and not free.dropped_tokens.any()
    np.testing.assert_array_equal(y_free, moe_ffn(x, params, "m", config))


def test_fully_dropped_tokens_pass_only_the_shared_expert():
    config = CONFIGS["deepseek_v3"]
    rng = np.random.default_rng(8)
    params = random_params(config, 6, rng)
    x = rng.normal(size=(40, 6))
    y, routing = moe_ffn(x, params, "m", config, capacity_factor=0.1, return_routing=True)
    dropped = routing.dropped_tokens
    assert dropped.any()
    shared_only = moe_ffn(x, {**params, "m.experts.w_down": 0 * params["m.experts.w_down"]},
                          "m", config)
    np.testing.assert_allclose(y[dropped], shared_only[dropped], rtol=0, atol=1e-15)


def test_float32_stays_float32():
    config = CONFIGS["mixtral"]
    rng = np.random.default_rng(9)
    p64 = random_params(config, 10, rng)
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    x = rng.normal(size=(4, 10))
    y32 = moe_ffn(x.astype(np.float32), p32, "m", config)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, moe_ffn(x, p64, "m", config), rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- the loss

def test_load_balancing_loss_extremes():
    n, e = 64, 8
    # uniform router: f_e = k/E, P_e = 1/E, so E * sum f P = k
    uniform = np.zeros((n, e))
    uniform += np.random.default_rng(10).normal(size=(n, e)) * 1e-9   # break ties at random
    for k in (1, 2, 4):
        assert load_balancing_loss(uniform, k) == pytest.approx(k, rel=1e-6)
    # every token sure of expert 0: f_0 = 1, P_0 = 1, so the loss is E
    collapsed = np.full((n, e), -50.0)
    collapsed[:, 0] = 50.0
    assert load_balancing_loss(collapsed, 1) == pytest.approx(e, rel=1e-12)


def test_load_balancing_loss_masks_padding_by_dropping_it():
    rng = np.random.default_rng(11)
    logits, mask = rng.normal(size=(2, 10, 5)), rng.random((2, 10)) < 0.6
    kept = logits.reshape(-1, 5)[mask.ravel()]
    assert load_balancing_loss(logits.reshape(-1, 5), 2, mask=mask) == pytest.approx(
        load_balancing_loss(kept, 2), rel=1e-14)
    with pytest.raises(ValueError, match="mask has 3 entries"):
        load_balancing_loss(logits.reshape(-1, 5), 2, mask=np.ones(3))


def test_loss_is_mean_probability_times_fraction():
    rng = np.random.default_rng(12)
    logits = rng.normal(size=(30, 6))
    p = softmax(logits)
    top = np.argsort(-p, axis=-1)[:, :2]
    f = np.array([(top == i).sum() for i in range(6)]) / 30
    assert load_balancing_loss(logits, 2) == pytest.approx(6 * (f * p.mean(0)).sum(), rel=1e-14)


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs,message", [
    (dict(n_experts=10, top_k=2, d_expert=4, n_group=3), "not divisible by n_group=3"),
    (dict(n_experts=8, top_k=5, d_expert=4, n_group=4, topk_group=2), "top_k=5 is more than"),
    (dict(n_experts=8, top_k=2, d_expert=4, score="sigmoid", top_k_first=True),
     "top_k_first=True needs score='softmax'"),
    (dict(n_experts=8, top_k=2, d_expert=4, shared_gate=True), "shared_gate=True needs"),
    (dict(n_experts=0, top_k=2, d_expert=4), "n_experts=0 must be >= 1"),
])
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MoEConfig(**kwargs)


def test_route_and_capacity_reject_bad_arguments():
    with pytest.raises(ValueError, match="k=9 must be in 1..8"):
        route(np.zeros((2, 8)), 9)
    with pytest.raises(ValueError, match="capacity_factor=0"):
        expert_capacity(10, 4, 1, 0)
    with pytest.raises(ValueError, match=r"indices must be \(n, k\)"):
        capacity_mask(np.zeros(3, dtype=int), 4, 1)


def test_fixture_configs_are_the_ones_the_script_used(golden):
    # the explicit configs above must describe the blocks the fixture script built
    for key, config in CONFIGS.items():
        hf = json.loads(str(golden[f"{key}/config"]))
        assert config.n_experts == hf.get("num_local_experts", hf.get("num_experts",
                                                                      hf.get("n_routed_experts")))
        assert config.top_k == hf["num_experts_per_tok"]
        assert config.d_expert == hf.get("moe_intermediate_size", hf.get("intermediate_size"))


# ----------------------------------------------------------------------------- whole models

MODELS_FIXTURE = Path(__file__).parents[1] / "fixtures" / "moe_models.npz"
MODELS = ("mixtral", "qwen3_moe", "deepseek_v3", "deepseek_v3_yarn")


@pytest.fixture(scope="module")
def models_golden():
    return dict(np.load(MODELS_FIXTURE))


def hf_model(golden, key, dtype=None):
    from engine.hf import from_hf
    config = json.loads(str(golden[f"{key}/config"]))
    sd = {k.removeprefix(f"{key}/sd/"): v for k, v in golden.items()
          if k.startswith(f"{key}/sd/")}
    return from_hf(config, sd, dtype=dtype), config


@pytest.mark.parametrize("key", MODELS)
def test_model_logits_match_transformers(models_golden, key):
    model, _ = hf_model(models_golden, key)
    logits, ref = model(models_golden[f"{key}/input_ids"]), models_golden[f"{key}/logits"]
    assert logits.dtype == np.float64 and logits.shape == ref.shape
    assert rel_err(logits, ref) < 1e-14


@pytest.mark.parametrize("key", MODELS)
def test_model_greedy_tokens_match_transformers(models_golden, key):
    model, _ = hf_model(models_golden, key)
    prompt, ref = models_golden[f"{key}/prompt"], models_golden[f"{key}/greedy"]
    assert ref.shape[-1] >= 24
    np.testing.assert_array_equal(model.generate(prompt, ref.shape[-1]), ref)
    np.testing.assert_array_equal(model.generate(prompt, ref.shape[-1], use_cache=False), ref)


@pytest.mark.parametrize("key", MODELS)
def test_model_float32_is_close(models_golden, key):
    model, _ = hf_model(models_golden, key, dtype=np.float32)
    logits = model(models_golden[f"{key}/input_ids"])
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, models_golden[f"{key}/logits"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("key", MODELS)
def test_cached_logits_equal_full_recompute(models_golden, key):
    from engine.model import KVCache
    model, _ = hf_model(models_golden, key)
    ids = np.concatenate([models_golden[f"{key}/prompt"], models_golden[f"{key}/greedy"]], -1)
    full = model(ids)
    cache, steps, start = model.new_cache(ids.shape[-1]), [], 0
    for n in (5, 1, 3, 1, 1, 7) + (1,) * (ids.shape[-1] - 18):
        steps.append(model(ids[:, start:start + n], cache=cache))
        start += n
    np.testing.assert_allclose(np.concatenate(steps, axis=-2), full, rtol=0, atol=1e-13)
    if model.config.attention == "mla":       # only latents and shared rotary keys are held
        width = model.config.mla.cache_width
        assert isinstance(cache, KVCache)
        assert cache.nbytes == model.config.n_layer * ids.shape[-1] * width * 8


def test_model_configs_read_the_sparse_fields(models_golden):
    mixtral, _ = hf_model(models_golden, "mixtral")
    qwen, hf_qwen = hf_model(models_golden, "qwen3_moe")
    deepseek, hf_ds = hf_model(models_golden, "deepseek_v3")
    assert (mixtral.config.ffn, mixtral.config.moe.n_experts, mixtral.config.dense_layers) == \
        ("moe", 5, ())
    assert qwen.config.dense_layers == tuple(hf_qwen["mlp_only_layers"]) == (1,)
    assert qwen.config.moe.normalize is True and qwen.config.qk_norm == "head"
    c = deepseek.config
    assert c.dense_layers == tuple(range(hf_ds["first_k_dense_replace"]))
    assert (c.moe.score, c.moe.n_group, c.moe.topk_group, c.moe.scaling, c.moe.n_shared) == \
        ("sigmoid", 4, 2, 1.7, 1)
    assert c.attention == "mla" and c.mla.q_lora_rank == 10 and c.rotary_dims == 4


@pytest.mark.parametrize("change,message", [
    (dict(num_key_value_heads=1), "num_key_value_heads=1 is not supported"),
    (dict(topk_method="greedy"), "topk_method='greedy' is not supported"),
    (dict(scoring_func="softmax"), "scoring_func='softmax' is not supported"),
    (dict(qk_head_dim=7), "qk_head_dim=7 is not supported"),
    (dict(moe_wobble=3), "moe_wobble not understood"),
])
def test_deepseek_config_refuses_what_it_cannot_compute(models_golden, change, message):
    from engine.hf import config_from_hf
    config = json.loads(str(models_golden["deepseek_v3/config"]))
    with pytest.raises(ValueError, match=message):
        config_from_hf({**config, **change})


def test_sparse_config_validation():
    from engine.config import ModelConfig
    base = dict(vocab_size=11, n_ctx=8, d_model=8, n_layer=2, n_head=2, activation="swiglu",
                norm="rmsnorm", bias=False, positional="rope")
    moe = MoEConfig(n_experts=4, top_k=2, d_expert=3)
    with pytest.raises(ValueError, match="ffn='moe' needs a MoEConfig"):
        ModelConfig(**base, ffn="moe")
    with pytest.raises(ValueError, match=r"dense_layers=\(2,\) needs ffn='moe' and block"):
        ModelConfig(**base, ffn="moe", moe=moe, dense_layers=(2,))
    with pytest.raises(ValueError, match="SwiGLU experts"):
        ModelConfig(**{**base, "activation": "gelu"}, ffn="moe", moe=moe)
    config = ModelConfig(**base, ffn="moe", moe=moe, dense_layers=[0])
    assert config.dense_layers == (0,) and config.ffn_of(0) == "dense"
    assert config.ffn_of(1) == "moe"
    with pytest.raises(ValueError, match="pass layer="):
        config.ffn_of(None)
