"""engine.backward against PyTorch autograd (tests/fixtures/make_loss_fixtures.py) and
central finite differences of the forward functions."""

from pathlib import Path

import numpy as np

from engine.backward import layer_norm_backward, softmax_backward
from engine.functional import layer_norm, softmax

FIX = np.load(Path(__file__).parent.parent / "fixtures" / "loss_grads.npz")


def _numeric_grad(f, x, dy, h=1e-6):
    # d/dx of sum(f(x) * dy), one coordinate at a time
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = np.sum((f(xp) - f(xm)) * dy) / (2 * h)
    return g


def test_softmax_backward_matches_torch():
    np.testing.assert_allclose(softmax_backward(FIX["sm_y"], FIX["sm_dy"]), FIX["sm_dx"],
                               rtol=1e-12, atol=1e-14)


def test_softmax_backward_matches_finite_differences_on_any_axis():
    rng = np.random.default_rng(3)
    x, dy = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    for axis in (0, 1):
        got = softmax_backward(softmax(x, axis=axis), dy, axis=axis)
        np.testing.assert_allclose(got, _numeric_grad(lambda z, a=axis: softmax(z, axis=a), x, dy),
                                   rtol=1e-6, atol=1e-8)


def test_layer_norm_backward_matches_torch():
    dx, dg, db = layer_norm_backward(FIX["ln_x"], FIX["ln_g"], FIX["ln_dy"])
    np.testing.assert_allclose(dx, FIX["ln_dx"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dg, FIX["ln_dg"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, FIX["ln_db"], rtol=1e-10, atol=1e-12)


def test_layer_norm_backward_matches_finite_differences():
    rng = np.random.default_rng(4)
    x, g, dy = rng.standard_normal((2, 3, 4)), rng.standard_normal(4) + 1, rng.standard_normal(
        (2, 3, 4))
    b = np.zeros(4)
    dx, dg, db = layer_norm_backward(x, g, dy, eps=1e-3)
    np.testing.assert_allclose(dx, _numeric_grad(lambda z: layer_norm(z, g, b, 1e-3), x, dy),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dg, _numeric_grad(lambda z: layer_norm(x, z, b, 1e-3), g, dy),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 1)))
