from types import SimpleNamespace

import numpy as np

from engine.efficient import FEATURE_MAPS
from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import linear_attention as la


def test_associativity_by_an_independent_loop():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((40, 6)) for _ in range(3))
    phi = FEATURE_MAPS["elu1"]
    fq, fk = phi(q), phi(k)
    # out_i = sum_j (phi(q_i) . phi(k_j)) v_j, one pair at a time
    loop = np.array([sum((fq[i] @ fk[j]) * v[j] for j in range(40)) for i in range(40)])
    np.testing.assert_allclose((fq @ fk.T) @ v, loop, rtol=1e-10)
    np.testing.assert_allclose(fq @ (fk.T @ v), loop, rtol=1e-10)


def test_demo_claims():
    r = run("linear-attention", seed=0, n=256, d=16, features=[16, 256, 1024], ranks=[8, 64])
    assert r["associativity_max_diff"] < 1e-12
    assert r["normalised_max_diff"] < 1e-12
    assert r["flops"] == {"quadratic": 4 * 256 ** 2 * 16, "linear": 4 * 256 * 16 ** 2}
    perf = [x["error"] for x in r["performer"]]
    assert perf[-1] < perf[0] / 2                   # more features, smaller error
    lin = r["linformer"]
    assert lin[-1]["error_pooled"] < lin[0]["error_pooled"] / 2
    assert lin[-1]["error_random"] < lin[0]["error_random"]


def test_linformer_is_exact_at_full_rank():
    r = run("linear-attention", n=64, d=8, features=[16], ranks=[64])
    assert r["linformer"][0]["error_pooled"] < 1e-12     # pooling with rank n is the identity


def test_check_and_render():
    assert "the largest --ranks allowed is 64" in la.check(SimpleNamespace(
        n=64, d=8, ranks=[128], features=[16]))
    assert_fits(render_text("linear-attention", run("linear-attention")))
