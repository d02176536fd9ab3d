"""speculative demo: the output distribution is the target's (total variation), acceptance
against sum min(p, q), the step counts against the per-step record, and an exact draft."""

import numpy as np
import pytest

from engine.functional import softmax
from engine.model import decoder
from tests.tutor.demos import _helpers as helpers
from tutor import demos
from tutor.demos.registry import DEMOS
from tutor.demos.speculative import build_models
from tutor.errors import UsageError


@pytest.fixture(scope="module")
def result():
    return helpers.run("speculative")


def test_speculative_draws_follow_the_target(result):
    assert result["draws"] == 200_000
    assert result["tv_distance"] <= 0.02
    # as close as direct sampling from p gets, and far closer than the draft's own q
    assert result["tv_distance"] < 2.5 * result["tv_direct"] + 0.005
    assert result["tv_draft"] > 10 * result["tv_distance"]
    # accepted share of the first-token draws against sum min(p, q): 4 binomial sd ~ 0.005
    assert result["first_acceptance"] == pytest.approx(result["first_alpha"], abs=0.005)


def test_first_token_distributions_rebuilt_from_the_seed(result):
    rng = np.random.default_rng(0)
    config, params, d_config, d_params, prompt = build_models(rng, "noise", 0.5)
    p = softmax(decoder(prompt, params, config)[-1])
    q = softmax(decoder(prompt, d_params, d_config)[-1])
    assert result["first_alpha"] == pytest.approx(np.minimum(p, q).sum(), rel=1e-12)
    assert result["tv_draft"] == pytest.approx(0.5 * np.abs(p - q).sum(), rel=1e-12)


def test_counts_and_formula_from_the_per_step_record(result):
    acc = np.array(result["accepted_per_step"])
    g = result["gamma"]
    assert result["target_calls"] == acc.size and result["draft_calls"] == g * acc.size
    assert acc.sum() + acc.size >= result["plain_target_calls"] == len(result["generated"])
    a = acc.sum() / np.minimum(acc + 1, g).sum()
    assert result["acceptance"] == pytest.approx(a)
    assert result["tokens_per_call"] == pytest.approx((acc + 1).mean())
    assert result["formula_tokens_per_call"] == pytest.approx((1 - a ** (g + 1)) / (1 - a))
    assert 0.2 < a < 0.95                           # neither always nor never accepted
    s = next(x for x in result["sweep"] if x["gamma"] == 3)
    c = result["costs"][1]
    assert s["speedup"][1] == pytest.approx((1 - a ** 4) / ((1 - a) * (3 * c + 1)))


def test_a_noiseless_draft_is_always_accepted():
    r = helpers.run("speculative", noise=0.0, tokens=20, gamma=3, draws=1000)
    assert r["acceptance"] == 1.0 and r["tv_draft"] == 0.0
    assert r["accepted_per_step"] == [3] * len(r["accepted_per_step"])
    assert r["tokens_per_call"] == 4.0 == r["formula_tokens_per_call"]


def test_shallow_draft_is_cheaper_and_still_exact():
    r = helpers.run("speculative", draft="shallow", tokens=24, draws=100_000)
    assert r["model"]["draft_layers"] == 1 and 0.4 < r["cost_ratio"] < 1
    assert r["tv_distance"] <= 0.02


def test_too_much_work_is_refused():
    with pytest.raises(UsageError, match="largest --tokens allowed is 141"):
        demos.prepare(DEMOS["speculative"], {"tokens": 400, "gamma": 16})


def test_prefix_cache_gives_the_recomputed_distributions_through_rollbacks():
    from tutor.demos.speculative import PrefixCached

    rng = np.random.default_rng(3)
    config, params, *_ = build_models(rng, "noise", 0.5)
    cached = PrefixCached(params, config)
    ids = rng.integers(0, 64, size=30)
    # grow, fall back (rejected drafts), branch off, grow again, go back to a prefix
    for n, tail in ((8, None), (12, None), (10, [5, 6, 7]), (20, None), (9, None)):
        seq = ids[:n] if tail is None else np.concatenate([ids[:n], tail])
        plain = softmax(decoder(seq, params, config), axis=-1)
        np.testing.assert_allclose(cached(seq), plain, rtol=1e-9, atol=1e-12)
