"""kv-cache demo: identical tokens with and without the cache; cache bytes by hand."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.gpt2 import GPT2, gpt2_config
from tests.tutor.demos import _helpers as helpers
from tutor.cli import app


def run(**args) -> dict:
    return helpers.run("kv-cache", **args)


def test_same_tokens_as_the_engines_uncached_generate():
    r = run(new_tokens=12, d_model=32, layers=2, seed=7)
    assert r["same_tokens"] is True
    assert r["max_logit_diff"] < 1e-4
    # the same model and prompt rebuilt from the seed, through GPT2.generate without a cache
    rng = np.random.default_rng(7)
    config = gpt2_config(vocab_size=256, n_ctx=8 + 12, d_model=32, n_layer=2,
                         n_head=4).replace(tie_embeddings=False)
    model = GPT2.from_config(config, rng, dtype=np.float32)
    prompt = rng.integers(0, 256, size=(1, 8))
    assert r["tokens"] == model.generate(prompt, 12, use_cache=False)[0].tolist()
    assert len(set(r["tokens"])) > 3             # a varied sequence, not one token repeated
    # float32 K and V for 2 layers x 4 heads x 8 wide x 20 positions
    assert r["cache_nbytes"] == r["cache_formula_bytes"] == 2 * 20 * 2 * 4 * 8 * 4


def test_llama_2_7b_cache_at_4096_tokens_fp16_is_2_gib():
    result = CliRunner().invoke(app, ["demo", "kv-cache", "--json", "--new-tokens", "4",
                                      "--d-model", "16", "--layers", "1"])
    assert result.exit_code == 0, result.stderr
    r = json.loads(result.stdout)
    assert r["cache_bytes"] == 2 * 1 * 4096 * 32 * 32 * 128 * 2 == 2 * 2**30
    rows = {row["name"]: row for row in r["presets"]}
    assert rows["llama-2-70b"]["bytes"] == 2 * 4096 * 80 * 8 * 128 * 2
    assert rows["llama-2-70b"]["saving"] == pytest.approx(64 / 8)
    assert rows["mistral-7b"]["bytes"] == 2 * 4096 * 32 * 8 * 128 * 2
    assert rows["gpt2"]["bytes"] == 2 * 4096 * 12 * 12 * 64 * 2
    assert "bert-base" not in rows                      # an encoder caches nothing


def test_timing_rows_are_cumulative_checkpoints():
    r = run(new_tokens=10, d_model=16, layers=1)
    assert [t["tokens"] for t in r["timing"]] == [1, 2, 4, 8, 10]
    assert all(t["speedup"] == pytest.approx(t["uncached_s"] / t["cached_s"])
               for t in r["timing"])
    # matmul FLOPs per token at context c for d=16, 1 layer, 256 tokens: 24 d^2 + 4 c d + 2 d V
    def per_token(c):
        return 24 * 16 * 16 + 4 * c * 16 + 2 * 16 * 256

    contexts = [8 + t for t in range(10)]
    cached = sum(per_token(c) for c in contexts)
    recomputed = sum(c * per_token(c) for c in contexts)      # every position, every step
    assert r["timing"][-1]["flop_ratio"] == pytest.approx(recomputed / cached)


def test_refuses_sizes_too_slow_to_time_and_encoders():
    result = CliRunner().invoke(app, ["demo", "kv-cache", "--new-tokens", "512",
                                      "--d-model", "1024"])
    assert result.exit_code == 2
    assert "--new-tokens 512" in result.stderr
    assert "the largest --new-tokens allowed with these is" in result.stderr
    result = CliRunner().invoke(app, ["demo", "kv-cache", "--preset", "bert-base"])
    assert result.exit_code == 2 and "encoder" in result.stderr


def test_renders_within_60_columns():
    r = run(new_tokens=16, d_model=32, layers=1, context=131072, bytes_per=1)
    text = helpers.render_text("kv-cache", r)
    helpers.assert_fits(text)
    assert "Takeaway" in text
