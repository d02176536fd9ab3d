"""moe demo: drops counted by a brute-force loop, the router gradient against finite
differences of the engine's own layer, the balancing loss lowering imbalance, and the
published parameter counts by hand."""

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.model import decoder, init_params
from engine.moe import expert_load, load_balancing_loss, moe_ffn, route_with
from tests.tutor.demos import _helpers as helpers
from tutor.cli import app
from tutor.demos import moe as demo


def run(**args) -> dict:
    return helpers.run("moe", **args)


@pytest.fixture(scope="module")
def result():
    return run(seed=3)


def replay(seed, experts=8, top_k=2, tokens=512, aux_coef=0.01, steps=60):
    """The demo's model, inputs and two trained routers, rebuilt from the seed."""
    rng = np.random.default_rng(seed)
    config = demo.model_config(experts, top_k)
    params = init_params(config, rng, np.float64)
    x = demo.ffn_inputs(demo.zipf_ids(rng, tokens), params, config)[0][:tokens]
    target = demo.dense_teacher(x, rng)
    y_all = demo.expert_outputs(x, params)
    w0 = params[demo.PREFIX + ".router.w"]
    routers = [demo.train_router(x, w0, y_all, target, config.moe, c, steps)[0]
               for c in (0.0, aux_coef)]
    return x, config, routers


def brute_force_drops(indices, n_experts, capacity):
    """Fill experts first choice first, in token order; count what does not fit."""
    held = [0] * n_experts
    dropped, lost = 0, set(range(len(indices)))
    for rank in range(indices.shape[1]):
        for token in range(indices.shape[0]):
            e = int(indices[token, rank])
            if held[e] < capacity:
                held[e] += 1
                lost.discard(token)
            else:
                dropped += 1
    return dropped, len(lost)


def test_dropped_count_equals_a_brute_force_loop(result):
    x, config, routers = replay(3)
    n, k, e = 512, 2, 8
    capacity = math.ceil(result["capacity_factor"] * k * n / e)
    assert result["capacity"] == capacity == 128
    for run_, cap_run, w in zip(result["runs"], result["capacity_runs"], routers, strict=True):
        idx = route_with(x @ w, config.moe)[1]
        assert expert_load(idx, e).tolist() == run_["load"]     # the replay is the demo's run
        dropped, lost = brute_force_drops(idx, e, capacity)
        assert cap_run["dropped_assignments"] == dropped > 0
        assert cap_run["dropped_tokens"] == lost
        assert cap_run["dropped_share"] == pytest.approx(dropped / (n * k))


@pytest.mark.parametrize("factor", [0.5, 1.25, 4.0])
def test_drops_at_other_capacity_factors(factor):
    r = run(seed=5, tokens=256, steps=20, capacity_factor=factor)
    x, config, routers = replay(5, tokens=256, steps=20)
    capacity = math.ceil(factor * 2 * 256 / 8)
    assert r["capacity"] == capacity
    for cap_run, w in zip(r["capacity_runs"], routers, strict=True):
        idx = route_with(x @ w, config.moe)[1]
        assert (cap_run["dropped_assignments"], cap_run["dropped_tokens"]) == \
            brute_force_drops(idx, 8, capacity)
    if factor >= 4.0:                                  # room for every assignment
        assert all(c["dropped_assignments"] == 0 for c in r["capacity_runs"])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_the_balancing_loss_lowers_load_imbalance(seed):
    r = run(seed=seed)
    plain, aux = r["runs"]
    assert aux["cv"] < plain["cv"] and aux["cv"] < r["init"]["cv"]
    assert aux["aux_loss"] < plain["aux_loss"]
    capacity = r["capacity_runs"]
    assert capacity[1]["dropped_assignments"] < capacity[0]["dropped_assignments"]
    for run_ in r["runs"]:
        load = np.array(run_["load"])
        assert load.sum() == 512 * 2                   # every token's two assignments
        assert run_["cv"] == pytest.approx(load.std() / load.mean())
        assert run_["max_over_mean"] == pytest.approx(load.max() / load.mean())


def test_router_gradient_matches_finite_differences_of_the_engine_layer():
    rng = np.random.default_rng(4)
    config = demo.model_config(6, 2)
    params = init_params(config, rng, np.float64)
    x = demo.ffn_inputs(demo.zipf_ids(rng, 128), params, config)[0][:128]
    target = demo.dense_teacher(x, rng)
    y_all = demo.expert_outputs(x, params)
    w = 20 * params[demo.PREFIX + ".router.w"]          # confident routing: a harder case
    coef = 0.3
    task, aux, grad, _ = demo.router_loss_and_grad(x, w, y_all, target, config.moe, coef)

    def total(w_r):   # through engine.moe.moe_ffn and engine.moe.load_balancing_loss
        layer = {**params, demo.PREFIX + ".router.w": w_r}
        return demo.task_loss(x, layer, target, config.moe) + coef * load_balancing_loss(
            x @ w_r, 2)

    assert task == pytest.approx(demo.task_loss(x, {**params, demo.PREFIX + ".router.w": w},
                                                target, config.moe), rel=1e-12)
    assert aux == pytest.approx(load_balancing_loss(x @ w, 2), rel=1e-12)
    eps = 1e-6
    entries = [np.unravel_index(i, w.shape) for i in rng.choice(w.size, 48, replace=False)]
    for i, j in entries:
        step = np.zeros_like(w)
        step[i, j] = eps
        numeric = (total(w + step) - total(w - step)) / (2 * eps)
        assert grad[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_ffn_inputs_are_what_the_model_feeds_its_moe_layer():
    rng = np.random.default_rng(2)
    config = demo.model_config(4, 1)
    params = init_params(config, rng, np.float64)
    ids = demo.zipf_ids(rng, 128)
    h, u = demo.ffn_inputs(ids, params, config)
    after = decoder(ids, params, config, return_hidden=True).hidden_states[2]
    out = u + moe_ffn(h, params, demo.PREFIX, config.moe)
    np.testing.assert_allclose(out, after.reshape(-1, 64), rtol=0, atol=1e-12)
    # Zipf: the most frequent id is far above its even share of 1/256
    assert np.bincount(ids.ravel(), minlength=256).max() / ids.size > 0.1


def test_mixtral_active_and_total_parameters_by_hand(result):
    d, layers, f, vocab, experts, k = 4096, 32, 14336, 32000, 8, 2
    attention = d * (32 * 128) + 2 * d * (8 * 128) + (32 * 128) * d
    per_layer = attention + d * experts + 2 * d                 # + router, two RMSNorms
    total = layers * (per_layer + experts * 3 * d * f) + 2 * vocab * d + d
    active = layers * (per_layer + k * 3 * d * f) + 2 * vocab * d + d
    a = result["accounting"]
    assert (a["total"], a["active"]) == (total, active) == (46_702_792_704, 12_879_925_248)
    assert f"{a['total'] / 1e9:.1f}B" == "46.7B" and f"{a['active'] / 1e9:.1f}B" == "12.9B"
    assert a["active_share"] == pytest.approx(active / total)
    assert a["routed_total"] == layers * experts * 3 * d * f
    assert a["routed_active"] == layers * k * 3 * d * f
    assert "46.7B" in result["takeaway"] and "12.9B" in result["takeaway"]


@pytest.mark.parametrize(("preset", "total", "active"), [
    ("qwen3-30b-a3b", 30.5e9, 3.3e9),         # the model card: 30.5B total, 3.3B activated
    ("deepseek-v3", 671e9, 37e9),             # the paper: 671B total, 37B activated per token
])
def test_other_presets_match_their_published_sizes(preset, total, active):
    a = run(preset=preset, steps=1, tokens=64)["accounting"]
    assert a["total"] == pytest.approx(total, rel=0.005)
    assert a["active"] == pytest.approx(active, rel=0.02)


def test_same_seed_same_figures():
    a = run(seed=9, tokens=128, steps=10)
    assert a == run(seed=9, tokens=128, steps=10)
    assert a != run(seed=10, tokens=128, steps=10)


def test_names_and_topics_find_the_demo():
    from tutor.demos.registry import lookup

    for word in ("moe", "mixture-of-experts", "load-balancing", "expert-capacity", "mixtral"):
        assert lookup(word).name == "moe"


def test_refusals_name_the_option_and_the_largest_value():
    result = CliRunner().invoke(app, ["demo", "moe", "--top-k", "8", "--experts", "4"])
    assert result.exit_code == 2
    assert "--top-k 8" in result.stderr and "largest --top-k allowed" in result.stderr
    result = CliRunner().invoke(app, ["demo", "moe", "--tokens", "4096", "--experts", "64",
                                      "--steps", "1000"])
    assert result.exit_code == 2 and "largest --steps allowed with these is 22" in result.stderr
    result = CliRunner().invoke(app, ["demo", "moe", "--experts", "65"])
    assert result.exit_code == 2 and "largest allowed value 64" in result.stderr


@pytest.mark.parametrize("args", [dict(experts=16, top_k=4, tokens=128, steps=5),
                                  dict(experts=64, top_k=8, tokens=256, steps=3,
                                       preset="deepseek-v3")])
def test_renders_within_60_columns(args):
    r = run(**args)
    text = helpers.render_text("moe", r)
    helpers.assert_fits(text)
    assert "Takeaway" in text and "tokens lost" in text
