import math

import numpy as np
import pytest

from engine.attention import scaled_dot_product_attention
from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import residual


@pytest.fixture(scope="module")
def result():
    return run("residual", layers=32, d=32, steps=40, seed=4)


def test_plain_stack_gradient_vanishes_residual_does_not(result):
    gp, gr = result["grad_plain"], result["grad_residual"]
    assert gp[0] / gp[-1] < 1e-3
    assert gr[0] / gr[-1] > 0.5
    assert result["rms_plain"][-1] < 1e-2 < 1.0 < result["rms_residual"][-1]


def test_rnn_gradient_decays_attention_path_does_not(result):
    unit = next(x for x in result["rnn"] if x["gain"] == 1.0)["norms"]
    half = next(x for x in result["rnn"] if x["gain"] == 0.5)["norms"]
    assert unit[-1] < 1e-5 * unit[0]
    assert half[-1] < unit[-1]
    att = result["attention_norms"]
    assert min(att) > 1e-3 and max(att) / min(att) < 100      # no geometric decay in k


@pytest.mark.parametrize("res", [False, True])
def test_stack_backward_matches_finite_differences(res):
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((5, 5)) / math.sqrt(5) for _ in range(4)]
    x = rng.standard_normal((3, 5))
    r = rng.standard_normal((3, 5))
    s = residual.stack(x, weights, res, r)
    h = 1e-6
    for layer in (0, 2):
        u = rng.standard_normal(x.shape)
        xl = s["signals"][layer]
        plus = residual.stack(xl + h * u, weights[layer:], res, r)["loss"]
        minus = residual.stack(xl - h * u, weights[layer:], res, r)["loss"]
        assert (plus - minus) / (2 * h) == pytest.approx(float(np.sum(s["grads"][layer] * u)),
                                                         rel=1e-6)


def test_rnn_jacobian_product_matches_finite_differences():
    rng = np.random.default_rng(1)
    d, T = 4, 6
    w, u = rng.standard_normal((d, d)), rng.standard_normal((d, d)) / 2
    xs = rng.standard_normal((T, d))
    norms = residual.rnn_jacobian_norms(w, u, xs)

    def run_from(h, start):
        for x in xs[start:]:
            h = np.tanh(h @ w + x @ u)
        return h

    h = np.zeros(d)
    states = [h]
    for x in xs:
        h = np.tanh(h @ w + x @ u)
        states.append(h)
    k = 3                                                     # d h_T / d h_{T-3}
    eps = 1e-6
    jac = np.stack([(run_from(states[T - k] + eps * e, T - k) -
                     run_from(states[T - k] - eps * e, T - k)) / (2 * eps)
                    for e in np.eye(d)], axis=1)
    assert norms[k - 1] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-6)


def test_attention_jacobian_matches_finite_differences():
    rng = np.random.default_rng(2)
    n, d = 5, 3
    x = rng.standard_normal((n, d))
    wq, wk, wv = (rng.standard_normal((d, d)) for _ in range(3))
    jac = residual.attention_jacobians(x, wq, wk, wv)

    def out_last(x):
        return scaled_dot_product_attention((x[-1] @ wq)[None], x @ wk, x @ wv)[0]

    eps = 1e-6
    for j in (0, 2, n - 1):
        for i in range(d):
            e = np.zeros((n, d))
            e[j, i] = eps
            fd = (out_last(x + e) - out_last(x - e)) / (2 * eps)
            np.testing.assert_allclose(jac[j][:, i], fd, rtol=1e-6, atol=1e-8)


def test_renders_within_60_columns(result):
    assert_fits(render_text("residual", result))
