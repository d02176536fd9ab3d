"""quantize demo: storage bits by hand, one logit error recomputed with a hand-written
quantizer, and the outlier story's orderings."""

import numpy as np
import pytest

from engine.model import decoder
from engine.quantize import nf4_bits
from tests.tutor.demos import _helpers as helpers
from tutor import demos
from tutor.demos import quantize as demo
from tutor.demos.registry import DEMOS
from tutor.errors import UsageError


@pytest.fixture(scope="module")
def result():
    return helpers.run("quantize", seed=4)


def rows(result):
    return {(w["bits"], w["scheme"], w["group_size"]): w for w in result["weights"]}


def test_bits_per_weight_by_hand(result):
    d, f, v = 64, 256, 256
    shapes = [(d, d)] * 4 + [(d, f), (f, d)]
    mats = shapes * 2 + [(d, v)]                               # two blocks and the head
    n = sum(a * b for a, b in mats)
    w = rows(result)
    assert w[8, "absmax", None]["bits_per_weight"] == pytest.approx(8 + 32 * len(mats) / n)
    assert w[8, "zeropoint", None]["bits_per_weight"] == pytest.approx(8 + 64 * len(mats) / n)
    assert w[4, "absmax", 32]["bits_per_weight"] == pytest.approx(4 + 32 / 32)
    assert w[4, "zeropoint", 32]["bits_per_weight"] == pytest.approx(4 + 64 / 32)
    assert w[4, "nf4", 64]["bits_per_weight"] == pytest.approx(
        sum(nf4_bits(a * b) for a, b in mats) / n)


def test_int8_logit_error_recomputed_with_a_hand_written_quantizer(result):
    rng = np.random.default_rng(4)
    config, params = demo._model(rng)                          # the demo's model and tokens
    ids = rng.integers(0, demo.VOCAB, size=demo.TOKENS)
    quantized = dict(params)
    for name, w in params.items():
        if w.ndim == 2 and (name.startswith("blocks.") or name == "lm_head"):
            s = float(np.float32(np.abs(w).max() / 127))
            quantized[name] = np.round(w / s) * s
    ref, out = decoder(ids, params, config), decoder(ids, quantized, config)
    err = np.linalg.norm(out - ref) / np.linalg.norm(ref - ref.mean(-1, keepdims=True))
    assert rows(result)[8, "absmax", None]["logit_rel_error"] == pytest.approx(err, rel=1e-9)


def test_fewer_bits_and_bigger_groups_cost_more(result):
    w = rows(result)
    for scheme in ("absmax", "zeropoint"):
        assert w[8, scheme, 32]["logit_rel_error"] < w[8, scheme, None]["logit_rel_error"] \
            < w[4, scheme, 32]["logit_rel_error"] < w[4, scheme, None]["logit_rel_error"]
    one = {(r["bits"], r["scheme"]): r["rel_error"] for r in result["one_sided"]}
    assert one[4, "zeropoint"] < one[4, "absmax"] and one[8, "zeropoint"] < one[8, "absmax"]
    assert result["activation_min"] > -0.2          # GELU's minimum is about -0.17


def test_outlier_fixes(result):
    o = result["outlier"]
    assert o["outlier_columns"] == [o["channel"]]
    err = [m["rel_error"] for m in o["methods"]]
    tensor, vector, llm_int8, w4, awq = err
    assert llm_int8 < vector < tensor and tensor > 2 * o["clean_rel_error"]
    assert awq < w4 and o["awq_errors"][0] == pytest.approx(w4)   # alpha = 0 is no scaling
    assert min(o["awq_errors"]) == pytest.approx(awq)
    assert o["awq_alphas"][0] == 0 and o["awq_alphas"][-1] == 1


def test_group_size_must_divide_the_width():
    with pytest.raises(UsageError, match="--group-size 24 must divide"):
        demos.prepare(DEMOS["quantize"], {"group_size": 24})
