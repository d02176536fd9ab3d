import math

import numpy as np
import pytest

from engine.attention import scaled_dot_product_attention
from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import masks


@pytest.fixture(scope="module")
def result():
    return run("masks", n=8, d=16, lengths=[8, 5], seed=7)


def test_causal_mask_keeps_the_past_bit_identical(result):
    t0 = result["changed_from"]
    assert result["future_proof"] is True
    assert result["delta_causal"][:t0] == [0.0] * t0
    assert min(result["delta_unmasked"][:t0]) > 1e-3       # without the mask the past moves
    assert min(result["delta_causal"][t0:]) > 1e-3          # the changed tokens themselves move


def test_padding_content_does_not_reach_real_tokens(result):
    short = next(r for r in result["padding"] if r["length"] == 5)
    assert short["identical"] and short["delta_masked"] == 0.0
    assert short["delta_unmasked"] > 1.0


def test_mask_pictures(result):
    causal = np.array(result["causal_mask"])
    assert np.array_equal(causal, np.tril(np.ones((8, 8), bool)))
    pad = np.array(result["padding_mask"])
    assert pad[:, :5].all() and not pad[:, 5:].any()


def test_causal_output_equals_attention_over_the_prefix_alone():
    # independent route: position i under the causal mask = unmasked attention on x[:i+1]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 6, 4))
    w = rng.standard_normal((3, 4, 4)) / 2
    full = masks._head(x, w, causal=True)
    for i in range(6):
        prefix = x[:, : i + 1]
        alone = scaled_dot_product_attention(prefix @ w[0], prefix @ w[1], prefix @ w[2])
        np.testing.assert_allclose(full[0, i], alone[0, i], rtol=1e-12, atol=1e-14)


def test_fully_masked_rows(result):
    rows = {(r["method"], r["dtype"]): r for r in result["full_row"]}
    n = result["n"]
    f32 = rows[("additive -1e9", "float32")]
    assert f32["weight_sum"] == pytest.approx(1.0)
    assert f32["max_dev_uniform"] < 1e-7                    # scores drowned: uniform 1/n
    f64 = rows[("additive -1e9", "float64")]
    assert f64["weight_sum"] == pytest.approx(1.0)
    assert f64["max_dev_unmasked"] < 1e-6                   # as if nothing were masked
    engine = rows[("bool mask (-inf), engine", "float64")]
    assert engine["weight_sum"] == 0.0 and engine["max_dev_uniform"] == pytest.approx(1 / n)
    assert rows[("-inf, naive softmax", "float64")]["nan"] is True
    assert rows[("additive -1e9, naive", "float16")]["nan"] is True
    assert result["float16_neg_1e9"] == "-inf"
    assert result["float16_max"] == 65504.0
    assert math.isinf(float(result["float16_neg_1e9"]))


def test_renders_within_60_columns_small_and_large(result):
    text = render_text("masks", result)
    assert_fits(text)
    assert "■" in text and "Takeaway" in text
    assert_fits(render_text("masks", run("masks", n=32, lengths=[32, 3])))
