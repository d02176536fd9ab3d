"""Optimizer formulas against a simulated Adam, the engine's accounting and NumPy norms."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


@pytest.mark.parametrize("beta", [0.9, 0.95, 0.999])
def test_bias_correction_recovers_a_constant_gradient(beta):
    # Adam's moment starts at 0; with a constant gradient g the corrected moment is g exactly
    g, m = 0.37, 0.0
    for step in range(1, 60):
        m = beta * m + (1 - beta) * g
        corrected = m * value("optimizers.bias_correction", beta=beta, step=step)
        assert corrected == pytest.approx(g)


def test_bias_correction_first_step_and_limit():
    assert value("optimizers.bias_correction", beta=0.999, step=1) == pytest.approx(1000)
    assert value("optimizers.bias_correction", beta=0.9, step=10_000) == pytest.approx(1.0)


def test_state_bytes_agree_with_the_engine_and_by_hand():
    from engine.accounting import training_memory

    n = 7_000_000_000
    for opt in ("sgd", "momentum", "adam", "adamw"):
        assert value("optimizers.state_bytes", params_b=7, optimizer=opt) == \
            training_memory(n, "mixed", opt).optimizer_states
    assert value("optimizers.state_bytes", params_b=7, optimizer="adam") == 56e9
    assert value("optimizers.state_bytes", params_b=7, optimizer="lion") == 28e9
    assert value("optimizers.state_bytes", params_b=7, optimizer="adam-8bit") == 14e9
    with pytest.raises(ValueError, match="not one of"):
        value("optimizers.state_bytes", params_b=7, optimizer="rmsprop2")


def test_clip_scale_matches_numpy_global_norm():
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=s) * 3 for s in [(4, 5), (7,), (3, 3, 2)]]
    norms = ",".join(f"{np.linalg.norm(g):.17g}" for g in grads)
    flat = np.concatenate([g.ravel() for g in grads])
    scale = value("optimizers.clip_scale", norms=norms, max_norm=1.0)
    assert scale == pytest.approx(1.0 / np.linalg.norm(flat))
    assert np.linalg.norm(flat * scale) == pytest.approx(1.0)
    # below the threshold nothing changes
    assert value("optimizers.clip_scale", norms="0.3,0.4", max_norm=1.0) == 1.0


def test_mup_keeps_lr_times_width_fixed():
    base = value("optimizers.mup_hidden_lr", base_lr=0.01, base_width=256, width=256)
    assert base == pytest.approx(0.01)
    for width in (512, 1024, 8192):
        lr = value("optimizers.mup_hidden_lr", base_lr=0.01, base_width=256, width=width)
        assert lr * width == pytest.approx(0.01 * 256)


def test_clip_scale_sum_switch_adds_the_norms():
    assert value("optimizers.clip_scale", norms="3,4,12", max_norm=1.0,
                 combine="sum") == pytest.approx(1 / 19)
    assert value("optimizers.clip_scale", norms="3,4,12", max_norm=1.0) == pytest.approx(1 / 13)
