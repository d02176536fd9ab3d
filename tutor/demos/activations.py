"""ReLU, GELU (exact and tanh), SiLU and SwiGLU; SwiGLU's 8/3 ratio.

Values come from `engine.functional` (relu, gelu with approximate="none" and
"tanh", silu). SwiGLU's hidden unit is silu(x W_gate) * (x W_up); its gate is
SiLU, shown in the table. The largest gap between GELU's tanh approximation and
the exact erf form is searched on a fine grid over [-8, 8].

The parameter match: a 4x FFN has two d x 4d matrices (8 d^2); SwiGLU has three
(gate, up, down), so the same budget allows a hidden size of 8/3 d. LLaMA rounds
that up to a multiple of 256 (`engine.config.swiglu_hidden`); the counts come
from `engine.accounting.ffn_params` without biases.

JSON keys:
- `points`: sample x values; `relu`, `gelu_exact`, `gelu_tanh`, `silu`: values there.
- `curve_x`, `curve_relu`, `curve_gelu`, `curve_silu`: the plotted curves on [-4, 4].
- `max_tanh_error`, `max_tanh_error_at`: largest |gelu_tanh - gelu_exact| and where.
- `d_model`; `ffn_4x_params`: 2 * d * 4d; `swiglu_exact_hidden`: 8/3 d;
  `swiglu_exact_params`: 3 * d * 8/3 d; `swiglu_hidden`: LLaMA's rounded size;
  `swiglu_params`: 3 * d * swiglu_hidden; `swiglu_ratio`: swiglu_params / ffn_4x_params.
- `takeaway`.
"""

from __future__ import annotations

import numpy as np

from engine.accounting import ffn_params
from engine.config import swiglu_hidden
from engine.functional import gelu, relu, silu

_POINTS = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)


def compute(p, rng: np.random.Generator, progress) -> dict:
    x = np.array(_POINTS)
    grid = np.linspace(-8, 8, 16001)
    err = np.abs(gelu(grid, approximate="tanh") - gelu(grid))
    i = int(np.argmax(err))
    d = p.d_model
    hidden = swiglu_hidden(d)
    curve = np.linspace(-4, 4, 161)
    result = {
        "points": x, "relu": relu(x), "gelu_exact": gelu(x), "gelu_tanh": gelu(x, "tanh"),
        "silu": silu(x),
        "curve_x": curve, "curve_relu": relu(curve), "curve_gelu": gelu(curve),
        "curve_silu": silu(curve),
        "max_tanh_error": float(err[i]), "max_tanh_error_at": float(grid[i]),
        "d_model": d,
        "ffn_4x_params": ffn_params(d, activation="gelu", bias=False),
        "swiglu_exact_hidden": 8 * d / 3,
        "swiglu_exact_params": 3 * d * (8 * d / 3),
        "swiglu_hidden": hidden,
        "swiglu_params": ffn_params(d, hidden, activation="swiglu", bias=False),
    }
    result["swiglu_ratio"] = result["swiglu_params"] / result["ffn_4x_params"]
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    return (f"GELU's tanh form is off by at most {r['max_tanh_error']:.1e} (at x = "
            f"{r['max_tanh_error_at']:.2f}), so GPT-2's shortcut is harmless. SwiGLU has three "
            f"matrices, so at d = {r['d_model']:,} its hidden size is 8/3 d = "
            f"{r['swiglu_exact_hidden']:,.1f}, rounded to {r['swiglu_hidden']:,}: "
            f"{r['swiglu_params']:,} weights against {r['ffn_4x_params']:,} for a 4x FFN "
            f"({r['swiglu_ratio']:.3f}x).")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    def f(v):
        return f"{v:.4f}"

    rows = [[f"{x:g}", f(a), f(b), f(c), f(e)] for x, a, b, c, e in zip(
        result["points"], result["relu"], result["gelu_exact"], result["gelu_tanh"],
        result["silu"], strict=True)]
    t1 = _viz.table(["x", "ReLU", "GELU", "GELU tanh", "SiLU"], rows,
                    title="Activations (SiLU is SwiGLU's gate)")
    cx = result["curve_x"]
    plot = _viz.line_plot({"ReLU": (cx, result["curve_relu"]),
                           "GELU": (cx, result["curve_gelu"]),
                           "SiLU": (cx, result["curve_silu"])},
                          title="activation(x)", xlabel="x", width=54, height=12)
    d = result["d_model"]
    t2 = _viz.table(["FFN", "hidden", "weights"], [
        ["4x, 2 matrices", f"{4 * d:,}", f"{result['ffn_4x_params']:,}"],
        ["SwiGLU 8/3 d", f"{result['swiglu_exact_hidden']:,.1f}",
         f"{result['swiglu_exact_params']:,.0f}"],
        ["SwiGLU rounded", f"{result['swiglu_hidden']:,}", f"{result['swiglu_params']:,}"],
    ], title=f"Same budget at d = {d:,} (no biases)")
    err = Text(f"max |GELU tanh - GELU exact| = {result['max_tanh_error']:.2e} at x = "
                    f"{result['max_tanh_error_at']:.2f}")
    return _viz.view("activations: ReLU, GELU, SwiGLU", t1, plot, err, t2,
                     takeaway=result["takeaway"])
