import math
from types import SimpleNamespace

import numpy as np

from engine.attention import additive_attention
from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import additive


def _loop_additive(x, w_q, w_k, v_a):
    """Bahdanau scores one pair at a time, counting every operation."""
    n, d_a = len(x), w_q.shape[1]
    scores, ops = np.zeros((n, n)), 0
    hq, hk = x @ w_q, x @ w_k
    for i in range(n):
        for j in range(n):
            s = 0.0
            for a in range(d_a):
                s += v_a[a] * math.tanh(hq[i, a] + hk[j, a])
                ops += 4                                   # add, tanh, multiply, accumulate
            scores[i, j] = s
    w = np.exp(scores - scores.max(1, keepdims=True))
    return w / w.sum(1, keepdims=True), ops


def test_engine_additive_matches_a_loop_and_op_count():
    a = additive.build(9, 6, np.random.default_rng(1))
    _, w = additive_attention(a["x"], a["x"], a["x"], a["w_q"], a["w_k"], a["v_a"],
                              return_weights=True)
    ref, ops = _loop_additive(a["x"], a["w_q"], a["w_k"], a["v_a"])
    np.testing.assert_allclose(w, ref, rtol=1e-12, atol=1e-15)
    assert additive.op_counts(9, 9, 6, 6)["additive"] == ops
    dot_ops = sum(2 for _ in range(9) for _ in range(9) for _ in range(6))
    assert additive.op_counts(9, 9, 6, 6)["dot"] == dot_ops


def test_demo_weights_and_correlation():
    r = run("additive", seed=4, n=12, d=8)
    a = additive.build(12, 8, np.random.default_rng(4))
    q, k = a["x"] @ a["w_q"], a["x"] @ a["w_k"]
    s = q @ k.T / math.sqrt(8)
    e = np.exp(s - s.max(1, keepdims=True))
    w_dot = e / e.sum(1, keepdims=True)
    w_add, _ = _loop_additive(a["x"], a["w_q"], a["w_k"], a["v_a"])
    np.testing.assert_allclose(r["weights_dot"], w_dot, rtol=1e-10)
    np.testing.assert_allclose(r["weights_additive"], w_add, rtol=1e-10)
    assert math.isclose(r["correlation"], np.corrcoef(w_dot.ravel(), w_add.ravel())[0, 1],
                        rel_tol=1e-9)
    assert r["ops"]["additive"] == 2 * r["ops"]["dot"]        # d_a = d: 4n^2 d vs 2n^2 d
    assert [t["n"] for t in r["timing"]] == [12, 64, 128]


def test_check_names_largest_n():
    msg = additive.check(SimpleNamespace(n=2048, d=1024))
    assert msg and "--n 2048" in msg and "the largest --n allowed with these is 128" in msg
    assert additive.additive_bytes(128, 1024) <= additive.BUDGET_BYTES < \
        additive.additive_bytes(129, 1024)
    assert additive.check(SimpleNamespace(n=16, d=32)) is None


def test_renders_in_60_columns():
    assert_fits(render_text("additive", run("additive")))
