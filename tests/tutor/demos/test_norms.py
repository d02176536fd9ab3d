import math

import numpy as np
import pytest

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import norms


@pytest.fixture(scope="module")
def result():
    return run("norms", layers=16, d=64, seq=8, batch=4, seed=2)


def test_batch_independence(result):
    assert result["ln_diff"] == 0.0 and result["rms_diff"] == 0.0
    assert result["bn_diff"] > 0.5
    assert result["ln_pad_diff"] == 0.0 and result["rms_pad_diff"] == 0.0
    assert result["bn_pad_diff"] > 0.1


def test_pre_norm_stream_grows_like_sqrt_depth_post_norm_stays_one(result):
    L = result["layers"][-1]
    # each He-scaled block adds about unit variance: RMS ~ sqrt(1 + l)
    assert result["rms_pre"][-1] == pytest.approx(math.sqrt(L + 1), rel=0.25)
    np.testing.assert_allclose(result["rms_post"][1:], 1.0, atol=1e-3)


def test_post_norm_last_block_gradient_is_larger(result):
    assert result["wgrad_post"][-1] > 2 * result["wgrad_pre"][-1]
    # pre-norm: each block's weight gradient shrinks as the stream it adds to grows
    assert result["wgrad_pre"][-1] < 0.5 * result["wgrad_pre"][0]


@pytest.mark.parametrize("position", ["pre", "post"])
def test_manual_backward_matches_finite_differences(position):
    rng = np.random.default_rng(0)
    weights = norms.init_stack(3, 6, rng)
    x = rng.standard_normal((2, 3, 6))
    r = rng.standard_normal((2, 3, 6))
    fb = norms.forward_backward(x, weights, position, r)
    h = 1e-6
    for layer in (0, 2):
        # perturb the stream entering `layer` and rerun the rest of the stack
        g = fb["grads"][layer]
        stream = fb["streams"][layer]
        u = rng.standard_normal(stream.shape)
        plus = norms.forward_backward(stream + h * u, weights[layer:], position, r)["loss"]
        minus = norms.forward_backward(stream - h * u, weights[layer:], position, r)["loss"]
        assert (plus - minus) / (2 * h) == pytest.approx(float(np.sum(g * u)), rel=1e-6)
    # and one weight: d loss / d W2 of block 1 along a random direction
    w1, w2 = weights[1]
    du = rng.standard_normal(w2.shape)
    lp = norms.forward_backward(x, [weights[0], (w1, w2 + h * du), weights[2]], position, r)
    lm = norms.forward_backward(x, [weights[0], (w1, w2 - h * du), weights[2]], position, r)
    fd = (lp["loss"] - lm["loss"]) / (2 * h)
    assert fd == pytest.approx(float(np.sum(fb["dw2"][1] * du)), rel=1e-6)
    assert fb["wgrads"][1] == pytest.approx(np.linalg.norm(fb["dw2"][1]))


def test_renders_within_60_columns(result):
    assert_fits(render_text("norms", result))
