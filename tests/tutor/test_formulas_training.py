"""Training formulas against hand computations."""

from __future__ import annotations

import math

import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_noam_peak_transformer_base():
    # Vaswani et al. 2017: d_model 512, 4000 warmup steps
    assert value("training.noam_peak_lr", d_model=512, warmup=4000) == \
        pytest.approx(1 / math.sqrt(512 * 4000))
    assert value("training.noam_peak_lr", d_model=512, warmup=4000) == \
        pytest.approx(6.988e-4, rel=1e-3)


def test_noam_lr_both_phases():
    # During warmup the rate is linear in the step; after it, proportional to 1/sqrt(step)
    assert value("training.noam_lr", d_model=512, warmup=4000, step=1000) == \
        pytest.approx(1000 / (math.sqrt(512) * 4000**1.5))
    assert value("training.noam_lr", d_model=512, warmup=4000, step=16000) == \
        pytest.approx(1 / math.sqrt(512 * 16000))
    # at the end of warmup both branches agree with the peak
    assert value("training.noam_lr", d_model=1024, warmup=8000, step=8000) == \
        pytest.approx(value("training.noam_peak_lr", d_model=1024, warmup=8000))


def test_warmup_cosine():
    assert value("training.warmup_cosine_lr", peak_lr=3e-4, warmup=2000, total=100000,
                 step=500) == pytest.approx(3e-4 * 0.25)
    # halfway through the decay the cosine term is 1: midpoint of peak and floor
    assert value("training.warmup_cosine_lr", peak_lr=3e-4, warmup=2000, total=102000,
                 step=52000, min_lr=3e-5) == pytest.approx((3e-4 + 3e-5) / 2)


def test_label_smoothing_values():
    assert value("training.smoothed_target", smoothing=0.1, classes=10) == pytest.approx(0.91)
    assert value("training.smoothed_other", smoothing=0.1, classes=10) == pytest.approx(0.01)


def test_smoothed_min_loss_is_target_entropy():
    # K = 2, eps = 0.2: target (0.9, 0.1); entropy by hand
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert value("training.smoothed_min_loss", smoothing=0.2, classes=2) == pytest.approx(h)


def test_gelu_against_math_erf():
    for x in (-2.0, -0.5, 1.0, 3.0):
        assert value("training.gelu", x=x) == \
            pytest.approx(0.5 * x * (1 + math.erf(x / math.sqrt(2))), rel=1e-12)
    assert value("training.gelu", x=1.0) == pytest.approx(0.8413447, rel=1e-6)


def test_norm_outputs():
    # (3, 1, 0, 0): mean 1, variance (4 + 0 + 1 + 1) / 4 = 1.5
    assert value("training.layernorm_output", a=3, b=1, c=0, d=0) == \
        pytest.approx(2 / math.sqrt(1.5))
    # RMS: mean square (9 + 1) / 4 = 2.5
    assert value("training.rmsnorm_output", a=3, b=1, c=0, d=0) == \
        pytest.approx(3 / math.sqrt(2.5))
