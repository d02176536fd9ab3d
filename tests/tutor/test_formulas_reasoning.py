"""Voting and coverage formulas against simulation and hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_majority_vote_against_simulation():
    rng = np.random.default_rng(0)
    for p, n in [(0.6, 5), (0.4, 15), (0.7, 41), (0.55, 3)]:
        right = rng.random((60_000, n)) < p                       # (trials, n) samples
        simulated = float(np.mean(right.sum(axis=1) > n / 2))
        assert value("reasoning.majority_vote", p=p, n=n) == pytest.approx(simulated, abs=7e-3)


def test_majority_vote_by_hand_and_limits():
    # n = 3: p^3 + 3 p^2 (1 - p)
    assert value("reasoning.majority_vote", p=0.6, n=3) == pytest.approx(0.6**3 + 3 * 0.36 * 0.4)
    assert value("reasoning.majority_vote", p=0.6, n=1) == pytest.approx(0.6)
    # voting amplifies the side of 1/2 that p is on
    assert value("reasoning.majority_vote", p=0.6, n=101) > 0.97
    assert value("reasoning.majority_vote", p=0.4, n=101) < 0.03
    with pytest.raises(ValueError):
        value("reasoning.majority_vote", p=0.6, n=4)


def test_coverage_by_hand_and_by_simulation():
    assert value("reasoning.coverage", p=0.2, n=4) == pytest.approx(1 - 0.8**4)
    rng = np.random.default_rng(1)
    right = rng.random((60_000, 16)) < 0.05
    assert value("reasoning.coverage", p=0.05, n=16) == \
        pytest.approx(float(np.mean(right.any(axis=1))), abs=7e-3)
