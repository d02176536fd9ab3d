"""Bahdanau additive attention against scaled dot-product attention: cost and weights.

Additive attention scores every query-key pair with a one-hidden-layer network,
v_a . tanh(q_i W_q + k_j W_k), so it builds an n x n x d_a tensor and takes a
tanh of every entry. Dot-product attention scores a pair with one dot product,
and all pairs at once are one matrix multiplication, which BLAS runs near peak.
Both give a softmax distribution over the keys for every query; the demo feeds
them the same input and the same W_q, W_k and compares the patterns.

JSON keys:
    n, d, d_a: sequence length, width, additive hidden size (d_a = d).
    ops: {"dot": ..., "additive": ...} operation counts of the scores at n (see `op_counts`).
    op_formula: the formulas as text.
    timing: list of {n, dot_seconds, additive_seconds, dot_ops, additive_ops}
        (measured times vary run to run; median of 3).
    weights_dot, weights_additive: the n x n weight matrices (first 24 tokens).
    correlation: Pearson correlation of the two full weight matrices.
    row_tv: mean total-variation distance between matching rows (0 = same, 1 = disjoint).
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import math

import numpy as np

from tutor.demos._timing import wall_times

BUDGET_BYTES = 2**28   # 256 MiB: the pairwise tensor, and a tanh over it that takes seconds
TIMING_SIZES = (64, 128)
SHOWN = 24
REPEATS = 3


def op_counts(n_q: int, n_k: int, d: int, d_a: int) -> dict[str, int]:
    """Operations to score every pair (projections excluded: both need them).

    dot: one multiply and one add per dimension per pair: 2 n_q n_k d.
    additive: per pair and hidden unit an add (q W_q + k W_k), a tanh, and a
    multiply-add with v_a: 4 n_q n_k d_a; plus the projections of the
    queries and keys into d_a, which dot-product attention also pays.
    """
    return {"dot": 2 * n_q * n_k * d, "additive": 4 * n_q * n_k * d_a}


def additive_bytes(n: int, d_a: int) -> int:
    return 2 * n * n * d_a * 8   # the pairwise sum and its tanh, float64


def check(p) -> str | None:
    from tutor.demos._bounds import largest

    if additive_bytes(p.n, p.d) > BUDGET_BYTES:
        most = largest(2, p.n, lambda n: additive_bytes(n, p.d) <= BUDGET_BYTES)
        return (f"--n {p.n} with --d {p.d} needs {additive_bytes(p.n, p.d) / 2**30:.1f} GiB "
                f"for additive attention's n x n x d tensor; the largest --n allowed with "
                f"these is {most}")
    return None


def build(n: int, d: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Input x (n, d) and the projections shared by both kinds of attention."""
    return {"x": rng.standard_normal((n, d)),
            "w_q": rng.standard_normal((d, d)) / math.sqrt(d),
            "w_k": rng.standard_normal((d, d)) / math.sqrt(d),
            "v_a": rng.standard_normal(d) / math.sqrt(d)}


def both(a: dict[str, np.ndarray]):
    """(dot-product weights, additive weights), each (n, n)."""
    from engine.attention import additive_attention, scaled_dot_product_attention

    x = a["x"]
    q, k = x @ a["w_q"], x @ a["w_k"]
    _, w_dot = scaled_dot_product_attention(q, k, x, return_weights=True)
    _, w_add = additive_attention(x, x, x, a["w_q"], a["w_k"], a["v_a"], return_weights=True)
    return w_dot, w_add


def _median_time(fn, repeats: int = REPEATS) -> float:
    return float(np.median(wall_times(fn, repeats)))


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.attention import additive_attention, scaled_dot_product_attention

    n, d = p.n, p.d
    a = build(n, d, rng)
    w_dot, w_add = both(a)
    corr = float(np.corrcoef(w_dot.ravel(), w_add.ravel())[0, 1])
    row_tv = float(0.5 * np.abs(w_dot - w_add).sum(-1).mean())

    timing = []
    sizes = sorted({*TIMING_SIZES, n})
    for m in progress(sizes, total=len(sizes), description="timing"):
        t = build(m, d, rng)
        q, k, x = t["x"] @ t["w_q"], t["x"] @ t["w_k"], t["x"]
        dot_s = _median_time(lambda q=q, k=k, x=x: scaled_dot_product_attention(q, k, x))
        add_s = _median_time(lambda t=t, x=x: additive_attention(x, x, x, t["w_q"], t["w_k"],
                                                                 t["v_a"]))
        ops = op_counts(m, m, d, d)
        timing.append({"n": m, "dot_seconds": dot_s, "additive_seconds": add_s,
                       "dot_ops": ops["dot"], "additive_ops": ops["additive"]})
    big = timing[-1]
    ops = op_counts(n, n, d, d)
    takeaway = (f"Additive scoring costs {ops['additive'] / ops['dot']:.0f}x the operations "
                f"(4n^2 d_a vs 2n^2 d) and, measured at n = {big['n']}, "
                f"{big['additive_seconds'] / big['dot_seconds']:.0f}x the time: a tanh per "
                f"pair per unit instead of one matmul. Same input, different patterns "
                f"(correlation {corr:.2f}); dot-product wins on speed, with 1/sqrt(d_k) "
                f"keeping it as good at large d.")
    m = min(n, SHOWN)
    return {
        "n": n, "d": d, "d_a": d, "ops": ops,
        "op_formula": {"dot": "2 n^2 d", "additive": "4 n^2 d_a"},
        "timing": timing,
        "weights_dot": w_dot[:m, :m], "weights_additive": w_add[:m, :m],
        "correlation": corr, "row_tv": row_tv,
        "takeaway": takeaway,
    }


def render(result: dict):
    from tutor.demos import _viz

    rows = [[str(t["n"]), _viz.fmt(t["dot_ops"]), _viz.fmt(t["additive_ops"]),
             f"{t['dot_seconds'] * 1e3:.2f}", f"{t['additive_seconds'] * 1e3:.2f}"]
            for t in result["timing"]]
    cost = _viz.table(["n", "dot ops", "add. ops", "dot ms", "add. ms"], rows,
                      title=f"Scoring cost, d = d_a = {result['d']}: 2n^2 d vs 4n^2 d_a")
    m = len(result["weights_dot"])
    maps = _viz.side_by_side(
        _viz.mini_heatmap(result["weights_dot"], title="dot-product", vmin=0),
        _viz.mini_heatmap(result["weights_additive"], title="additive", vmin=0), gap=3)
    stats = _viz.Text(f"correlation {result['correlation']:.2f}; mean row total-variation "
                      f"distance {result['row_tv']:.2f}")
    return _viz.view("additive vs dot-product attention", cost,
                     _viz.heading(f"Weights on the same input (first {m} tokens)"), maps,
                     stats, takeaway=result["takeaway"])
