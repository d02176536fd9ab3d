import math
from types import SimpleNamespace

import numpy as np

from engine.accounting import attention_params
from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import heads


def _per_head_weights(x, w_q, w_k, h):
    """Each head by hand: its slice of the projections, softmax(q k^T / sqrt(d_head))."""
    d = x.shape[1]
    dh = d // h
    out = []
    for i in range(h):
        q = x @ w_q[:, i * dh:(i + 1) * dh]
        k = x @ w_k[:, i * dh:(i + 1) * dh]
        s = q @ k.T / math.sqrt(dh)
        e = np.exp(s - s.max(1, keepdims=True))
        out.append(e / e.sum(1, keepdims=True))
    return np.array(out)


def test_same_parameter_count():
    r = run("heads", seed=0, d_model=64, heads=8, n=32)
    p = SimpleNamespace(d_model=64, heads=8, n=32)
    _, multi, single, _ = heads.build(p, np.random.default_rng(0))
    assert sum(a.size for a in multi.values()) == sum(a.size for a in single.values())
    assert r["params_multi"] == r["params_single"] == 4 * 64 * 64 == r["params_formula"]
    assert r["params_engine"] == attention_params(64, n_head=1, bias=False)


def test_entropies_match_direct_recomputation_and_differ():
    r = run("heads", seed=5, d_model=32, heads=4, n=20)
    x, multi, single, gains = heads.build(SimpleNamespace(d_model=32, heads=4, n=20),
                                          np.random.default_rng(5))
    w = _per_head_weights(x, multi["attn.w_q"], multi["attn.w_k"], 4)
    ent = -(w * np.log(w)).sum(-1).mean(-1)
    dist = (w * np.abs(np.arange(20)[:, None] - np.arange(20))).sum(-1).mean(-1)
    np.testing.assert_allclose([h["entropy"] for h in r["per_head"]], ent, rtol=1e-10)
    np.testing.assert_allclose([h["mean_distance"] for h in r["per_head"]], dist, rtol=1e-10)
    w1 = _per_head_weights(x, single["attn.w_q"], single["attn.w_k"], 1)[0]
    assert math.isclose(r["single"]["entropy"], -(w1 * np.log(w1)).sum(-1).mean(),
                        rel_tol=1e-10)
    # the heads genuinely differ: sharpest vs broadest by more than a nat
    assert max(ent) - min(ent) > 1.0
    assert max(ent) <= math.log(20) + 1e-12


def test_check_and_render():
    assert "divisible" in heads.check(SimpleNamespace(d_model=64, heads=7, n=8))
    assert_fits(render_text("heads", run("heads")))
