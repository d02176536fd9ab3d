"""flops demo: per-token FLOPs, attention share and 6ND against hand formulas."""

import json
import math

import pytest
from typer.testing import CliRunner

from tests.tutor.demos import _helpers as helpers
from tutor.cli import app

N_GPT2 = 124_439_808                     # GPT-2 small, as counted by transformers
L, D, V, CTX = 12, 768, 50257, 1024


def run(**args) -> dict:
    return helpers.run("flops", **args)


def gpt2_forward(n: int) -> int:
    """Matmul FLOPs per token: 2 x (Q, K, V, O: 4d^2; FFN: 8d^2) per layer, Q K^T and A V
    (2 n d each), and the head (2 d V)."""
    return 2 * L * 12 * D * D + 4 * L * n * D + 2 * D * V


def test_gpt2_forward_flops_and_kaplan_approximation():
    result = CliRunner().invoke(app, ["demo", "flops", "--json"])
    assert result.exit_code == 0, result.stderr
    r = json.loads(result.stdout)
    assert r["forward"]["total"] == gpt2_forward(CTX) == 284_812_800
    non_embedding = N_GPT2 - V * D - CTX * D
    assert r["non_embedding"] == non_embedding
    assert r["forward"]["kaplan"] == 2 * non_embedding + 2 * L * CTX * D
    assert r["forward"]["two_n"] == 2 * N_GPT2


def test_attention_share_against_context():
    r = run(context=[128, 1024, 65536])
    for row in r["context"]:
        n = row["n_ctx"]
        assert row["total"] == gpt2_forward(n)
        assert row["share"] == pytest.approx(4 * L * n * D / gpt2_forward(n), rel=1e-12)
    shares = [row["share"] for row in r["context"]]
    assert shares == sorted(shares) and shares[-1] > 0.9 > 0.05 > shares[0]


def test_training_is_6nd_with_chinchilla_tokens():
    r = run()
    assert r["tokens"] == pytest.approx(20 * N_GPT2)
    assert r["training_flops"] == pytest.approx(6 * N_GPT2 * 20 * N_GPT2, rel=1e-12)
    assert r["training_flops_exact"] == pytest.approx(3 * gpt2_forward(CTX) * 20 * N_GPT2)
    assert r["optimal"]["n_params"] == pytest.approx(N_GPT2)


def test_given_tokens_and_the_optimal_model_for_that_compute():
    r = run(preset="llama-2-7b", tokens=2e12)
    n = 6_738_415_616
    c = 6 * n * 2e12
    assert r["training_flops"] == pytest.approx(c)
    assert r["optimal"]["n_params"] == pytest.approx(math.sqrt(c / 120))     # C = 6 N (20 N)
    assert r["optimal"]["n_tokens"] == pytest.approx(20 * math.sqrt(c / 120))


def test_gqa_preset_forward_flops():
    n, layers, d, kv, f, vocab = 8192, 32, 4096, 8 * 128, 14336, 128256
    r = run(preset="llama-3-8b", context=[n])
    expected = layers * (2 * d * (d + 2 * kv) + 4 * n * d + 2 * d * d + 2 * 3 * d * f) \
        + 2 * d * vocab
    assert r["forward"]["total"] == expected


@pytest.mark.parametrize("args", [{}, {"preset": "t5-small", "context": [100]}])
def test_renders_within_60_columns(args):
    text = helpers.render_text("flops", run(**args))
    helpers.assert_fits(text)
    assert "Takeaway" in text
