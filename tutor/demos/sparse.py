"""Sparse attention: local window, Longformer's global tokens, Sparse Transformer strides.

Each pattern is a bool mask (True = query i may attend to key j). The demo
counts the allowed pairs (which is what scores cost in memory and FLOPs)
against full attention and against closed forms, checks that masked full
attention equals attending row by row to the allowed keys only (the banded
computation that makes the saving real), and follows the receptive field
through depth: after L layers token i has heard from token j iff the L-th
boolean power of the mask links them.

Patterns: local is bidirectional |i - j| <= w; global is the local band plus
`global_tokens` tokens (the first ones) that see and are seen by every token;
strided is causal: j <= i with i - j < stride or (i - j) % stride == 0.

JSON keys:
    n, window, stride, global_tokens, d: the options (d = head width of the equality check).
    patterns: {"local", "global", "strided"}: each {mask (n x n bool), pairs (counted),
        closed_form (exact formula), approx (the leading-order formula), approx_text,
        full_pairs (n^2, or n(n+1)/2 for the causal strided pattern), fraction,
        score_bytes (float32 scores), full_score_bytes, flops (QK^T and AV over the
        allowed pairs), full_flops}.
    equality: {"max_abs_diff"}: window-masked full attention against a per-row loop.
    receptive: {pattern: {coverage: [fraction of the full pattern reached after
        1..layers layers], layers_to_full (None when never)}}.
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import numpy as np

D = 16


def closed_forms(n: int, w: int, stride: int, g: int) -> dict[str, tuple[int, int, str]]:
    """(exact count, leading-order count, the leading-order formula) per pattern."""
    band = lambda m: m * (2 * w + 1) - w * (w + 1) if m > w else m * m  # noqa: E731
    m = n - g
    q, r = divmod(n, stride)
    local_part = stride * (stride + 1) // 2 + (n - stride) * stride if n >= stride \
        else n * (n + 1) // 2
    strided = local_part + stride * q * (q - 1) // 2 + q * r
    return {
        "local": (band(n), n * (2 * w + 1), "n(2w+1)"),
        "global": (2 * g * n - g * g + band(m), n * (2 * w + 1) + 2 * g * n,
                   "n(2w+1) + 2gn"),
        "strided": (strided, n * stride + n * n // (2 * stride), "n s + n^2/(2s)"),
    }


def masks(n: int, w: int, stride: int, g: int) -> dict[str, np.ndarray]:
    from engine.attention import global_window_mask, sliding_window_mask, strided_mask

    # the engine's window counts keys closer than `window`: |i - j| < w + 1
    return {
        "local": sliding_window_mask(n, w + 1, causal=False),
        "global": global_window_mask(n, w + 1, list(range(g))),
        "strided": strided_mask(n, stride, causal=True),
    }


def receptive(mask: np.ndarray, layers: int, full: np.ndarray) -> tuple[list[float], int | None]:
    """Coverage of `full` after 1..layers layers, and the depth at which it is complete."""
    step = mask.astype(np.int64)
    reach = mask.copy()
    coverage, done = [], None
    n = len(mask)
    for depth in range(1, max(layers, n) + 1):
        if depth > 1:
            reach = (reach.astype(np.int64) @ step) > 0     # one more layer of hops
        if depth <= layers:
            coverage.append(float((reach & full).sum() / full.sum()))
        if done is None and np.array_equal(reach & full, full):
            done = depth
        if done is not None and depth >= layers:
            break
    return coverage, done


def row_by_row(q, k, v, mask) -> np.ndarray:
    """Each query attends only to its allowed keys: O(allowed pairs) work, no n x n matrix."""
    from engine.attention import scaled_dot_product_attention

    out = np.zeros((len(q), v.shape[-1]))
    for i in range(len(q)):
        keys = np.flatnonzero(mask[i])
        out[i] = scaled_dot_product_attention(q[i:i + 1], k[keys], v[keys])[0]
    return out


def check(p) -> str | None:
    if p.global_tokens > p.n:
        return f"--global-tokens {p.global_tokens}: the largest allowed with --n {p.n} is {p.n}"
    return None


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.attention import scaled_dot_product_attention

    n, w, s, g = p.n, p.window, p.stride, p.global_tokens
    ms = masks(n, w, s, g)
    forms = closed_forms(n, w, s, g)
    full_bi = np.ones((n, n), dtype=bool)
    full_causal = np.tril(full_bi)
    patterns, rec = {}, {}
    for name, m in ms.items():
        full = full_causal if name == "strided" else full_bi
        pairs, full_pairs = int(m.sum()), int(full.sum())
        exact, approx, text = forms[name]
        patterns[name] = {
            "mask": m, "pairs": pairs, "closed_form": exact, "approx": approx,
            "approx_text": text, "full_pairs": full_pairs, "fraction": pairs / full_pairs,
            "score_bytes": 4 * pairs, "full_score_bytes": 4 * full_pairs,
            "flops": 4 * pairs * D, "full_flops": 4 * full_pairs * D,
        }
        coverage, depth = receptive(m, p.layers, full)
        rec[name] = {"coverage": coverage, "layers_to_full": depth}

    q, k, v = (rng.standard_normal((n, D)) for _ in range(3))
    masked = scaled_dot_product_attention(q, k, v, attn_mask=ms["local"])
    diff = float(np.max(np.abs(masked - row_by_row(q, k, v, ms["local"]))))

    loc, strd = patterns["local"], patterns["strided"]
    takeaway = (f"At n = {n} the window keeps {loc['pairs']} of {loc['full_pairs']} pairs "
                f"({loc['fraction']:.0%}, = n(2w+1) - w(w+1)) and the strided pattern "
                f"{strd['fraction']:.0%} of the causal ones, with the same output as masked "
                f"full attention (diff {diff:.0e}); the price is depth: the window needs "
                f"{rec['local']['layers_to_full']} layers to connect every pair, strided "
                f"and global only {rec['strided']['layers_to_full']} and "
                f"{rec['global']['layers_to_full']}.")
    return {"n": n, "window": w, "stride": s, "global_tokens": g, "d": D,
            "patterns": patterns, "equality": {"max_abs_diff": diff}, "receptive": rec,
            "takeaway": takeaway}


def render(result: dict):
    from tutor.demos import _viz

    pats = result["patterns"]
    titles = {"local": f"local w={result['window']}",
              "global": f"global g={result['global_tokens']}",
              "strided": f"strided s={result['stride']}"}
    pics = [_viz.quadrant_mask(np.array(pats[k]["mask"]), title=titles[k]) for k in pats]
    pictures = _viz.side_by_side(*pics, gap=2) if result["n"] <= 36 else None
    rows = [[k, str(v["pairs"]), str(v["closed_form"]), str(v["approx"]),
             f"{v['fraction']:.0%}"] for k, v in pats.items()]
    counts = _viz.table(["pattern", "counted", "formula", "approx", "of full"], rows,
                        title=f"Allowed pairs (full: n^2 = {result['n'] ** 2}; causal "
                              f"n(n+1)/2 = {pats['strided']['full_pairs']})")
    forms = _viz.Text("approx: " + "; ".join(f"{k} {v['approx_text']}" for k, v in pats.items())
                      + "; formula: the same with the edges subtracted", style="dim")
    cost = _viz.table(["pattern", "score mem", "full mem", "FLOPs", "full FLOPs"],
                      [[k, _viz.human_bytes(v["score_bytes"]),
                        _viz.human_bytes(v["full_score_bytes"]), _viz.fmt(v["flops"]),
                        _viz.fmt(v["full_flops"])] for k, v in pats.items()],
                      title=f"Cost per head (float32 scores, d = {result['d']})")
    rec = result["receptive"]
    depth = len(rec["local"]["coverage"])
    cov_rows = [[str(layer + 1)] + [f"{rec[k]['coverage'][layer]:.0%}" for k in rec]
                for layer in range(depth)]
    cov_rows.append(["full at"] + [str(rec[k]["layers_to_full"] or "never") for k in rec])
    coverage = _viz.table(["layers", *rec], cov_rows, title="Receptive field (pairs reached)")
    eq = _viz.Text(f"window mask on full attention vs row-by-row over allowed keys: "
                   f"max |diff| {result['equality']['max_abs_diff']:.1e}")
    parts = [_viz.heading("Patterns (row = query, 2x2 cells per character)")]
    parts += [pictures] if pictures is not None else pics
    return _viz.view("sparse attention patterns", *parts, counts, forms, cost, eq, coverage,
                     takeaway=result["takeaway"])
