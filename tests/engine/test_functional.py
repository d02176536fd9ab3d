"""Building blocks against math-module and hand-written references, plus properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.functional import (
    _erf,
    batch_norm,
    gelu,
    layer_norm,
    log_softmax,
    rms_norm,
    silu,
    softmax,
)

finite = st.floats(-50, 50, allow_nan=False, width=64)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 9)), elements=finite),
       st.floats(-100, 100))
def test_softmax_rows_sum_to_one_and_shift_invariant(x, c):
    p = softmax(x)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    assert np.all(p >= 0)
    np.testing.assert_allclose(softmax(x + c), p, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(np.exp(log_softmax(x)), p, rtol=1e-9, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 9)), elements=finite),
       st.floats(1e-3, 1e3), st.floats(-100, 100))
def test_layer_norm_is_invariant_to_scaling_and_shifting_its_input(x, a, c):
    from hypothesis import assume

    assume(np.all(np.std(x, axis=-1) > 1e-3))  # a constant row is all eps, not a property
    y = layer_norm(x, eps=0.0)
    np.testing.assert_allclose(layer_norm(a * x + c, eps=0.0), y, rtol=1e-7, atol=1e-7)
    # and each row comes out with mean 0 and variance 1, as the definition says
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-9)


def test_temperature_divides_the_logits():
    x = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    for t in (0.25, 1.0, 3.0):
        e = np.exp(x / t)
        np.testing.assert_allclose(softmax(x, temperature=t), e / e.sum(-1, keepdims=True))
        np.testing.assert_allclose(log_softmax(x, temperature=t),
                                   np.log(e / e.sum(-1, keepdims=True)))
    with pytest.raises(ValueError, match="temperature=0"):
        softmax(x, temperature=0)


def test_softmax_matches_math_exp_and_fully_masked_row():
    x = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 5.0]])
    p = softmax(x)
    z = sum(math.exp(v) for v in (1.0, 2.0, 3.0))
    np.testing.assert_allclose(p[0], [math.exp(v) / z for v in (1.0, 2.0, 3.0)], rtol=1e-15)
    assert np.array_equal(p[1], np.zeros(3))
    np.testing.assert_allclose(p[2], [1 / (1 + math.exp(5)), 0, 1 / (1 + math.exp(-5))])
    assert softmax(x.astype(np.float32)).dtype == np.float32


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-30, 30, 60001), [0.0, 1.0, -1.0, 8.0, -8.0, 1e-300]])
    want = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf(x), want, rtol=1e-15, atol=0)
    x32 = x.astype(np.float32)
    want32 = np.array([math.erf(v) for v in x32.astype(np.float64)])
    got32 = _erf(x32)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want32, rtol=1.2e-7, atol=0)
    assert np.isnan(_erf(np.array([np.nan]))[0])
    np.testing.assert_array_equal(_erf(np.array([np.inf, -np.inf])), [1.0, -1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_matches_math_erf(dtype):
    x = np.linspace(-12, 12, 20001).astype(dtype)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    got = gelu(x)
    assert got.dtype == dtype
    # Relative to the output scale: 1 + erf(x) cancels for very negative x in any route.
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_gelu_keeps_relative_accuracy_for_very_negative_inputs():
    x = np.linspace(-30.0, -5.0, 51)
    expected = [0.5 * v * math.erfc(-v / math.sqrt(2.0)) for v in x]
    np.testing.assert_allclose(gelu(x), expected, rtol=1e-13)
    assert gelu(np.array([-40.0]))[0] == 0.0 and np.isnan(gelu(np.array([np.nan]))[0])


def test_gelu_tanh_approximation_close_to_exact():
    x = np.linspace(-5, 5, 1001)
    assert np.max(np.abs(gelu(x, approximate="tanh") - gelu(x))) < 1e-3
    with pytest.raises(ValueError, match="approximate"):
        gelu(x, approximate="fast")


def test_silu_and_norms_against_formulas():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8))
    np.testing.assert_allclose(silu(x), x / (1 + np.exp(-x)), rtol=1e-15)
    g, b = rng.standard_normal(8), rng.standard_normal(8)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    np.testing.assert_allclose(layer_norm(x, g, b), (x - mu) / np.sqrt(var + 1e-5) * g + b,
                               rtol=1e-12)
    rms = np.sqrt((x**2).mean(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(rms_norm(x, g), x / rms * g, rtol=1e-12)


def test_log_softmax_of_a_fully_masked_row_is_the_log_of_softmax_zeros():
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.5, -np.inf, 2.0]])
    got = log_softmax(x)                          # no warning either: they are errors here
    np.testing.assert_array_equal(got[0], [-np.inf] * 3)
    assert softmax(x)[0].tolist() == [0, 0, 0]
    lse = math.log(math.exp(0.5) + math.exp(2.0))
    np.testing.assert_allclose(got[1], [0.5 - lse, -np.inf, 2.0 - lse], rtol=1e-15)


def _within_one_float16_ulp(got, want64):
    assert got.dtype == np.float16
    ulp = np.spacing(np.abs(want64).astype(np.float16)).astype(np.float64)
    assert np.all(np.abs(got.astype(np.float64) - want64) <= ulp), \
        np.abs(got.astype(np.float64) - want64).max()


def test_float16_is_computed_in_float32_and_rounded_once():
    # each result must be the float64 answer for the same float16 inputs, rounded to
    # float16 (within one ulp); statistics accumulated in float16 miss by many ulps
    rng = np.random.default_rng(8)
    x = (rng.normal(size=(4, 512)) * 0.5 + 30).astype(np.float16)      # a large mean
    g = (1 + 0.1 * rng.normal(size=512)).astype(np.float16)
    b = (0.1 * rng.normal(size=512)).astype(np.float16)
    x64, g64, b64 = (a.astype(np.float64) for a in (x, g, b))
    mean, var = x64.mean(-1, keepdims=True), x64.var(-1, keepdims=True)
    _within_one_float16_ulp(layer_norm(x, g, b), (x64 - mean) / np.sqrt(var + 1e-5) * g64 + b64)
    rms = np.sqrt((x64**2).mean(-1, keepdims=True) + 1e-6)
    _within_one_float16_ulp(rms_norm(x, g), x64 / rms * g64)
    x3 = x64[None]                                  # (batch 1, seq 4, d 512): per-feature stats
    m, v = x3.mean((0, 1), keepdims=True), x3.var((0, 1), keepdims=True)
    _within_one_float16_ulp(batch_norm(x[None]), (x3 - m) / np.sqrt(v + 1e-5))
    logits = (rng.normal(size=(3, 4000)) * 3).astype(np.float16)
    l64 = logits.astype(np.float64)
    e = np.exp(l64 - l64.max(-1, keepdims=True))
    _within_one_float16_ulp(softmax(logits), e / e.sum(-1, keepdims=True))
    _within_one_float16_ulp(softmax(logits, temperature=0.7),
                            softmax(l64, temperature=0.7))
    _within_one_float16_ulp(log_softmax(logits), np.log(e / e.sum(-1, keepdims=True)))
