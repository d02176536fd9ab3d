"""Cross-attention: decoder queries over encoder keys, and the three masks of a seq2seq model.

The decoder's n_tgt states make the queries; the encoder's n_src final states
make the keys and values, so the weights are n_tgt x n_src, not square. The
encoder's self-attention sees the whole source except padding; the decoder's
self-attention is causal; cross-attention has no causal mask (the whole source
is known before decoding starts) and only hides the source's padding.

JSON keys:
    n_src, n_tgt, d, pad: the sizes (pad = padding tokens at the end of the source).
    shapes: {"Q", "K", "V", "weights", "output"}: each a [rows, cols] pair.
    weights: n_tgt x n_src cross-attention weights (row = decoder query).
    row_sums: each weights row summed over the source (1 for every query).
    padding_weight: largest weight any query puts on a padding token (0).
    masks: {"encoder", "decoder", "cross"}: bool matrices, True = may attend.
    allowed: {"encoder", "decoder", "cross"}: how many pairs each mask allows.
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import math

import numpy as np


def check(p) -> str | None:
    if p.pad >= p.n_src:
        return (f"--pad {p.pad} leaves no real source token; the largest allowed "
                f"with --n-src {p.n_src} is {p.n_src - 1}")
    return None


def masks(n_src: int, n_tgt: int, pad: int) -> dict[str, np.ndarray]:
    """The three masks of an encoder-decoder model, True = may attend."""
    from engine.attention import causal_mask, padding_mask

    src_keys = padding_mask(np.array([n_src - pad]), n_src)[0, 0]    # (1, n_src)
    return {
        "encoder": np.broadcast_to(src_keys, (n_src, n_src)).copy(),
        "decoder": np.asarray(causal_mask(n_tgt)),
        "cross": np.broadcast_to(src_keys, (n_tgt, n_src)).copy(),
    }


def build(p, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Encoder memory (n_src, d), decoder states (n_tgt, d) and one head's projections."""
    d = p.d
    return {
        "memory": rng.standard_normal((p.n_src, d)),
        "states": rng.standard_normal((p.n_tgt, d)),
        "cross.w_q": rng.standard_normal((d, d)) / math.sqrt(d),
        "cross.w_k": rng.standard_normal((d, d)) / math.sqrt(d),
        "cross.w_v": rng.standard_normal((d, d)) / math.sqrt(d),
        "cross.w_o": rng.standard_normal((d, d)) / math.sqrt(d),
    }


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.model import multi_head_attention

    arrays = build(p, rng)
    m = masks(p.n_src, p.n_tgt, p.pad)
    out, w = multi_head_attention(arrays["states"], arrays, "cross", 1,
                                  kv_input=arrays["memory"], attn_mask=m["cross"],
                                  return_weights=True)
    w = w[0]                                                        # (n_tgt, n_src)
    real = p.n_src - p.pad
    row_sums = w.sum(-1)
    pad_weight = float(w[:, real:].max()) if p.pad else 0.0
    allowed = {k: int(v.sum()) for k, v in m.items()}
    takeaway = (f"Cross-attention weights are n_tgt x n_src = {p.n_tgt} x {p.n_src}: each "
                f"decoder query spreads over all {real} real source tokens (rows sum to "
                f"{row_sums.min():.6f}..{row_sums.max():.6f}, padding gets {pad_weight:g}); "
                f"unlike the decoder's causal self-attention ({allowed['decoder']} pairs), "
                f"no causal mask: the source is fully known.")
    return {
        "n_src": p.n_src, "n_tgt": p.n_tgt, "d": p.d, "pad": p.pad,
        "shapes": {"Q": [p.n_tgt, p.d], "K": [p.n_src, p.d], "V": [p.n_src, p.d],
                   "weights": list(w.shape), "output": list(out.shape)},
        "weights": w, "row_sums": row_sums, "padding_weight": pad_weight,
        "masks": m, "allowed": allowed,
        "takeaway": takeaway,
    }


def render(result: dict):
    from tutor.demos import _viz

    s = result["shapes"]
    shapes = _viz.table(["array", "shape", "from"], [
        ["Q", "x".join(map(str, s["Q"])), "decoder states"],
        ["K, V", "x".join(map(str, s["K"])), "encoder output"],
        ["QK^T, weights", "x".join(map(str, s["weights"])), "n_tgt x n_src"],
        ["output", "x".join(map(str, s["output"])), "one per target"],
    ], title="Shapes", justify_numbers=False)
    n_src, n_tgt = result["n_src"], result["n_tgt"]
    tgt_labels = [f"t{i}" for i in range(n_tgt)]
    small = n_src <= 12 and n_tgt <= 12
    if small:
        weights = _viz.heatmap(result["weights"], row_labels=tgt_labels,
                               col_labels=list(range(n_src)), vmin=0,
                               title="Cross weights (row = target query)")
        mask_views = _viz.side_by_side(
            _viz.heatmap(np.array(result["masks"]["encoder"]), title="encoder"),
            _viz.heatmap(np.array(result["masks"]["decoder"]), title="decoder"),
            _viz.heatmap(np.array(result["masks"]["cross"]), title="cross"), gap=1)
    else:
        weights = _viz.mini_heatmap(result["weights"], vmin=0,
                                    title="Cross weights (row = target query)")
        mask_views = [_viz.mini_heatmap(np.array(result["masks"][k]), title=k)
                      for k in ("encoder", "decoder", "cross")]
    sums = result["row_sums"]
    parts = [shapes, weights,
             _viz.heading(f"Masks (■ = may attend; last {result['pad']} source "
                          "tokens are padding)")]
    parts += [mask_views] if small else mask_views
    parts.append(_viz.table(["mask", "shape", "pairs"], [
        ["encoder (pad)", f"{n_src}x{n_src}", result["allowed"]["encoder"]],
        ["decoder (causal)", f"{n_tgt}x{n_tgt}", result["allowed"]["decoder"]],
        ["cross (pad only)", f"{n_tgt}x{n_src}", result["allowed"]["cross"]],
    ]))
    parts.append(_viz.Text(f"row sums {min(sums):.6f}..{max(sums):.6f}; largest weight on "
                           f"padding {result['padding_weight']:g}"))
    return _viz.view("cross-attention: decoder over encoder", *parts,
                     takeaway=result["takeaway"])
