"""Attention's O(n^2) cost, measured now, against the FFN's O(n).

One textbook attention head (softmax(q k^T / sqrt(d)) v with
`engine.functional.softmax`, head dimension `d_model`, the n x n scores held in
full, which makes it quadratic in memory too) and one FFN (d -> 4d -> d, two
matmuls) are timed at sequence lengths from `n_min` to `n_max` in steps of
sqrt(2). After one warm-up call per size (which also measures peak memory with
tracemalloc), the sizes are timed round-robin, `repeats` times, and the median
per size is kept, so a slow spell on a shared machine touches every size
instead of one. The exponent is an ordinary least-squares fit of log(time) on
log(n).

The defaults (float64, n = 128..1024, BLAS on one thread) isolate the quadratic
term: float64's time per FLOP stays nearly flat over this range, while in
float32 beyond n ~ 1024 the n x n scores fall out of the L3 cache and the time
per FLOP rises (the ns/FLOP column shows either effect). OpenBLAS is pinned to
one thread for the timing because on a busy 2-core machine its second thread
waits for a core, which slows small matmuls most and flattens the slope.

JSON keys:
- `sizes`: the sequence lengths n.
- `attention_ms`, `ffn_ms`: median milliseconds per size.
- `attention_peak_bytes`, `ffn_peak_bytes`: peak traced allocation of one call.
- `attention_ns_per_flop`: milliseconds / (4 n^2 d matmul FLOPs), in ns.
- `attention_exponent`, `attention_r2`, `ffn_exponent`, `ffn_r2`: the log-log fits.
- `fit_ok`: whether the attention exponent is in [1.8, 2.2] with R^2 >= 0.95.
- `crossover`: list of {name, d_model, n}: the context n at which Q K^T and
  softmax(.) V (4 n d FLOPs per token per layer) overtake the projections and
  FFN (24 d^2), counted by `engine.accounting`; n = 6d for a 4x FFN.
- `extrapolated`: list of {n, attention_s, scores_bytes}: the fitted time of one
  head at 32k and 128k tokens, and the size of its n x n score matrix.
- `blas_threads`: 1 when OpenBLAS was pinned to one thread for the timing, else null.
- `dtype`, `d_model`, `repeats`, `takeaway`.
"""

from __future__ import annotations

import math
import time
import tracemalloc

import numpy as np

from engine.functional import linear, relu, softmax
from tutor.demos._bounds import largest
from tutor.demos._timing import one_blas_thread

_EXPONENT_RANGE = (1.8, 2.2)
_MIN_R2 = 0.95
_BUDGET_S = 6.0                  # estimated CPU seconds this demo may take
_BUDGET_BYTES = 800 * 2**20      # estimated peak memory
_NS_PER_FLOP = 0.1               # float64 q k^T and p v on one BLAS thread (measured ~0.1)
_NS_PER_FFN_FLOP = 0.04          # the FFN's larger matmuls run faster (measured ~0.033)
_NS_PER_SCORE = 30.0             # softmax and the rest of the head, per score, float64
_EXTRAPOLATE = (32768, 131072)


def sizes(n_min: int, n_max: int) -> list[int]:
    """n_min, n_min*sqrt(2), ..., up to n_max (inclusive), rounded to multiples of 8."""
    count = int(math.floor(2 * math.log2(n_max / n_min) + 1e-9)) + 1
    out = [int(round(n_min * 2 ** (i / 2) / 8) * 8) for i in range(count)]
    return sorted(set(out))


def _estimate_s(p) -> float:
    """CPU seconds: every size once to warm up, once traced for its peak, `repeats` timed;
    each call is the head's 4 n^2 d and the FFN's 16 n d^2 FLOPs, and per-score work."""
    rounds = p.repeats + 2
    ns = sizes(p.n_min, p.n_max)
    head = sum(4 * n * n * p.d_model for n in ns) * _NS_PER_FLOP
    ffn = sum(16 * n * p.d_model**2 for n in ns) * _NS_PER_FFN_FLOP
    scores = sum(n * n for n in ns) * _NS_PER_SCORE
    return rounds * (head + ffn + scores) * 1e-9


def _peak_bytes(p) -> int:
    """Every size's inputs (q, k, v and the FFN weights) plus four n_max^2 score arrays."""
    item = np.dtype(p.dtype).itemsize
    inputs = sum(3 * n * p.d_model + 8 * p.d_model**2 for n in sizes(p.n_min, p.n_max))
    return item * (inputs + 4 * p.n_max**2)


def _fits(p) -> bool:
    return _estimate_s(p) <= _BUDGET_S and _peak_bytes(p) <= _BUDGET_BYTES


def check(p) -> str | None:
    if p.n_max < 4 * p.n_min:
        return (f"--n-max {p.n_max} must be at least 4x --n-min {p.n_min} for a meaningful "
                f"slope; the smallest --n-max allowed is {4 * p.n_min}")
    if _fits(p):
        return None
    cost = (f"about {_estimate_s(p):.0f} s of computing and "
            f"{_peak_bytes(p) / 2**20:,.0f} MiB")
    most = largest(4 * p.n_min, p.n_max, lambda n: _fits(type(p)(**{**vars(p), "n_max": n})))
    with_these = f"--n-min {p.n_min}, --d-model {p.d_model} and --repeats {p.repeats}"
    if most is None:
        return (f"--n-max {p.n_max} with {with_these} would take {cost}, and no --n-max from "
                f"{4 * p.n_min} (4x --n-min) up fits; lower --d-model, --repeats or --n-min")
    return (f"--n-max {p.n_max} with {with_these} would take {cost}; the largest --n-max "
            f"allowed with these is {most}")


def fit_loglog(x, y) -> tuple[float, float, float]:
    """Ordinary least squares of log y on log x: (slope, intercept, R^2)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    mx, my = lx.mean(), ly.mean()
    slope = float(np.sum((lx - mx) * (ly - my)) / np.sum((lx - mx) ** 2))
    intercept = float(my - slope * mx)
    resid = ly - (intercept + slope * lx)
    total = np.sum((ly - my) ** 2)
    r2 = float(1 - np.sum(resid**2) / total) if total > 0 else 1.0
    return slope, intercept, r2


def _inputs(n: int, d: int, dtype, rng):
    x = rng.standard_normal((n, d)).astype(dtype)
    return {"q": x, "k": rng.standard_normal((n, d)).astype(dtype),
            "v": rng.standard_normal((n, d)).astype(dtype),
            "w1": (rng.standard_normal((d, 4 * d)) / math.sqrt(d)).astype(dtype),
            "w2": (rng.standard_normal((4 * d, d)) / math.sqrt(4 * d)).astype(dtype)}


def _attention(a):
    q, k, v = a["q"], a["k"], a["v"]                                   # (n, d) each
    scores = (q @ k.T) * q.dtype.type(1 / math.sqrt(q.shape[-1]))      # (n, n)
    return softmax(scores) @ v                                         # (n, d)


def _ffn(a):
    return linear(relu(linear(a["q"], a["w1"])), a["w2"])         # (n, d) -> (n, 4d) -> (n, d)


def _peak(fn, a) -> int:
    tracemalloc.start()
    try:
        fn(a)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def crossover(d_model: int) -> int:
    """Context n where attention's n-dependent matmuls equal the rest of a layer (4x FFN)."""
    from engine.accounting import forward_flops_per_token
    from engine.config import ModelConfig

    config = ModelConfig(d_model=d_model, n_head=1, n_layer=1, bias=False)
    per_n = forward_flops_per_token(config, n_ctx=1, head=False).attention_context
    fixed = forward_flops_per_token(config, n_ctx=1, head=False).total - per_n
    return round(fixed / per_n)


def _preset_crossover(name: str) -> dict:
    from engine.accounting import forward_flops_per_token
    from engine.config import preset

    config = preset(name)
    f = forward_flops_per_token(config, n_ctx=1, head=False)
    per_n = f.attention_context
    return {"name": name, "d_model": config.d_model, "n": round((f.total - per_n) / per_n)}


def compute(p, rng: np.random.Generator, progress) -> dict:
    dtype = np.dtype(p.dtype)
    ns = sizes(p.n_min, p.n_max)
    inputs = {n: _inputs(n, p.d_model, dtype, rng) for n in ns}
    att_peak, ffn_peak = [], []
    att_t: dict[int, list[float]] = {n: [] for n in ns}
    ffn_t: dict[int, list[float]] = {n: [] for n in ns}
    with one_blas_thread() as single:
        for n in ns:                               # warm-up, and peak memory
            att_peak.append(_peak(_attention, inputs[n]))
            ffn_peak.append(_peak(_ffn, inputs[n]))
        for _ in progress(range(p.repeats), total=p.repeats, description="timing rounds"):
            for n in ns:                           # round-robin: a slow spell hits every n
                a = inputs[n]
                t0 = time.perf_counter()
                _attention(a)
                t1 = time.perf_counter()
                _ffn(a)
                t2 = time.perf_counter()
                att_t[n].append(t1 - t0)
                ffn_t[n].append(t2 - t1)
    att_ms = [1e3 * float(np.median(att_t[n])) for n in ns]
    ffn_ms = [1e3 * float(np.median(ffn_t[n])) for n in ns]
    a_slope, a_icpt, a_r2 = fit_loglog(ns, att_ms)
    f_slope, _, f_r2 = fit_loglog(ns, ffn_ms)
    lo, hi = _EXPONENT_RANGE
    result = {
        "dtype": p.dtype, "d_model": p.d_model, "blas_threads": 1 if single else None,
        "repeats": p.repeats, "sizes": ns,
        "attention_ms": att_ms, "ffn_ms": ffn_ms,
        "attention_peak_bytes": att_peak, "ffn_peak_bytes": ffn_peak,
        "attention_ns_per_flop": [1e6 * t / (4 * n * n * p.d_model)
                                  for n, t in zip(ns, att_ms, strict=True)],
        "attention_exponent": a_slope, "attention_r2": a_r2,
        "ffn_exponent": f_slope, "ffn_r2": f_r2,
        "fit_ok": bool(lo <= a_slope <= hi and a_r2 >= _MIN_R2),
        "crossover": [{"name": f"d = {p.d_model}", "d_model": p.d_model,
                       "n": crossover(p.d_model)},
                      _preset_crossover("gpt2"), _preset_crossover("llama-2-7b")],
        "extrapolated": [{"n": n, "attention_s": math.exp(a_icpt) * n**a_slope / 1e3,
                          "scores_bytes": n * n * dtype.itemsize} for n in _EXTRAPOLATE],
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    from tutor.demos._viz import human_bytes

    big = r["extrapolated"][-1]
    cross = r["crossover"][0]
    fit = (f"Attention time grows as n^{r['attention_exponent']:.2f} (R^2 "
           f"{r['attention_r2']:.3f}) against n^{r['ffn_exponent']:.2f} for the FFN")
    if not r["fit_ok"]:
        fit += " (this fit is off: the machine was noisy or the sizes leave the quadratic regime)"
    return (f"{fit}. At {big['n']:,} tokens one head's scores alone take "
            f"{human_bytes(big['scores_bytes'])}; attention outweighs the dense layers "
            f"beyond n = {cross['n']:,} = {cross['n'] / cross['d_model']:.0f}d.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    rows = [[n, f(a), f(s), _viz.human_bytes(m), f(b)] for n, a, s, m, b in zip(
        result["sizes"], result["attention_ms"], result["attention_ns_per_flop"],
        result["attention_peak_bytes"], result["ffn_ms"], strict=True)]
    t = _viz.table(["n", "attn ms", "ns/FLOP", "attn peak", "FFN ms"], rows,
                   title=f"One head, d = {result['d_model']}, {result['dtype']}, median of "
                         f"{result['repeats']}")
    plot = _viz.line_plot({"attention": (result["sizes"], result["attention_ms"]),
                           "FFN": (result["sizes"], result["ffn_ms"])},
                          title="ms vs n (log-log)", logx=True, logy=True, width=54, height=12)
    lo, hi = _EXPONENT_RANGE
    verdict = ("a clean quadratic" if result["fit_ok"] else
               f"outside [{lo}, {hi}] or R^2 < {_MIN_R2}: treat this fit with suspicion")
    fit = Text(f"Fitted exponents: attention {result['attention_exponent']:.2f} "
               f"(R^2 {result['attention_r2']:.3f}, {verdict}); FFN "
               f"{result['ffn_exponent']:.2f} (R^2 {result['ffn_r2']:.3f}).")
    per_flop = result["attention_ns_per_flop"]
    spread = max(per_flop) / min(per_flop)
    if result["dtype"] == "float64":
        why = Text(f"Why float64: its time per FLOP stays nearly flat in n (here within "
                   f"{spread:.1f}x: fixed costs at small n, cache spills at large n), so the "
                   "fit sees the n^2 term; in float32 the n x n scores leave the L3 cache past "
                   "n ~ 1024 and ns/FLOP climbs (try --dtype float32 --n-max 4096). BLAS runs "
                   "on one thread so a busy second core cannot distort small sizes.",
                   style="dim")
    else:
        why = Text(f"In {result['dtype']} watch ns/FLOP: it spans {spread:.1f}x here. Once the "
                   "n x n scores outgrow the L3 cache each FLOP costs more, which bends the "
                   "fit above 2: the memory hierarchy on top of the quadratic term.",
                   style="dim")
    cross = _viz.table(["model", "d", "crossover n", "n / d"],
                       [[c["name"], c["d_model"], f"{c['n']:,}", f(c["n"] / c["d_model"])]
                        for c in result["crossover"]],
                       title="n where attention's 4nd FLOPs/token pass 24d^2")
    extra = _viz.table(["n", "one head, fitted", "n x n scores"],
                       [[f"{e['n']:,}", f"{f(e['attention_s'])} s",
                         _viz.human_bytes(e["scores_bytes"])] for e in result["extrapolated"]],
                       title="Extrapolated from the fit")
    return _viz.view("complexity: attention is O(n^2)", t, plot, fit, why, cross, extra,
                     takeaway=result["takeaway"])
