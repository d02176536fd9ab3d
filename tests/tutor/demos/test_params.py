"""params demo: exact totals against counts made by Hugging Face transformers."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tutor.demos import _helpers as helpers
from tutor.cli import app

GOLDEN = json.loads((Path(__file__).parents[2] / "fixtures" / "param_counts.json").read_text())


def run(**args) -> dict:
    return helpers.run("params", **args)


def test_cli_json_total_matches_transformers_count():
    result = CliRunner().invoke(app, ["demo", "params", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == GOLDEN["models"]["gpt2"]["total"] == 124_439_808


@pytest.mark.parametrize("name", ["gpt2-medium", "llama-2-7b", "llama-2-70b", "mistral-7b"])
def test_presets_match_transformers_counts(name):
    assert run(preset=name)["total"] == GOLDEN["models"][name]["total"]


def test_rule_and_embedding_share_for_gpt2():
    r = run()
    d, layers, vocab, ctx = 768, 12, 50257, 1024
    assert r["rule_12d2"] == 12 * layers * d * d
    embedding = vocab * d + ctx * d
    assert r["embedding"] == embedding
    assert r["embedding_share"] == pytest.approx(embedding / 124_439_808)
    assert r["rule_vs_non_embedding"] == pytest.approx(12 * layers * d * d
                                                        / (124_439_808 - embedding))
    # one block: 12 d^2 weights + 13 d biases and norm parameters
    assert r["per_layer"] == 12 * d * d + 13 * d


def test_untying_adds_one_vocab_by_d_matrix():
    base = run()["total"]
    assert run(tie=False)["total"] - base == 50257 * 768


def test_overrides_change_total_by_hand_computed_amounts():
    base = run()["total"]
    d, layers, hd = 768, 12, 64
    # 4 K/V heads instead of 12: W_k and W_v shrink from d x d to d x 4*hd, and their biases
    gqa = run(kv_heads=4)["total"]
    assert base - gqa == layers * (2 * d * (d - 4 * hd) + 2 * (d - 4 * hd))
    # no biases: every linear bias and the LayerNorm shifts go
    no_bias = run(bias=False)["total"]
    per_layer_bias = 3 * d + d + 4 * d + d + 2 * d        # qkv, out, ffn up, ffn down, 2 shifts
    assert base - no_bias == layers * per_layer_bias + d  # + final norm's shift
    # RoPE: no learned position table
    assert base - run(positional="rope")["total"] == 1024 * d
    # two more layers: two more blocks
    assert run(layers=14)["total"] - base == 2 * (12 * d * d + 13 * d)


def test_swiglu_default_width_rounds_like_the_presets():
    r = run(activation="swiglu", bias=False, norm="rmsnorm", positional="rope")
    assert r["config"]["d_ff"] == 2048    # 8/3 * 768 = 2048, already a multiple of 256
    d, layers, vocab = 768, 12, 50257
    assert r["total"] == vocab * d + layers * (4 * d * d + 3 * d * 2048 + 2 * d) + d


def test_invalid_override_is_a_one_line_usage_error():
    result = CliRunner().invoke(app, ["demo", "params", "--d-model", "100"])
    assert result.exit_code == 2
    assert "--d-model 100 is not divisible by --heads 12" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_renders_within_60_columns():
    for args in ({}, {"preset": "t5-small"}, {"preset": "llama-3-8b", "tie": True}):
        text = helpers.render_text("params", run(**args))
        helpers.assert_fits(text)
        assert "Takeaway" in text
