"""Tiled online-softmax attention (the FlashAttention idea): same output, a fraction of the memory.

Plain attention materialises the n x n score matrix (and its softmax) and
passes over it several times. The tiled version walks over key/value blocks
with a running max and a running sum per query, so it never holds more than a
block x block tile of scores, and never writes the n x n matrix at all.

Peak memory is measured with tracemalloc (NumPy reports its buffers to it) for
one head of float32 at each n, on top of Q, K and V themselves.

JSON keys:
    d, block, dtype: head dimension, tile size and float type.
    sizes: the sequence lengths measured.
    plain_peak_bytes, tiled_peak_bytes: measured peak extra memory per size.
    tiled_predicted_bytes: per size, what the tiled version should hold by
        engine.efficient.attention_cost (K^T, [V | 1], one tile set per thread)
        plus its output; tiled_vs_predicted: measured / predicted at the largest n.
    memory_ratio: plain / tiled peak at the largest n.
    max_abs_diff: per size, max |tiled - plain| of the outputs.
    plain_seconds, tiled_seconds: measured wall times per size (vary run to run).
    traffic_plain_bytes, traffic_tiled_bytes: estimated bytes moved through memory
        per size (see `traffic`); traffic_ratio at the largest n.
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

BUDGET_BYTES = 2 * 2**30    # what the plain version may use at n_max
PLAIN_SCORE_COPIES = 4      # n x n float32 buffers alive at once in plain attention (measured)
ITEM = 4                    # float32
N_MIN = 256


def plain_peak_estimate(n: int) -> int:
    return PLAIN_SCORE_COPIES * n * n * ITEM


def largest_allowed_n() -> int:
    n = int((BUDGET_BYTES / (PLAIN_SCORE_COPIES * ITEM)) ** 0.5)
    return n


def check(p) -> str | None:
    if plain_peak_estimate(p.n_max) > BUDGET_BYTES:
        return (f"--n-max {p.n_max} would need about "
                f"{plain_peak_estimate(p.n_max) / 2**30:.1f} GiB for plain attention's "
                f"n x n scores; the largest allowed is {largest_allowed_n()}")
    if p.block > p.n_max:
        return (f"--block {p.block} is larger than --n-max {p.n_max}; "
                f"the largest allowed is {p.n_max}")
    return None


def sizes(n_max: int) -> list[int]:
    out, n = [], N_MIN
    while n < n_max:
        out.append(n)
        n *= 2
    return out + [n_max]


def traffic(n: int, d: int, block: int, item: int = ITEM) -> tuple[int, int]:
    """Bytes moved through main memory by plain and by tiled attention (estimates).

    Plain: read Q, K, V, write O (4nd), and six passes over n x n: write the
    scores, read them for the row max, read and write for exp, read for the
    sum, and read the probabilities for P V.
    Tiled: Q and O once (2nd), and K and V once per query block (2nd * n/block);
    the scores stay in a block x block tile that fits in cache.
    """
    plain = (4 * n * d + 6 * n * n) * item
    tiled = (2 * n * d + 2 * n * d * -(-n // block)) * item
    return plain, tiled


def _peak(fn, *args, **kwargs):
    """(result, peak bytes allocated while fn ran, seconds)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return out, peak, seconds


def tiled_prediction(n: int, d: int, block: int, item: int = ITEM) -> int:
    """Bytes flash_attention should hold on one (n, d) head, its output included."""
    from engine.efficient import attention_cost, flash_workers

    held = attention_cost("flash", n, d, block_q=block, block_k=block,
                          workers=flash_workers(1, n, n, block)).memory_floats
    return (held + n * d) * item


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.attention import scaled_dot_product_attention
    from engine.efficient import flash_attention

    ns = sizes(p.n_max)
    plain_peak, tiled_peak, diffs, t_plain, t_tiled = [], [], [], [], []
    for n in progress(ns, total=len(ns), description="plain vs tiled"):
        q, k, v = (rng.standard_normal((n, p.d), dtype=np.float32) for _ in range(3))
        # return_weights=True takes the textbook route that materialises the n x n weights
        (ref, _), mem_p, sec_p = _peak(scaled_dot_product_attention, q, k, v,
                                       return_weights=True)
        out, mem_t, sec_t = _peak(flash_attention, q, k, v,
                                block_q=p.block, block_k=p.block)
        plain_peak.append(mem_p)
        tiled_peak.append(mem_t)
        diffs.append(float(np.max(np.abs(out - ref))))
        t_plain.append(sec_p)
        t_tiled.append(sec_t)
    tr = [traffic(n, p.d, p.block) for n in ns]
    predicted = [tiled_prediction(n, p.d, p.block) for n in ns]
    ratio = plain_peak[-1] / max(tiled_peak[-1], 1)
    traffic_ratio = tr[-1][0] / tr[-1][1]
    takeaway = (f"Same output (max |diff| {max(diffs):.1e}), but at n = {ns[-1]} plain "
                f"attention peaked at {plain_peak[-1] / 2**20:,.1f} MiB against "
                f"{tiled_peak[-1] / 2**20:,.2f} MiB tiled ({ratio:,.0f}x): the n x n scores "
                f"are never stored, and about {traffic_ratio:.0f}x fewer bytes cross memory.")
    return {
        "d": p.d, "block": p.block, "dtype": "float32", "sizes": ns,
        "plain_peak_bytes": plain_peak, "tiled_peak_bytes": tiled_peak,
        "tiled_predicted_bytes": predicted,
        "tiled_vs_predicted": tiled_peak[-1] / predicted[-1],
        "memory_ratio": ratio, "max_abs_diff": diffs,
        "plain_seconds": t_plain, "tiled_seconds": t_tiled,
        "traffic_plain_bytes": [a for a, _ in tr], "traffic_tiled_bytes": [b for _, b in tr],
        "traffic_ratio": traffic_ratio,
        "takeaway": takeaway,
    }


def render(result: dict):
    from tutor.demos import _viz

    ns = result["sizes"]
    rows = [[str(n), _viz.human_bytes(a), _viz.human_bytes(b), _viz.human_bytes(c),
             f"{a / max(b, 1):,.0f}x", f"{e:.0e}"]
            for n, a, b, c, e in zip(ns, result["plain_peak_bytes"], result["tiled_peak_bytes"],
                                     result["tiled_predicted_bytes"], result["max_abs_diff"],
                                     strict=True)]
    memory = _viz.table(["n", "plain", "tiled", "predicted", "ratio", "diff"], rows,
                        title=f"Measured peak memory (float32, d={result['d']}, "
                              f"block={result['block']})")
    plot = _viz.line_plot(
        {"plain": (ns, [max(b, 1) / 2**20 for b in result["plain_peak_bytes"]]),
         "tiled": (ns, [max(b, 1) / 2**20 for b in result["tiled_peak_bytes"]])},
        title="peak MiB vs n (log-log)", logx=True, logy=True, width=54, height=12)
    traffic_rows = [[str(n), _viz.human_bytes(a), _viz.human_bytes(b),
                     f"{tp * 1e3:.1f} / {tt * 1e3:.1f}"]
                    for n, a, b, tp, tt in zip(ns, result["traffic_plain_bytes"],
                                               result["traffic_tiled_bytes"],
                                               result["plain_seconds"],
                                               result["tiled_seconds"], strict=True)]
    traffic = _viz.table(["n", "plain moves", "tiled moves", "ms plain/tiled"], traffic_rows,
                         title="Memory traffic (estimate) and time")
    note = _viz.Text("plain: 6 passes over n^2 scores; tiled: K,V re-read once per "
                     "query block, scores stay in cache", style="dim")
    return _viz.view("flash: tiled online-softmax attention", memory, plot, traffic, note,
                     takeaway=result["takeaway"])
