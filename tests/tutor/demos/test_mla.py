"""mla demo: cache bytes by the hand formula, DeepSeek-V3's published shape, and the
absorbed layer against a naive per-head MLA written out here."""

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.hf_configs import hf_config
from tests.tutor.demos import _helpers as helpers
from tutor.cli import app
from tutor.demos import mla as demo
from tutor.demos.registry import DEMOS


def run(**args) -> dict:
    return helpers.run("mla", **args)


@pytest.fixture(scope="module")
def result():
    return run(seed=5)


def test_defaults_are_deepseek_v3s_published_shape():
    ds = hf_config("deepseek-v3")
    info = DEMOS["mla"]
    fields = {"layers": "num_hidden_layers", "heads": "num_attention_heads",
              "qk_nope_dim": "qk_nope_head_dim", "qk_rope_dim": "qk_rope_head_dim",
              "v_dim": "v_head_dim", "kv_lora_rank": "kv_lora_rank"}
    assert {ours: info.param(ours).default for ours in fields} == \
        {ours: ds[theirs] for ours, theirs in fields.items()}


def test_bytes_per_token_equal_the_hand_formula(result):
    rows = {r["attention"]: r for r in result["rows"]}
    layers, heads, d_k, d_v, b = 61, 128, 128 + 64, 128, 2
    assert rows["mla"]["bytes_per_token"] == (512 + 64) * layers * b == 70_272
    assert rows["mha"]["bytes_per_token"] == heads * (d_k + d_v) * layers * b == 4_997_120
    assert rows["gqa"]["bytes_per_token"] == 8 * (d_k + d_v) * layers * b
    assert rows["mqa"]["bytes_per_token"] == (d_k + d_v) * layers * b
    for r in result["rows"]:
        assert r["cache_bytes"] == r["bytes_per_token"] * 32768
        assert r["vs_mha"] == pytest.approx(4_997_120 / r["bytes_per_token"])
        assert r["numbers_per_layer"] * layers * b == r["bytes_per_token"]
    assert rows["mla"]["kv_heads_equivalent"] == pytest.approx(576 / 320)
    # the published config through engine.accounting: the latent, and transformers' own
    # (expanded, per-head) cache
    ds = result["deepseek_v3"]
    assert ds["latent_bytes"] == rows["mla"]["cache_bytes"]
    assert ds["expanded_bytes"] == rows["mha"]["cache_bytes"]


def test_other_shapes_and_byte_widths():
    r = run(layers=60, heads=128, qk_nope_dim=128, qk_rope_dim=64, v_dim=128,
            kv_lora_rank=512, bytes_per=1, kv_heads=16, context=1000)
    rows = {row["attention"]: row for row in r["rows"]}
    assert rows["mla"]["bytes_per_token"] == (512 + 64) * 60
    assert rows["gqa"]["bytes_per_token"] == 16 * 320 * 60
    assert rows["mla"]["cache_bytes"] == (512 + 64) * 60 * 1000


def naive_mla(x, params, config):
    """MLA written out head by head: expanded keys and values, GPT-J pair rotation."""
    p, h = params, config.n_head
    dn, dr, dv = config.qk_nope_head_dim, config.qk_rope_head_dim, config.v_head_dim
    n = x.shape[0]

    def rms(v, g):
        return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + config.latent_eps) * g

    def rotate_pairs(v):   # (n, dr): pair (2i, 2i+1) turns by pos * theta^(-2i/dr)
        ang = np.arange(n)[:, None] * config.rope_theta ** (-np.arange(0, dr, 2) / dr)
        even, odd = v[:, 0::2], v[:, 1::2]
        out = np.empty_like(v)
        out[:, 0::2] = even * np.cos(ang) - odd * np.sin(ang)
        out[:, 1::2] = odd * np.cos(ang) + even * np.sin(ang)
        return out

    c_q = rms(x @ p["attn.w_dq"], p["attn.q_norm.g"])
    c_kv = rms(x @ p["attn.w_dkv"], p["attn.kv_norm.g"])
    k_rope = rotate_pairs(x @ p["attn.w_kr"])
    heads = []
    for i in range(h):
        q = np.concatenate([c_q @ p["attn.w_uq"][:, i * dn:(i + 1) * dn],
                            rotate_pairs(c_q @ p["attn.w_qr"][:, i * dr:(i + 1) * dr])], -1)
        k = np.concatenate([c_kv @ p["attn.w_uk"][:, i * dn:(i + 1) * dn], k_rope], -1)
        v = c_kv @ p["attn.w_uv"][:, i * dv:(i + 1) * dv]
        s = q @ k.T / math.sqrt(dn + dr)
        s = np.where(np.tril(np.ones((n, n), dtype=bool)), s, -np.inf)
        w = np.exp(s - s.max(axis=-1, keepdims=True))
        heads.append((w / w.sum(axis=-1, keepdims=True)) @ v)
    return np.concatenate(heads, axis=-1) @ p["attn.w_o"]


def test_absorbed_equals_a_naive_expanded_mla():
    from engine.mla import absorb, multi_head_latent_attention

    r = run(seed=8, tokens=24)
    assert r["max_abs_diff"] <= 1e-10 and r["decode_max_abs_diff"] <= 1e-10
    rng = np.random.default_rng(8)                   # the demo's layer and inputs
    config, params = demo.small_layer(rng)
    x = rng.standard_normal((1, 24, 64))
    reference = naive_mla(x[0], params, config)
    assert r["max_abs_output"] == pytest.approx(np.max(np.abs(reference)), rel=1e-12)
    absorbed = multi_head_latent_attention(x, absorb(params, "attn", config), "attn", config,
                                           absorb=True)[0]
    np.testing.assert_allclose(absorbed, reference, rtol=0, atol=1e-10)
    # the check can fail: a slightly different W_uk moves the absorbed output far past 1e-10
    bent = {**params, "attn.w_uk": params["attn.w_uk"] * (1 + 1e-6)}
    moved = multi_head_latent_attention(x, absorb(bent, "attn", config), "attn", config,
                                        absorb=True)[0]
    assert np.max(np.abs(moved - reference)) > 1e-8


def test_the_cache_holds_latents_only(result):
    tokens = result["layer"]["tokens"]
    assert result["cache_nbytes"] == result["cache_formula_bytes"] == (32 + 8) * tokens * 8


def test_same_seed_same_figures():
    a = run(seed=1, tokens=16)
    assert a == run(seed=1, tokens=16)
    assert a["max_abs_output"] != run(seed=2, tokens=16)["max_abs_output"]


def test_names_and_topics_find_the_demo():
    from tutor.demos.registry import lookup

    for word in ("mla", "latent-attention", "multi-head-latent-attention", "deepseek"):
        assert lookup(word).name == "mla"


@pytest.mark.parametrize(("args", "message"), [
    (["--qk-rope-dim", "63"], "--qk-rope-dim 63 must be even"),
    (["--kv-heads", "7"], "--kv-heads 7 must divide --heads 128"),
    (["--tokens", "1025"], "largest allowed value 1,024"),
])
def test_refusals_exit_2_naming_the_option(args, message):
    result = CliRunner().invoke(app, ["demo", "mla", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_renders_within_60_columns_at_large_values():
    r = run(context=100_000_000, bytes_per=8, layers=1024, heads=1024, kv_heads=1,
            kv_lora_rank=65536, tokens=8)
    text = helpers.render_text("mla", r)
    helpers.assert_fits(text)
    assert "Takeaway" in text
