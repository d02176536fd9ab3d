"""Multi-head against single-head attention at the same parameter count.

Both layers own the same four d x d projections (W_q, W_k, W_v, W_o): splitting
d into H heads of d/H changes how the projections are read, not how many
numbers there are. What it buys is H attention patterns per token instead of
one. The input is random token vectors plus sinusoidal positions; head h reads
queries W_q = g_h R and keys W_k = R with gains g_h spread geometrically, so the
heads genuinely differ: some attend sharply and locally, some broadly.

JSON keys:
    d_model, heads, d_head, n: the shapes used.
    params_multi, params_single: parameters summed over the arrays of each layer.
    params_formula: 4 d^2 (no biases), and params_engine: engine.accounting's count.
    flops_multi, flops_single: projection plus attention-matmul FLOPs of one forward.
    max_entropy: log n, the entropy of uniform attention.
    per_head: list of {head, gain, entropy, mean_distance} (means over queries).
    single: {entropy, mean_distance} of the single head.
    shown: head indices drawn; weights: {head index or "single": n x n weights}.
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import math

import numpy as np

TOKEN_SCALE = 0.5   # content noise relative to the unit-amplitude position signal
GAIN_RANGE = (0.25, 8.0)
SHOWN_TOKENS = 16   # a heatmap is one character per token; three fit in 60 columns


def attention_entropy(w: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each attention row.  (..., n_q, n_k) -> (..., n_q)"""
    return -(w * np.log(np.where(w > 0, w, 1.0))).sum(-1)


def attention_distance(w: np.ndarray) -> np.ndarray:
    """Expected |i - j| under each row's weights.  (..., n_q, n_k) -> (..., n_q)"""
    n_q, n_k = w.shape[-2:]
    dist = np.abs(np.arange(n_q)[:, None] - np.arange(n_k)[None, :])
    return (w * dist).sum(-1)


def build(p, rng: np.random.Generator):
    """Input x (n, d), the shared projections, and the head gains."""
    from engine.positional import sinusoidal_positions

    d, h, n = p.d_model, p.heads, p.n
    x = TOKEN_SCALE * rng.standard_normal((n, d)) + np.asarray(sinusoidal_positions(n, d))
    r = rng.standard_normal((d, d)) / math.sqrt(d)
    w_v = rng.standard_normal((d, d)) / math.sqrt(d)
    w_o = rng.standard_normal((d, d)) / math.sqrt(d)
    gains = np.geomspace(*GAIN_RANGE, h) if h > 1 else np.ones(1)
    multi = {"attn.w_q": r * np.repeat(gains, d // h)[None, :], "attn.w_k": r,
             "attn.w_v": w_v, "attn.w_o": w_o}
    # one head reads the same R at the heads' geometric-mean gain
    single = {"attn.w_q": r * float(np.exp(np.log(gains).mean())), "attn.w_k": r,
              "attn.w_v": w_v, "attn.w_o": w_o}
    return x, multi, single, gains


def check(p) -> str | None:
    if p.d_model % p.heads:
        return (f"--d-model {p.d_model} is not divisible by --heads {p.heads}; "
                f"choose heads dividing d_model (e.g. {_divisor(p.d_model, p.heads)})")
    if p.d_model % 2:
        return f"--d-model {p.d_model} must be even (sinusoidal positions use sin/cos pairs)"
    return None


def _divisor(d: int, h: int) -> int:
    return max(k for k in range(1, min(d, h) + 1) if d % k == 0)


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.accounting import attention_params
    from engine.model import multi_head_attention

    d, h, n = p.d_model, p.heads, p.n
    x, multi, single, gains = build(p, rng)
    _, w_multi = multi_head_attention(x, multi, "attn", h, return_weights=True)   # (h, n, n)
    _, w_single = multi_head_attention(x, single, "attn", 1, return_weights=True)  # (1, n, n)

    ent, dist = attention_entropy(w_multi).mean(-1), attention_distance(w_multi).mean(-1)
    single_ent = float(attention_entropy(w_single).mean())
    single_dist = float(attention_distance(w_single).mean())
    per_head = [{"head": i, "gain": float(gains[i]), "entropy": float(ent[i]),
                 "mean_distance": float(dist[i])} for i in range(h)]
    shown = sorted({int(np.argmin(ent)), int(np.argmax(ent))})
    flops = 4 * 2 * n * d * d + 2 * 2 * n * n * d    # projections + QK^T and AV, any H
    m = min(n, SHOWN_TOKENS)
    weights = {str(i): w_multi[i, :m, :m] for i in shown}
    weights["single"] = w_single[0, :m, :m]
    sharp, broad = int(np.argmin(ent)), int(np.argmax(ent))
    takeaway = (f"Same {sum(a.size for a in multi.values()):,} parameters (4d^2) and FLOPs, "
                f"but {h} patterns per token: head {sharp} is sharp (entropy "
                f"{ent[sharp]:.2f} nats, {dist[sharp]:.1f} tokens away) while head {broad} "
                f"is near uniform ({ent[broad]:.2f} of max {math.log(n):.2f}); one head "
                f"must pick one pattern ({single_ent:.2f} nats).")
    return {
        "d_model": d, "heads": h, "d_head": d // h, "n": n,
        "params_multi": sum(a.size for a in multi.values()),
        "params_single": sum(a.size for a in single.values()),
        "params_formula": 4 * d * d,
        "params_engine": attention_params(d, n_head=h, bias=False),
        "flops_multi": flops, "flops_single": flops,
        "max_entropy": math.log(n),
        "per_head": per_head,
        "single": {"entropy": single_ent, "mean_distance": single_dist},
        "shown": shown, "weights": weights,
        "takeaway": takeaway,
    }


def render(result: dict):
    from tutor.demos import _viz

    h, d = result["heads"], result["d_model"]
    counts = _viz.table(
        ["", f"{h} heads", "1 head"],
        [["W_q,W_k,W_v,W_o", f"4 x {d}x{d}", f"4 x {d}x{d}"],
         ["parameters", _viz.fmt(result["params_multi"]), _viz.fmt(result["params_single"])],
         ["4 d^2", _viz.fmt(result["params_formula"]), _viz.fmt(result["params_formula"])],
         ["FLOPs / forward", _viz.fmt(result["flops_multi"]),
          _viz.fmt(result["flops_single"])],
         ["patterns / token", str(h), "1"]],
        title="Same weights, read as heads")
    rows = [[str(r["head"]), f"{r['gain']:.2f}", f"{r['entropy']:.2f}",
             f"{r['mean_distance']:.1f}"] for r in result["per_head"]]
    rows.append(["single", "-", f"{result['single']['entropy']:.2f}",
                 f"{result['single']['mean_distance']:.1f}"])
    per_head = _viz.table(["head", "gain", "entropy", "distance"], rows,
                          title=f"Per head (max entropy log n = {result['max_entropy']:.2f})")
    top = max(max(map(max, w)) for w in result["weights"].values())
    def peak(key):
        return max(map(max, result["weights"][key]))

    maps = [_viz.mini_heatmap(result["weights"][str(i)], vmin=0, vmax=top,
                              title=f"head {i} max {peak(str(i)):.2f}")
            for i in result["shown"]]
    maps.append(_viz.mini_heatmap(result["weights"]["single"], vmin=0, vmax=top,
                                  title=f"single {peak('single'):.2f}"))
    m = len(result["weights"]["single"])
    return _viz.view(
        "heads: multi-head vs single-head", counts, per_head,
        _viz.heading(f"Weights, first {m} tokens (row = query, one scale)"),
        _viz.side_by_side(*maps, gap=2), takeaway=result["takeaway"])
