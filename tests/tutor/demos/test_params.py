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


# ----------------------------------------------------------------------------- HF configs

HF_GOLDEN = json.loads((Path(__file__).parents[2] / "fixtures" / "hf_param_counts.json")
                       .read_text())


def cli(*args: str):
    return CliRunner().invoke(app, ["demo", "params", *args])


@pytest.mark.parametrize("name", sorted(HF_GOLDEN["presets"]))
def test_hf_presets_give_the_transformers_counts(name):
    result = cli("--preset", name, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    ref = HF_GOLDEN["presets"][name]
    assert (data["total"], data["active"]) == (ref["total"], ref["active"])
    assert data["items"] == ref["items"]


@pytest.mark.parametrize("name", ["deepseek-v3-small", "qwen3-moe-sparse-step",
                                  "gemma2-untied", "gpt2-untied"])
def test_hf_config_file_as_transformers_writes_it(tmp_path, name):
    ref = HF_GOLDEN["small"][name]
    path = tmp_path / name / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(ref["to_dict"], indent=2))
    data = json.loads(cli("--hf-config", str(path), "--json").stdout)
    assert (data["total"], data["active"]) == (ref["total"], ref["active"])
    assert data["hf_config"] == str(path) and data["name"] == name
    moe_skipped = ref["total"] - ref["active"]
    assert data["items"]["routed_experts" if moe_skipped else "attention"] - \
        data["active_items"]["routed_experts" if moe_skipped else "attention"] == moe_skipped


def test_deepseek_v3_reports_its_mtp_module_apart():
    data = run(preset="deepseek-v3")
    assert data["total"] == 671_026_404_352
    assert data["not_built"]["mtp"] > 11e9
    assert "multi-token-prediction" in data["takeaway"]


def _one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_bad_hf_config_files_are_one_line_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "model_type": "llama",\n  "hidden_size": 4096,\n}\n')
    assert f"{broken}:4:1: not valid JSON" in _one_line_error(cli("--hf-config", str(broken)), 1)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({**HF_GOLDEN["presets"]["mixtral-8x7b"]["config"],
                                   "num_shared_experts": 2}))
    message = _one_line_error(cli("--hf-config", str(unknown)), 1)
    assert str(unknown) in message and "'num_shared_experts'=2 is not understood" in message
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert "expected a JSON object" in _one_line_error(cli("--hf-config", str(listed)), 1)
    missing = tmp_path / "missing.json"
    assert "no such file" in _one_line_error(cli("--hf-config", str(missing)), 2)


def test_hf_sources_refuse_size_overrides_and_each_other(tmp_path):
    assert "--layers cannot be combined with --preset mixtral-8x7b" in _one_line_error(
        cli("--preset", "mixtral-8x7b", "--layers", "3"), 2)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(HF_GOLDEN["presets"]["phi-3-mini"]["config"]))
    assert "not both" in _one_line_error(
        cli("--hf-config", str(path), "--preset", "llama-2-7b"), 2)


def test_hf_render_fits_60_columns():
    for name in ("deepseek-v3", "llama-3.1-405b"):
        text = helpers.render_text("params", run(preset=name))
        helpers.assert_fits(text)
        assert "Takeaway" in text and "active" in text


def test_registry_lists_the_engine_hf_presets():
    from engine.hf_configs import HF_PRESETS
    from tutor.demos import registry

    assert registry.HF_PRESETS == HF_PRESETS
