"""mixed-precision demo: limits against the format definitions, fp16 behaviour against NumPy's
float16 on the same gradients, and the loss-scale window worked out by hand."""

from types import SimpleNamespace

import numpy as np
import pytest

from tests.tutor.demos import _helpers as helpers
from tutor import demos
from tutor.demos._timing import one_blas_thread
from tutor.demos.mixed_precision import _gradients
from tutor.demos.registry import DEMOS
from tutor.errors import UsageError


@pytest.fixture(scope="module")
def result():
    return helpers.run("mixed-precision", seed=2)


@pytest.fixture(scope="module")
def grads(result):
    p = SimpleNamespace(**result["params"])
    with one_blas_thread():          # as the demo runs it: the same float32 summation order
        return _gradients(p, np.random.default_rng(p.seed))


def test_limits(result):
    f = {x["name"]: x for x in result["formats"]}
    assert f["fp16"]["max_finite"] == f["fp16"]["max_from_patterns"] == 65504
    assert f["fp16"]["min_subnormal"] == f["fp16"]["min_from_patterns"] == 2.0 ** -24
    assert f["fp8-e4m3"]["max_from_patterns"] == 448 and f["fp8-e5m2"]["max_finite"] == 57344
    assert f["bf16"]["max_from_patterns"] == (2 - 2 ** -7) * 2.0 ** 127
    assert f["bf16"]["min_normal"] == f["fp32"]["min_normal"] == 2.0 ** -126
    assert f["bf16"]["epsilon"] == 2 ** -7 and f["fp16"]["epsilon"] == 2 ** -10


def test_single_values(result):
    ex = {x["what"]: x for x in result["examples"]}
    for x in result["examples"]:
        with np.errstate(over="ignore"):
            expected = float(np.float16(x["value"]))                # NumPy's own rounding
        assert x["fp16"] == (None if np.isinf(expected) else expected)
    assert ex["overflows fp16"]["fp16"] is None and ex["overflows fp16"]["bf16"] == 65536
    assert ex["exp(12), a softmax term"]["bf16"] == 159 * 1024  # bf16 steps of 2^(17-7)
    assert ex["weight 1 + update 1e-3"]["bf16"] == 1.0          # below half of 2^-7
    assert ex["half of it (a tie)"]["fp16"] == 0.0              # tie to the even zero
    b = result["bf16_rounding"]
    assert b["nearest_even"] == 0.333984375 and b["truncated"] == 0.33203125


def test_loss_scaling_against_numpy_float16(result, grads):
    nonzero = grads != 0
    assert result["gradient"]["share_below_fp16_subnormal"] == pytest.approx(
        np.mean(np.abs(grads[nonzero]) < 2.0 ** -24))
    for row in result["loss_scale"]:
        s = 2.0 ** row["log2_scale"]
        with np.errstate(over="ignore"):
            half = (grads * s).astype(np.float16).astype(np.float64) / s
        assert row["overflow"] == bool(np.isinf(half).any())
        assert row["zero_share"] == pytest.approx(np.mean(half[nonzero] == 0))
        if not row["overflow"]:
            err = np.mean(np.abs(half - grads)[nonzero] / np.abs(grads[nonzero]))
            assert row["rel_error"] == pytest.approx(err, rel=1e-9)
    zero = [r["zero_share"] for r in result["loss_scale"]]
    assert zero[0] > 0.9 and zero == sorted(zero, reverse=True)
    assert result["bf16_gradient"]["zero_share"] == 0.0


def test_dynamic_scaler_settles_on_the_largest_scale_that_does_not_overflow(result, grads):
    amax = np.abs(grads).max()
    logs = result["dynamic"]
    first_clean = next(d["log2_scale"] for d in logs if not d["overflow"])
    with np.errstate(over="ignore"):
        assert np.isfinite(np.float16(amax * 2.0 ** first_clean))
        assert np.isinf(np.float16(amax * 2.0 ** (first_clean + 1)))
    assert [d["log2_scale"] for d in logs[:3]] == [32, 31, 30]


def test_fp8_range_and_block_scales(result):
    r = {(x["format"], x["scaling"]): x for x in result["fp8"]}
    block = f"per {result['params']['block']}"
    e4, e5 = r["fp8-e4m3", "per tensor"], r["fp8-e5m2", "per tensor"]
    assert e5["zero_share"] < e4["zero_share"]             # E5M2's wider range
    assert r["fp8-e4m3", block]["zero_share"] < e4["zero_share"]
    assert r["fp8-e4m3", block]["rel_error"] < e4["rel_error"]


def test_block_must_divide_the_vocabulary():
    with pytest.raises(UsageError, match="--block 7 must divide --vocab 32000"):
        demos.prepare(DEMOS["mixed-precision"], {"block": 7})
