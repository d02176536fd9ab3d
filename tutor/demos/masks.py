"""Causal and padding masks, proved by perturbation, and -inf against -1e9.

A batch of random token embeddings x (one sequence per entry of `lengths`,
padded to `n`) goes through one head of `engine.attention.scaled_dot_product_attention`
with random Q, K, V projections.

- Causal proof: the tokens from position n/2 on are replaced by new ones. With
  the causal mask every earlier output stays bit-identical (np.array_equal);
  without it every output changes.
- Padding proof: the pad embeddings are replaced by large random vectors. With
  the key padding mask the real tokens' outputs are bit-identical; without it
  they change.
- A fully masked row: an additive -1e9 still hands out weights that sum to 1
  over the masked keys (the row becomes a softmax of the scores themselves, or
  a uniform average once 1e9's rounding swallows them), a bool (-inf) mask gives
  the engine's zeros, and a naive softmax gives NaN. In float16, -1e9 overflows
  to -inf.

JSON keys:
- `n`, `lengths`: sequence length and the real lengths (capped at n).
- `causal_mask`, `padding_mask`: bool n x n matrices (padding for the shortest sequence).
- `changed_from`: first perturbed position.
- `delta_causal`, `delta_unmasked`: max |change| of each position's output.
- `future_proof`: whether outputs before `changed_from` are bit-identical under the mask.
- `padding`: list of {length, delta_masked, delta_unmasked, identical} per sequence.
- `full_row`: list of {method, dtype, weight_sum, max_dev_uniform, max_dev_unmasked,
  output_norm, nan}: one fully masked row under each masking method.
- `float16_neg_1e9`: the float16 value of -1e9 (-inf, as a string), `float16_max`.
- `takeaway`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.attention import scaled_dot_product_attention
from engine.functional import softmax


def _head(x, w, mask=None, causal=False):
    q, k, v = x @ w[0], x @ w[1], x @ w[2]                        # (B, n, d) each
    # return_weights takes the row-by-row textbook route, whose result for a row
    # depends only on that row's unmasked keys, bit for bit
    out, _ = scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                          return_weights=True)
    return out                                                    # (B, n, d)


def _naive_softmax(s):
    # The textbook formula without the engine's guard: 0/0 for a fully masked row.
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


def _full_row(rng, n: int) -> tuple[list[dict], float]:
    scores = rng.standard_normal(n) * 3                              # one query's scores
    unmasked = softmax(scores)
    rows = []
    for dtype in (np.float64, np.float32):
        s = scores.astype(dtype)
        w = softmax(s + dtype(-1e9))                                 # every key masked
        rows.append(_row("additive -1e9", dtype, w, unmasked, n))
    w = softmax(np.where(np.zeros(n, bool), scores, -np.inf))
    rows.append(_row("bool mask (-inf), engine", np.float64, w, unmasked, n))
    w = _naive_softmax(np.where(np.zeros(n, bool), scores, -np.inf))
    rows.append(_row("-inf, naive softmax", np.float64, w, unmasked, n))
    with np.errstate(over="ignore"):
        big16 = np.float16(-1e9)                                     # overflows to -inf
    s16 = scores.astype(np.float16) + big16
    w = _naive_softmax(s16)
    rows.append(_row("additive -1e9, naive", np.float16, w, unmasked, n))
    return rows, float(big16)


def _row(method: str, dtype, w, unmasked, n: int) -> dict:
    w64 = w.astype(np.float64)
    nan = bool(np.isnan(w64).any())
    return {"method": method, "dtype": np.dtype(dtype).name,
            "weight_sum": None if nan else float(w64.sum()),
            "max_dev_uniform": None if nan else float(np.abs(w64 - 1 / n).max()),
            "max_dev_unmasked": None if nan else float(np.abs(w64 - unmasked).max()),
            "nan": nan}


def compute(p, rng: np.random.Generator, progress) -> dict:
    n, d = p.n, p.d
    lengths = [min(length, n) for length in p.lengths]
    b = len(lengths)
    w = rng.standard_normal((3, d, d)) / math.sqrt(d)                 # W_q, W_k, W_v
    x = rng.standard_normal((b, n, d))                                # (B, n, d)

    # causal: change the future, compare the past
    t0 = n // 2
    x2 = x.copy()
    x2[:, t0:] = rng.standard_normal((b, n - t0, d))
    causal_new, causal_old = _head(x2, w, causal=True), _head(x, w, causal=True)
    with_mask = np.abs(causal_new - causal_old)[0]                    # (n, d)
    without = np.abs(_head(x2, w) - _head(x, w))[0]
    same_past = bool(np.array_equal(causal_new[:, :t0], causal_old[:, :t0]))

    # padding: change what sits in the pad positions
    real = np.arange(n)[None, :] < np.asarray(lengths)[:, None]      # (B, n)
    key_mask = real[:, None, :]                                       # (B, 1, n): keys
    x3 = np.where(real[..., None], x, 10 * rng.standard_normal((b, n, d)))
    masked_new, masked_old = _head(x3, w, key_mask), _head(x, w, key_mask)
    masked_delta = np.abs(masked_new - masked_old)
    plain_delta = np.abs(_head(x3, w) - _head(x, w))
    padding = []
    for i, length in enumerate(lengths):
        dm = float(masked_delta[i, :length].max())
        du = float(plain_delta[i, :length].max())
        same = bool(np.array_equal(masked_new[i, :length], masked_old[i, :length]))
        padding.append({"length": length, "delta_masked": dm, "delta_unmasked": du,
                        "identical": same})

    full_row, big16 = _full_row(rng, n)
    short = int(np.argmin(lengths))
    result = {
        "n": n, "lengths": lengths,
        "causal_mask": np.tri(n, dtype=bool),
        "padding_mask": np.broadcast_to(real[short][None, :], (n, n)).copy(),
        "changed_from": t0,
        "delta_causal": with_mask.max(axis=-1), "delta_unmasked": without.max(axis=-1),
        "future_proof": same_past, "padding": padding, "full_row": full_row,
        "float16_neg_1e9": str(big16), "float16_max": float(np.finfo(np.float16).max),
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    t0 = r["changed_from"]
    leak = max(r["delta_unmasked"][:t0]) if t0 else 0.0
    pad = max((row["delta_unmasked"] for row in r["padding"]), default=0.0)
    verdict = "bit-identical" if r["future_proof"] else "NOT identical"
    add = r["full_row"][0]
    return (f"Changing tokens {t0}.. left outputs 0..{t0 - 1} {verdict} under the causal "
            f"mask, but moved them by up to {leak:.3g} without it; padding moved real "
            f"outputs by {pad:.3g} unmasked and 0 masked. A fully masked row under -1e9 "
            f"still spreads weight {add['weight_sum']:.3g} over masked keys; -inf gives "
            f"zeros here, and float16 turns -1e9 into {r['float16_neg_1e9']}.")


def render(result: dict):
    from rich.table import Table
    from rich.text import Text

    from tutor.demos import _viz

    n = result["n"]
    labels = [str(i) for i in range(n)]
    short = min(result["lengths"])
    grid = Table.grid(padding=(0, 3))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    compact = n > 12
    causal = _mask_picture(result["causal_mask"], "causal", labels, compact)
    pad = _mask_picture(result["padding_mask"], f"padding (length {short})", labels, compact)
    grid.add_row(causal, pad)
    t0 = result["changed_from"]
    rows = [[i, _viz.fmt(a), _viz.fmt(b)] for i, (a, b) in
            enumerate(zip(result["delta_causal"], result["delta_unmasked"], strict=True))]
    perturb = _viz.table(["pos", "Δ causal", "Δ no mask"], rows,
                         title=f"Tokens {t0}.. changed: max |Δ| per output")
    pads = _viz.table(["length", "Δ masked", "Δ unmasked", "bit-identical"],
                      [[row["length"], _viz.fmt(row["delta_masked"]),
                        _viz.fmt(row["delta_unmasked"]), "yes" if row["identical"] else "no"]
                       for row in result["padding"]],
                      title="Pad embeddings replaced: change of real outputs")
    full = _viz.table(["fully masked row", "dtype", "Σ weights", "vs uniform"],
                      [[row["method"], row["dtype"],
                        "NaN" if row["nan"] else _viz.fmt(row["weight_sum"]),
                        "NaN" if row["nan"] else _viz.fmt(row["max_dev_uniform"])]
                       for row in result["full_row"]],
                      title="Every key masked", justify_numbers=False)
    note = Text(f"float16 holds at most {result['float16_max']:,.0f}: -1e9 becomes "
                f"{result['float16_neg_1e9']}. Σ = 1 means the query still reads the masked "
                "values.", style="dim")
    legend = Text("■ may attend   · masked (rows: queries, columns: keys)", style="dim")
    return _viz.view("masks: causal and padding, proved", grid, legend, perturb, pads, full,
                     note, takeaway=result["takeaway"])


def _mask_picture(mask, title: str, labels, compact: bool):
    from rich.console import Group
    from rich.text import Text

    from tutor.demos import _viz

    if not compact:
        return _viz.heatmap(np.asarray(mask, bool), row_labels=labels, title=title)
    rows = [Text(title, style="bold underline")]
    rows += [Text("".join("■" if c else "·" for c in row)) for row in np.asarray(mask, bool)]
    return Group(*rows)
