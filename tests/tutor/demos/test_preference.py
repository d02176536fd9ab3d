"""preference demo: DPO at the reference by formula, the gradient check, GRPO's normalisation
by hand, and the KL estimators within their standard errors of the exact KL."""

import math

import numpy as np
import pytest

from tests.tutor.demos import _helpers as helpers


@pytest.fixture(scope="module")
def result():
    return helpers.run("preference", seed=5)


def test_dpo_at_the_reference_and_after_training(result):
    rows = sorted(result["betas"], key=lambda r: r["beta"])
    for r in rows:
        assert r["loss_init"] == pytest.approx(math.log(2))
        assert r["loss_final"] < r["loss_init"] and r["margin"] > 0
    # at the reference every weight sigmoid(0) = 1/2, so the gradient is exactly beta x const
    per_beta = [r["grad_norm_init"] / r["beta"] for r in rows]
    np.testing.assert_allclose(per_beta, per_beta[0], rtol=1e-12)
    assert rows[0]["kl"] > rows[-1]["kl"]                 # small beta drifts further
    assert result["grad_check_error"] < 1e-6


def test_grpo_advantages_by_hand(result):
    g = result["grpo"]
    r = np.array(g["rewards"])
    np.testing.assert_allclose(g["advantages"], (r - r.mean()) / (r.std() + 1e-4))
    assert np.mean(g["advantages"]) == pytest.approx(0, abs=1e-12)
    b = np.array(g["binary_rewards"])
    assert set(b) == {0.0, 1.0}
    np.testing.assert_allclose(g["binary_advantages"], (b - b.mean()) / (b.std() + 1e-4))


def test_kl_estimators_within_their_standard_errors(result):
    k = result["kl"]
    n = k["samples"]
    for name in ("k1", "k3"):                             # unbiased
        e = k["estimators"][name]
        assert abs(e["mean"] - k["exact"]) < 5 * e["std"] / math.sqrt(n)
    assert k["estimators"]["k3"]["negative_share"] == 0.0
    assert k["estimators"]["k2"]["negative_share"] == 0.0
    assert k["estimators"]["k1"]["negative_share"] > 0


def test_kl_regularised_optimum_trades_reward_for_closeness(result):
    o = sorted(result["optimum"], key=lambda x: x["beta"])
    kls, rewards = [x["kl"] for x in o], [x["reward"] for x in o]
    assert kls == sorted(kls, reverse=True) and rewards == sorted(rewards, reverse=True)
