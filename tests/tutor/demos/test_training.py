import math

import numpy as np
import pytest

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import training


@pytest.fixture(scope="module")
def result():
    return run("training", warmup=4000, steps=100000, d_model=512, smoothing=0.1, classes=10)


def test_inverse_sqrt_peaks_at_warmup_with_the_closed_form_value(result):
    assert result["inverse_sqrt_peak_step"] == 4000
    assert result["inverse_sqrt_peak"] == pytest.approx(512**-0.5 * 4000**-0.5, rel=1e-12)
    assert result["cosine_peak_step"] == 4000
    assert result["cosine_peak"] == pytest.approx(result["inverse_sqrt_peak"])


def test_schedules_against_the_formulas():
    # independent route: the paper's formula written out per step in plain Python
    for step in (1, 10, 3999, 4000, 4001, 50000):
        expected = 512**-0.5 * min(step**-0.5, step * 4000**-1.5)
        assert training.inverse_sqrt(np.array([step]), 512, 4000)[0] == pytest.approx(expected)
    lr = training.cosine(np.array([0, 2000, 4000, 52000, 100000]), 1.0, 4000, 100000)
    np.testing.assert_allclose(lr, [0.0, 0.5, 1.0, 0.55, 0.1], atol=1e-12)


def test_label_smoothing_targets_and_minimum(result):
    assert result["target_true"] == pytest.approx(1 - 0.1 + 0.01)
    assert result["target_other"] == pytest.approx(0.01)
    t = np.array([0.91] + [0.01] * 9)
    entropy = -float(np.sum(t * np.log(t)))
    assert result["target_entropy"] == pytest.approx(entropy)
    assert result["min_smoothed_ce"] == pytest.approx(entropy, abs=1e-6)
    m = result["best_margin"]
    assert m == pytest.approx(math.log(0.91 / 0.01))
    i = result["margins"].index(m)
    assert result["smoothed_ce"][i] == pytest.approx(entropy, rel=1e-9)   # via log_softmax
    assert result["p_true"][i] == pytest.approx(0.91)


def test_confident_prediction_plain_ce_vanishes_smoothed_ce_grows(result):
    i20 = result["margins"].index(20.0)
    # plain CE at margin m: log(1 + 9 e^-m), computed independently
    assert result["ce"][i20] == pytest.approx(math.log1p(9 * math.exp(-20)), rel=1e-9)
    assert result["ce"][i20] < 1e-6
    assert result["smoothed_ce"][i20] > 3 * result["target_entropy"]


def test_warmup_must_be_below_steps():
    from tutor import demos
    from tutor.demos.registry import DEMOS
    from tutor.errors import UsageError

    with pytest.raises(UsageError, match="largest --warmup allowed is 9"):
        demos.prepare(DEMOS["training"], {"warmup": 10, "steps": 10})


def test_renders_within_60_columns(result):
    assert_fits(render_text("training", result))
    assert_fits(render_text("training", run("training", smoothing=0.0, classes=100000)))
