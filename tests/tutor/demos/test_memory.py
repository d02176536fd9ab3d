"""memory demo: the 175B example and a preset, against hand arithmetic."""

import json

import pytest
from typer.testing import CliRunner

from tests.tutor.demos import _helpers as helpers
from tutor.cli import app


def run(**args) -> dict:
    return helpers.run("memory", **args)


def test_175b_adam_state_is_16_bytes_per_param_both_ways():
    result = CliRunner().invoke(app, ["demo", "memory", "--json"])
    assert result.exit_code == 0, result.stderr
    r = json.loads(result.stdout)
    n = 175 * 10**9
    assert r["n_params"] == n
    fp32, mixed = r["training"]["fp32"], r["training"]["mixed"]
    assert (fp32["weights"], fp32["gradients"], fp32["master_weights"],
            fp32["optimizer_states"]) == (4 * n, 4 * n, 0, 8 * n)
    assert (mixed["weights"], mixed["gradients"], mixed["master_weights"],
            mixed["optimizer_states"]) == (2 * n, 2 * n, 4 * n, 8 * n)
    assert fp32["total"] == mixed["total"] == 2_800 * 10**9          # 2.8 TB
    assert fp32["gpus"] == mixed["gpus"] == 35                      # 2.8 TB / 80 GB
    assert r["inference"]["weights"] == 350 * 10**9


def test_175b_shape_is_gpt3_and_activations_follow_korthikanti():
    r = run()
    s = r["shape"]
    assert (s["d_model"], s["n_layer"], s["n_head"]) == (12288, 96, 96)
    sq, b, h, a, layers = 2048, 1, 12288, 96, 96
    # Korthikanti et al. 2022, eq. (2): s b h (34 + 5 a s / h) bytes per layer at 16 bits
    per_layer = sq * b * h * (34 + 5 * a * sq // h)
    assert r["activations"]["full"] == layers * per_layer
    assert r["activations"]["quadratic"] == layers * 5 * a * sq * sq * b
    assert r["activations"]["checkpointed"] == layers * 2 * sq * b * h
    assert r["kv_cache"] == 2 * b * sq * layers * h * 2               # K and V, fp16
    assert r["inference"]["total"] == 350 * 10**9 + r["kv_cache"]
    assert r["training_total"] == 2_800 * 10**9 + layers * per_layer


def test_preset_uses_its_exact_count_and_gqa_cache():
    r = run(preset="llama-2-70b", batch=2, seq=4096)
    n = 68_976_648_192                       # transformers' count, tests/fixtures
    assert r["n_params"] == n
    assert r["training"]["mixed"]["total"] == 16 * n
    assert r["training"]["mixed"]["gpus"] == -(-16 * n // (80 * 10**9))
    assert r["kv_cache"] == 2 * 2 * 4096 * 80 * 8 * 128 * 2          # 8 KV heads of 128


def test_encoder_has_no_kv_cache():
    r = run(preset="bert-base")
    assert r["kv_cache"] is None
    assert r["inference"]["total"] == 2 * 109_482_240


@pytest.mark.parametrize("args", [{}, {"preset": "t5-small"}, {"params": 1e3, "seq": 7}])
def test_renders_within_60_columns(args):
    text = helpers.render_text("memory", run(**args))
    helpers.assert_fits(text)
    assert "Takeaway" in text
