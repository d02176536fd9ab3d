"""Why attention needs positions, and how sinusoidal, RoPE and ALiBi supply them.

1. Self-attention without positions is permutation-equivariant: "man bites dog"
   gives the same output vectors as "dog bites man", only reordered.
2. Sinusoidal: PE(pos + k) = PE(pos) M_k for one fixed matrix M_k per offset.
3. RoPE: rotating q and k by their positions makes q.k depend on the offset only.
4. ALiBi: no embedding at all; each head adds -slope * distance to its scores.
5. Past the training length: sinusoidal and RoPE are defined at every position
   (defined, not necessarily generalised: those angles were never trained on),
   a learned table has no row to look up, and ALiBi's bias keeps growing linearly.

JSON keys:
    n, d, train_len: the options.
    permutation: {"words", "orders", "max_diff_no_pos" (outputs of one order, reordered,
        against the other), "max_diff_with_pos" (the same with sinusoidal positions added)}.
    sinusoidal: list of {k, max_error}: max |PE[p + k] - PE[p] M_k| over p < n.
    rope: list of {offset, spread_rope, spread_additive}: max - min over positions of the
        score between a query at p + offset and a key at p, with RoPE and with
        sinusoidal positions added to q and k instead.
    alibi: {"heads", "slopes", "shown" (head indices), "bias" ({head: n x n bias, first 12
        tokens})}.
    beyond: {"positions" (train_len .. 2 train_len - 1), "sinusoidal_max_error" (shift
        identity there), "rope_spread" (offset property there), "learned_error" (the
        error indexing the learned table past its rows), "alibi_linear_error" (max
        |bias + slope * distance| at distances up to 2 train_len)}.
    takeaway: the conclusion, with the numbers.
"""

from __future__ import annotations

import math

import numpy as np

WORDS = ("dog", "bites", "man")
OFFSETS = (1, 5, 10)
ALIBI_HEADS = 8
SHOWN = 12


def check(p) -> str | None:
    if p.d % 2:
        return f"--d {p.d} must be even (positions use sin/cos pairs); try {p.d + 1}"
    return None


def _attend(x: np.ndarray, params: dict) -> np.ndarray:
    from engine.model import multi_head_attention

    return multi_head_attention(x, params, "attn", 1)


def permutation(d: int, rng: np.random.Generator) -> dict:
    from engine.positional import sinusoidal_positions

    emb = {w: rng.standard_normal(d) for w in WORDS}
    params = {f"attn.w_{n}": rng.standard_normal((d, d)) / math.sqrt(d) for n in "qkvo"}
    a, b = ["dog", "bites", "man"], ["man", "bites", "dog"]
    perm = [a.index(w) for w in b]                        # b = a[perm]
    xa, xb = np.array([emb[w] for w in a]), np.array([emb[w] for w in b])
    no_pos = float(np.max(np.abs(_attend(xa, params)[perm] - _attend(xb, params))))
    pe = sinusoidal_positions(3, d)
    with_pos = float(np.max(np.abs(_attend(xa + pe, params)[perm] - _attend(xb + pe, params))))
    return {"words": list(WORDS), "orders": [" ".join(a), " ".join(b)],
            "max_diff_no_pos": no_pos, "max_diff_with_pos": with_pos}


def shift_errors(positions: np.ndarray, d: int, offsets=OFFSETS) -> list[dict]:
    from engine.positional import sinusoidal_positions, sinusoidal_shift_matrix

    table = sinusoidal_positions(int(positions.max()) + max(offsets) + 1, d)
    return [{"k": k, "max_error": float(np.max(np.abs(
        table[positions + k] - table[positions] @ sinusoidal_shift_matrix(k, d))))}
        for k in offsets]


def offset_spread(q: np.ndarray, k: np.ndarray, positions: np.ndarray, offset: int
                  ) -> tuple[float, float]:
    """Spread (max - min) over positions p of score(query at p + offset, key at p)."""
    from engine.positional import rope, sinusoidal_positions

    n = len(positions)
    qr = rope(np.tile(q, (n, 1)), positions + offset)                # (n, d)
    kr = rope(np.tile(k, (n, 1)), positions)
    s_rope = np.einsum("nd,nd->n", qr, kr)
    table = sinusoidal_positions(int(positions.max()) + offset + 1, len(q))
    s_add = np.einsum("nd,nd->n", q + table[positions + offset], k + table[positions])
    return float(np.ptp(s_rope)), float(np.ptp(s_add))


def compute(p, rng: np.random.Generator, progress) -> dict:
    from engine.positional import alibi_bias, alibi_slopes, learned_positions

    n, d, t = p.n, p.d, p.train_len
    perm = permutation(d, rng)
    inside = np.arange(n)
    sinus = shift_errors(inside, d)
    q, k = rng.standard_normal(d), rng.standard_normal(d)
    rope_rows = []
    for off in OFFSETS:
        a, b = offset_spread(q, k, inside, off)
        rope_rows.append({"offset": off, "spread_rope": a, "spread_additive": b})

    slopes = alibi_slopes(ALIBI_HEADS)
    m = min(n, SHOWN)
    bias = alibi_bias(ALIBI_HEADS, m, m)
    shown = [0, ALIBI_HEADS - 1]

    beyond = np.arange(t, 2 * t)
    table = learned_positions(t, d, rng)
    try:
        table[beyond]
        learned_error = None
    except IndexError as e:
        learned_error = f"IndexError: {e}"
    far = alibi_bias(ALIBI_HEADS, 1, 2 * t)[:, 0, :]                   # (heads, 2t)
    dist = (2 * t - 1) - np.arange(2 * t)
    alibi_err = float(np.max(np.abs(far + slopes[:, None] * dist)))
    out = {
        "positions": [int(beyond[0]), int(beyond[-1])],
        "sinusoidal_max_error": max(r["max_error"] for r in shift_errors(beyond, d)),
        "rope_spread": max(offset_spread(q, k, beyond, off)[0] for off in OFFSETS),
        "learned_error": learned_error,
        "alibi_linear_error": alibi_err,
    }
    worst_rope = max(r["spread_rope"] for r in rope_rows)
    takeaway = (f"Without positions the reordered sentence gives the same outputs (diff "
                f"{perm['max_diff_no_pos']:.0e}; {perm['max_diff_with_pos']:.2f} with "
                f"positions). PE(p+k) = PE(p) M_k to {max(r['max_error'] for r in sinus):.0e}; "
                f"RoPE scores vary by {worst_rope:.0e} across positions at a fixed offset "
                f"(additive: {max(r['spread_additive'] for r in rope_rows):.1f}). Past "
                f"{t} tokens a learned table has no rows; sinusoidal, RoPE and ALiBi "
                f"(slopes {slopes[0]:.2f}..{slopes[-1]:.4f}) are still defined.")
    return {
        "n": n, "d": d, "train_len": t, "permutation": perm, "sinusoidal": sinus,
        "rope": rope_rows,
        "alibi": {"heads": ALIBI_HEADS, "slopes": slopes, "shown": shown,
                  "bias": {str(h): bias[h] for h in shown}},
        "beyond": out, "takeaway": takeaway,
    }


def render(result: dict):
    from tutor.demos import _viz

    perm = result["permutation"]
    t1 = _viz.table(["", "max |diff|"], [
        ["no positions", f"{perm['max_diff_no_pos']:.1e}"],
        ["+ sinusoidal", f"{perm['max_diff_with_pos']:.3f}"]],
        title=f"'{perm['orders'][0]}' vs '{perm['orders'][1]}' (reordered)")
    t2 = _viz.table(["k", "max |PE(p+k) - PE(p) M_k|"],
                    [[str(r["k"]), f"{r['max_error']:.1e}"] for r in result["sinusoidal"]],
                    title="Sinusoidal: a shift is a fixed linear map")
    t3 = _viz.table(["offset", "RoPE spread", "additive spread"],
                    [[str(r["offset"]), f"{r['spread_rope']:.1e}",
                      f"{r['spread_additive']:.2f}"] for r in result["rope"]],
                    title=f"q.k over positions 0..{result['n'] - 1} at a fixed offset")
    al = result["alibi"]
    low = min(float(np.min(al["bias"][str(h)])) for h in al["shown"])
    maps = [_viz.mini_heatmap(np.array(al["bias"][str(h)]), vmin=low, vmax=0,
                              title=f"head {h} m={al['slopes'][h]:.3f}") for h in al["shown"]]
    slopes = _viz.Text("slopes: " + ", ".join(f"{s:.3g}" for s in al["slopes"]))
    b = result["beyond"]
    t4 = _viz.table(["scheme", f"positions {b['positions'][0]}..{b['positions'][1]}"], [
        ["learned", "no rows: " + ("index error" if b["learned_error"] else "?")],
        ["sinusoidal", f"defined; shift error {b['sinusoidal_max_error']:.0e}"],
        ["RoPE", f"defined; offset spread {b['rope_spread']:.0e}"],
        ["ALiBi", f"linear; error {b['alibi_linear_error']:.0e}"]],
        title=f"Past the training length ({result['train_len']})", justify_numbers=False)
    return _viz.view("positional: why and how", t1, t2, t3,
                     _viz.heading("ALiBi bias, one scale (darker = less penalty)"),
                     _viz.side_by_side(*maps, gap=3), slopes, t4,
                     takeaway=result["takeaway"])
