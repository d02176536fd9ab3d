import math

import numpy as np
import pytest

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor import demos
from tutor.demos import scaling
from tutor.demos.registry import DEMOS
from tutor.errors import UsageError


@pytest.fixture(scope="module")
def result():
    return run("scaling", d_k=[4, 64, 1024], seed=3)


def test_unscaled_softmax_saturates_and_scaled_does_not(result):
    i = result["d_k"].index(1024)
    assert result["max_weight_raw"][i] > 0.9
    assert result["max_weight_scaled"][i] < 0.5
    # the raw entropy collapses far below the uniform log n; the scaled one stays near it
    assert result["entropy_raw"][i] < 0.1 * result["entropy_max"]
    assert result["entropy_scaled"][i] > 0.8 * result["entropy_max"]


def test_variance_of_q_dot_k_is_d_k_raw_and_one_scaled(result):
    for d, raw, scaled in zip(result["d_k"], result["var_raw"], result["var_scaled"],
                              strict=True):
        assert raw == pytest.approx(d, rel=0.15)
        assert scaled == pytest.approx(1.0, rel=0.15)


def test_gradient_signal_collapses_without_scaling(result):
    raw, scaled = result["jacobian_raw"], result["jacobian_scaled"]
    i = result["d_k"].index(1024)
    assert raw[i] < 0.5 * scaled[i]
    assert raw[i] < raw[result["d_k"].index(64)]           # falls as d_k grows
    assert max(scaled) / min(scaled) < 1.2                  # flat when scaled


def test_jacobian_matches_closed_form_and_finite_differences():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((3, 7)) * 3
    from engine.functional import softmax

    p = softmax(s)
    jac = scaling.softmax_jacobian(p)
    # closed form of the squared Frobenius norm: sum p^2 - 2 sum p^3 + (sum p^2)^2
    closed = np.sum(p**2, -1) - 2 * np.sum(p**3, -1) + np.sum(p**2, -1) ** 2
    np.testing.assert_allclose(np.linalg.norm(jac, axis=(-2, -1)) ** 2, closed, rtol=1e-12)
    h = 1e-6
    for j in range(7):
        e = np.zeros(7)
        e[j] = h
        fd = (softmax(s + e) - softmax(s - e)) / (2 * h)       # column j of the Jacobian
        np.testing.assert_allclose(jac[..., :, j], fd, atol=1e-8)


def test_entropy_of_uniform_is_log_n():
    assert scaling.entropy(np.full(64, 1 / 64)) == pytest.approx(math.log(64))


def test_same_seed_same_figures():
    a = run("scaling", d_k=[16], trials=20, seed=5)
    b = run("scaling", d_k=[16], trials=20, seed=5)
    assert a == b


def test_takeaway_quotes_the_numbers(result):
    assert f"{result['max_weight_raw'][-1]:.2f}" in result["takeaway"]


def test_renders_within_60_columns(result):
    text = render_text("scaling", result)
    assert_fits(text)
    assert "Takeaway" in text


def test_too_much_work_is_refused_with_the_largest_trials():
    with pytest.raises(UsageError, match=r"--trials .*largest --trials allowed is"):
        demos.prepare(DEMOS["scaling"], {"trials": 5000, "n_keys": 4096})


def test_jacobian_norm_without_the_matrix_equals_the_matrix_norm():
    from engine.functional import softmax

    p = softmax(np.random.default_rng(2).standard_normal((4, 50)) * 4)
    np.testing.assert_allclose(scaling.softmax_jacobian_norm(p),
                               np.linalg.norm(scaling.softmax_jacobian(p), axis=(-2, -1)),
                               rtol=1e-10)
