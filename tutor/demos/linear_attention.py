"""Linear attention: (QK^T)V against Q(K^T V), and the Performer and Linformer approximations.

Without the softmax, attention is a product of three matrices, and matrix
products are associative: (phi(Q) phi(K)^T) V costs 2n^2 d + 2n^2 d FLOPs and
an n x n matrix, while phi(Q) (phi(K)^T V) costs 4 n d^2 and a d x d matrix.
The softmax breaks that; Performer restores it with random features whose dot
products estimate exp(q.k) (error falling like 1/sqrt(features)), and Linformer
compresses the n keys and values to k rows (exact at k = n).

The sequence is smooth (each dimension a normalised random walk), as nearby
tokens tend to be; Linformer's compression relies on that. Linformer is shown
with mean-pooling projections (rows average n/k consecutive tokens) and with
the untrained random projections it starts from; the paper learns E and F.

JSON keys:
    n, d: sequence length and head width.
    flops: {"quadratic": 4 n^2 d, "linear": 4 n d^2} at n; crossover_n: n = d.
    associativity_max_diff: max |(phi(Q)phi(K)^T)V - phi(Q)(phi(K)^T V)| / max |output|.
    normalised_max_diff: engine linear_attention against the same kernel normalised by hand.
    timing: list of {n, quadratic_seconds, linear_seconds} (measured; best of 3, which
        is least disturbed by other work on the machine).
    performer: list of {features, error} (relative Frobenius error vs softmax attention,
        mean over `SEEDS` draws of the features).
    linformer: list of {rank, error_pooled, error_random} (random: one draw of E, F).
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import numpy as np

from tutor.demos._timing import wall_times

SEEDS = 2
QK_SCALE = 0.5
TIMING_SIZES = (128, 1024)
REPEATS = 3


BUDGET_S = 6.0                   # estimated CPU seconds
BUDGET_BYTES = 700 * 2**20       # estimated peak memory
# float64 on one BLAS thread: time per matmul FLOP, and per exp or other elementwise pass
_NS_PER_FLOP, _NS_PER_ELEMENT = 0.1, 10.0


def estimate_s(n: int, d: int, features: list[int], ranks: list[int]) -> float:
    """CPU seconds: four n x n products with V (the two orders, the kernel by hand, exact
    softmax attention), the timings, SEEDS Performer runs per feature count (projections
    and features, n x m each) and one Linformer run per rank (n x r scores)."""
    sizes = sorted({*TIMING_SIZES, n})
    flops = 16 * n * n * d
    flops += sum(2 * REPEATS * (4 * m * m * d + 4 * m * d * d) for m in sizes)
    flops += sum(SEEDS * (8 * n * m * d + m * d * d) for m in features)
    flops += sum(8 * n * r * d for r in ranks)
    elements = 8 * n * n + sum(SEEDS * 8 * n * m for m in features)
    elements += sum(6 * n * r for r in ranks)
    return (flops * _NS_PER_FLOP + elements * _NS_PER_ELEMENT) * 1e-9


def peak_bytes(n: int, d: int, features: list[int], ranks: list[int]) -> int:
    """Four n x n float64 arrays at once, or a Performer run's n x m ones."""
    return 8 * max(4 * n * n, 6 * n * max(features), 4 * n * max(ranks)) + 8 * 8 * n * d


def check(p) -> str | None:
    big = [r for r in p.ranks if r > p.n]
    if big:
        return f"--ranks {big[0]} exceeds --n {p.n}; the largest --ranks allowed is {p.n}"
    if _fits(p.n, p.d, p.features, p.ranks):
        return None
    cost = (f"about {estimate_s(p.n, p.d, p.features, p.ranks):.0f} s of computing and "
            f"{peak_bytes(p.n, p.d, p.features, p.ranks) / 2**20:,.0f} MiB")
    from tutor.demos._bounds import largest

    top = max(p.features)
    most_n = largest(max(16, *p.ranks), p.n, lambda m: _fits(m, p.d, p.features, p.ranks))
    most_f = largest(1, top, lambda m: _fits(p.n, p.d, [min(f, m) for f in p.features],
                                              p.ranks))
    # suggest a smaller value of whichever option is further above its default
    if most_f is not None and (most_n is None or top / 1024 > p.n / 512):
        return (f"--features up to {top} with --n {p.n} and --d {p.d} would take {cost}; "
                f"the largest --features allowed with these is {most_f}")
    if most_n is not None:
        return (f"--n {p.n} with --d {p.d} and these --features and --ranks would take "
                f"{cost}; the largest --n allowed with these is {most_n}")
    return (f"--n {p.n} with --d {p.d} would take {cost} even with one feature; lower --n "
            "or --d")


def _fits(n: int, d: int, features: list[int], ranks: list[int]) -> bool:
    return (estimate_s(n, d, features, ranks) <= BUDGET_S
            and peak_bytes(n, d, features, ranks) <= BUDGET_BYTES)


def smooth(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Each column a random walk, centred and scaled to unit variance.  -> (n, d)"""
    w = np.cumsum(rng.standard_normal((n, d)), axis=0)
    w -= w.mean(0)
    return w / w.std(0)


def pooling(n: int, rank: int) -> np.ndarray:
    """(rank, n): row r averages the r-th of `rank` consecutive segments."""
    e = np.zeros((rank, n))
    for r, seg in enumerate(np.array_split(np.arange(n), rank)):
        e[r, seg] = 1.0 / len(seg)
    return e


def _best_time(fn) -> float:
    # the fastest run: OpenBLAS timings swing widely on a shared machine
    return float(np.min(wall_times(fn, REPEATS)))


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.attention import scaled_dot_product_attention
    from engine.efficient import (
        FEATURE_MAPS,
        linear_attention,
        linformer_attention,
        linformer_projections,
        performer_attention,
    )

    n, d = p.n, p.d
    phi = FEATURE_MAPS["elu1"]
    q, k = QK_SCALE * smooth(rng, n, d), QK_SCALE * smooth(rng, n, d)
    v = smooth(rng, n, d)
    fq, fk = phi(q), phi(k)
    quad = (fq @ fk.T) @ v                                   # (n, n) then (n, d)
    lin = fq @ (fk.T @ v)                                    # (d, d) then (n, d)
    assoc = float(np.max(np.abs(quad - lin)) / np.max(np.abs(quad)))
    kernel = fq @ fk.T
    by_hand = (kernel / kernel.sum(1, keepdims=True)) @ v
    normalised = float(np.max(np.abs(linear_attention(q, k, v) - by_hand)))

    timing = []
    sizes = sorted({*TIMING_SIZES, n})
    for m in progress(sizes, total=len(sizes), description="timing"):
        a, b, c = (rng.standard_normal((m, d)) for _ in range(3))
        timing.append({"n": m, "quadratic_seconds": _best_time(lambda a=a, b=b, c=c:
                                                                  (a @ b.T) @ c),
                       "linear_seconds": _best_time(lambda a=a, b=b, c=c: a @ (b.T @ c))})

    exact = scaled_dot_product_attention(q, k, v)
    performer = []
    for m in progress(p.features, total=len(p.features), description="Performer"):
        errs = [_rel(performer_attention(q, k, v, m, np.random.default_rng([p.seed, s, m])),
                     exact) for s in range(SEEDS)]
        performer.append({"features": m, "error": float(np.mean(errs))})
    linformer = []
    for r in p.ranks:
        e_pool = pooling(n, r)
        e, f = linformer_projections(n, r, np.random.default_rng([p.seed, r]))
        linformer.append({"rank": r, "error_pooled": _rel(
            linformer_attention(q, k, v, e_pool, e_pool), exact),
            "error_random": _rel(linformer_attention(q, k, v, e, f), exact)})

    big = timing[-1]
    pf, lf = performer, linformer
    takeaway = (f"Same result either way (diff {assoc:.0e}), but Q(K^T V) costs 4nd^2 "
                f"instead of 4n^2 d: {4 * n * n * d / (4 * n * d * d):.0f}x fewer FLOPs at "
                f"n = {n}, and {big['quadratic_seconds'] / big['linear_seconds']:.0f}x faster "
                f"at n = {big['n']}. The softmax needs approximating: Performer's error falls "
                f"{pf[0]['error']:.2f} -> {pf[-1]['error']:.2f} from {pf[0]['features']} to "
                f"{pf[-1]['features']} features, Linformer's {lf[0]['error_pooled']:.3f} -> "
                f"{lf[-1]['error_pooled']:.3f} from rank {lf[0]['rank']} to {lf[-1]['rank']}.")
    return {
        "n": n, "d": d, "flops": {"quadratic": 4 * n * n * d, "linear": 4 * n * d * d},
        "crossover_n": d,
        "associativity_max_diff": assoc, "normalised_max_diff": normalised,
        "timing": timing, "performer": performer, "linformer": linformer,
        "takeaway": takeaway,
    }


def render(result: dict):
    from tutor.demos import _viz

    n, d = result["n"], result["d"]
    cost = _viz.table(
        ["n", "(QK^T)V FLOPs", "Q(K^T V) FLOPs", "ms quad/lin"],
        [[str(t["n"]), _viz.fmt(4 * t["n"] ** 2 * d), _viz.fmt(4 * t["n"] * d * d),
          f"{t['quadratic_seconds'] * 1e3:.2f} / {t['linear_seconds'] * 1e3:.2f}"]
         for t in result["timing"]],
        title=f"Cost, d = {d}: 4n^2 d vs 4nd^2 (equal at n = d)")
    same = _viz.Text(f"associativity: max relative diff {result['associativity_max_diff']:.1e};"
                     f" engine linear_attention vs normalised kernel "
                     f"{result['normalised_max_diff']:.1e}")
    perf = _viz.table(["features", "error"],
                      [[str(r["features"]), f"{r['error']:.3f}"] for r in result["performer"]],
                      title="Performer vs softmax (rel. error)")
    lin = _viz.table(["rank", "pooled E=F", "random E,F"],
                     [[str(r["rank"]), f"{r['error_pooled']:.4f}", f"{r['error_random']:.2f}"]
                      for r in result["linformer"]],
                     title="Linformer vs softmax (rel. error)")
    plot = _viz.line_plot(
        {"Performer": ([r["features"] for r in result["performer"]],
                       [r["error"] for r in result["performer"]])},
        title=f"Performer error vs features (n = {n})", logx=True, logy=True,
        width=54, height=10)
    return _viz.view("linear attention, Performer, Linformer", cost, same, perf, plot, lin,
                     takeaway=result["takeaway"])
