"""engine.loss against PyTorch (golden values: tests/fixtures/make_loss_fixtures.py) and a
per-position loop written from the definition."""

import math
from pathlib import Path

import numpy as np
import pytest

from engine.loss import cross_entropy, smoothed_targets

FIX = np.load(Path(__file__).parent.parent / "fixtures" / "loss_grads.npz")


def _loop(logits, targets, eps, ignore):
    total, n = 0.0, 0
    flat_l = logits.reshape(-1, logits.shape[-1])
    for row, t in zip(flat_l, targets.reshape(-1), strict=True):
        if t == ignore:
            continue
        lse = math.log(sum(math.exp(v) for v in row))
        logp = [v - lse for v in row]
        C = len(row)
        total += -sum(((1 - eps) * (c == t) + eps / C) * logp[c] for c in range(C))
        n += 1
    return total / n


@pytest.mark.parametrize("k", range(4))
def test_cross_entropy_matches_torch(k):
    ls, ii = FIX["ce_settings"][k]
    targets = np.where(FIX["ce_targets"] == -100, int(ii), FIX["ce_targets"])
    got = cross_entropy(FIX["ce_logits"], targets, label_smoothing=ls, ignore_index=int(ii))
    assert got == pytest.approx(FIX["ce_expected"][k], rel=1e-12)
    assert got == pytest.approx(_loop(FIX["ce_logits"], targets, ls, int(ii)), rel=1e-12)


def test_reduction_none_and_large_logits_match_torch():
    per = cross_entropy(FIX["ce_logits"], FIX["ce_targets"], 0.1, reduction="none")
    np.testing.assert_allclose(per, FIX["ce_none"], rtol=1e-12, atol=1e-14)
    got = cross_entropy(FIX["ce_big_logits"], np.array([1, 2]), label_smoothing=0.1)
    assert got == pytest.approx(float(FIX["ce_big_expected"]), rel=1e-12)


def test_every_target_ignored_is_nan_as_in_torch():
    assert math.isnan(cross_entropy(np.zeros((2, 3)), np.array([-100, -100])))


def test_smoothed_targets_rows_sum_to_one_and_match_the_formula():
    t = smoothed_targets(np.array([[0, 2], [1, 1]]), 3, 0.3)
    np.testing.assert_allclose(t.sum(-1), 1.0)
    assert t[0, 0, 0] == pytest.approx(1 - 0.3 + 0.1) and t[0, 0, 1] == pytest.approx(0.1)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="without the class axis"):
        cross_entropy(np.zeros((2, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="label_smoothing"):
        smoothed_targets(np.array([0]), 2, 1.5)
