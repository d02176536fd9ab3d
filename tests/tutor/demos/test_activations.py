import math

import pytest

from tests.tutor.demos._helpers import assert_fits, render_text, run


@pytest.fixture(scope="module")
def result():
    return run("activations", d_model=4096)


def _gelu(x):          # independent route: the definition with the standard library's erf
    return 0.5 * x * (1 + math.erf(x / math.sqrt(2)))


def _gelu_tanh(x):
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def test_values_match_the_definitions(result):
    for x, relu, g, gt, s in zip(result["points"], result["relu"], result["gelu_exact"],
                                 result["gelu_tanh"], result["silu"], strict=True):
        assert relu == max(x, 0.0)
        assert g == pytest.approx(_gelu(x), abs=1e-12)
        assert gt == pytest.approx(_gelu_tanh(x), abs=1e-12)
        assert s == pytest.approx(x / (1 + math.exp(-x)), abs=1e-12)


def test_tanh_approximation_error_is_the_true_maximum(result):
    at, err = result["max_tanh_error_at"], result["max_tanh_error"]
    assert err == pytest.approx(abs(_gelu_tanh(at) - _gelu(at)), rel=1e-9)
    # a coarse independent scan finds nothing larger
    scan = max(abs(_gelu_tanh(i / 100) - _gelu(i / 100)) for i in range(-800, 801))
    assert scan <= err * (1 + 1e-6)
    assert 1e-4 < err < 1e-3


def test_swiglu_matches_a_4x_ffn(result):
    d = 4096
    assert result["ffn_4x_params"] == 2 * d * 4 * d
    assert result["swiglu_exact_params"] == pytest.approx(8 * d * d)
    assert result["swiglu_hidden"] == 11008              # LLaMA-7B's published FFN size
    assert result["swiglu_params"] == 3 * d * 11008
    assert result["swiglu_ratio"] == pytest.approx(3 * 11008 / (8 * 4096))


def test_renders_within_60_columns(result):
    text = render_text("activations", result)
    assert_fits(text)
    assert "11,008" in text
