"""Attention formulas: complexity, scaling, masks, heads and positions."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n

_GIB = 2**30


def _config(preset: str | None = None, d_model: int | None = None):
    """A preset's config, or a plain GPT-style layer (4d FFN, MHA) of width d_model."""
    from engine.config import ModelConfig
    from engine.config import preset as get

    if preset is not None:
        return get(preset)
    return ModelConfig(d_model=d_model, n_layer=1, n_head=1, vocab_size=1)


# ---------------------------------------------------------------------------
# Complexity


@formula("complexity.score_entries", "Entries of the n x n attention score matrix per head")
def score_entries(n: int, heads: int = 1, batch: int = 1) -> Computed:
    total = batch * heads * n * n
    return Computed(total, f"{batch} x {heads} x {_n(n)}^2 = {_n(total)}")


@formula("complexity.score_gib",
         "GiB to hold one layer's materialised score matrices: batch x heads x n^2 x bytes")
def score_gib(n: int, heads: int, bytes_per: int = 2, batch: int = 1) -> Computed:
    total = batch * heads * n * n * bytes_per
    return Computed(total / _GIB, f"{batch} x {heads} x {_n(n)}^2 x {bytes_per} B = "
                                  f"{_n(total)} B = {total / _GIB:.4g} GiB")


def _context_flops_per_seq(n: int, d_model: int) -> int:
    """Q K^T plus softmax(.) V for one sequence of n tokens in one layer, from the engine."""
    from engine.accounting import forward_flops_per_token

    f = forward_flops_per_token(_config(d_model=d_model), n_ctx=n, head=False)
    return n * (f.attention_scores + f.attention_values)


@formula("complexity.attention_layer_flops",
         "Q K^T and softmax(.) V FLOPs for one n-token sequence in one layer: 4 n^2 d")
def attention_layer_flops(n: int, d_model: int) -> Computed:
    total = _context_flops_per_seq(n, d_model)
    return Computed(total, f"2 n^2 d (Q K^T) + 2 n^2 d (weights x V) = 4 x {_n(n)}^2 x "
                           f"{_n(d_model)} = {total:.4g}")


@formula("complexity.attention_growth",
         "Factor by which attention-score FLOPs grow when the sequence goes from n1 to n2")
def attention_growth(n1: int, n2: int, d_model: int = 768) -> Computed:
    ratio = _context_flops_per_seq(n2, d_model) / _context_flops_per_seq(n1, d_model)
    return Computed(ratio, f"4 n2^2 d / 4 n1^2 d = ({_n(n2)}/{_n(n1)})^2 = {ratio:.4g}")


@formula("complexity.sequence_flops_growth",
         "Factor by which a whole forward pass over one sequence grows from n1 to n2 tokens")
def sequence_flops_growth(preset: str, n1: int, n2: int) -> Computed:
    from engine.accounting import forward_flops_per_token

    c = _config(preset)
    t1 = n1 * forward_flops_per_token(c, n_ctx=n1).total
    t2 = n2 * forward_flops_per_token(c, n_ctx=n2).total
    ratio = t2 / t1
    return Computed(ratio, f"{preset}: {_n(n2)} x F({_n(n2)}) / ({_n(n1)} x F({_n(n1)})) = "
                           f"{t2:.4g} / {t1:.4g} = {ratio:.4g} "
                           f"(F = forward FLOPs per token; attention alone: "
                           f"{(n2 / n1) ** 2:.4g}x)")


@formula("complexity.crossover_context",
         "Context length at which Q K^T + softmax(.) V FLOPs equal all other per-layer matmuls")
def crossover_context(preset: str | None = None, d_model: int | None = None) -> Computed:
    from engine.accounting import forward_flops_per_token

    c = _config(preset, d_model)
    f = forward_flops_per_token(c, n_ctx=1, head=False)
    per_position = f.attention_context           # grows by this much per token of context
    fixed = f.total - per_position               # projections and FFN, independent of n
    n = fixed / per_position
    name = preset or f"d_model={d_model}, 4d FFN"
    return Computed(n, f"{name}: fixed matmul FLOPs per token {_n(fixed)} / "
                       f"context FLOPs per key {_n(per_position)} = {_n(round(n))} tokens "
                       f"({n / c.d_model:.3g} d)")


# ---------------------------------------------------------------------------
# Scaling and softmax


@formula("scaling.dot_std",
         "Standard deviation of q.k for independent zero-mean entries of variance `var`")
def dot_std(d_k: int, var: float = 1.0) -> Computed:
    std = math.sqrt(d_k) * var
    return Computed(std, f"Var(q.k) = d_k x var^2 = {d_k} x {var:g}^2 = {d_k * var * var:g}; "
                         f"std = {std:.4g}")


def _top_weight(gap: float, n_keys: int) -> float:
    return 1.0 / (1.0 + (n_keys - 1) * math.exp(-gap))


@formula("scaling.softmax_top_weight",
         "Softmax weight of one logit that beats n_keys - 1 equal logits by `gap`")
def softmax_top_weight(gap: float, n_keys: int) -> Computed:
    p = _top_weight(gap, n_keys)
    return Computed(p, f"e^{gap:g} / (e^{gap:g} + {n_keys - 1}) = {p:.4g}")


@formula("scaling.softmax_self_grad",
         "d p_top / d s_top = p (1 - p) for a logit that beats n_keys - 1 equal ones by `gap`")
def softmax_self_grad(gap: float, n_keys: int) -> Computed:
    p = _top_weight(gap, n_keys)
    rest = (n_keys - 1) * math.exp(-gap) * p         # 1 - p, without cancellation
    g = p * rest
    return Computed(g, f"p = e^{gap:g} / (e^{gap:g} + {n_keys - 1}) = {p:.4g}, "
                       f"1 - p = {rest:.4g}; p (1 - p) = {g:.4g}")


# ---------------------------------------------------------------------------
# Masks


@formula("masks.causal_pairs", "Query-key pairs a causal mask allows: n (n + 1) / 2")
def causal_pairs(n: int) -> Computed:
    total = n * (n + 1) // 2
    return Computed(total, f"{_n(n)} x {_n(n + 1)} / 2 = {_n(total)} "
                           f"({total / (n * n):.2%} of the {_n(n * n)} entries)")


@formula("masks.padding_waste_percent",
         "Percent of token slots that are padding when a batch is padded to its longest sequence")
def padding_waste_percent(lengths: str) -> Computed:
    values = [int(x) for x in str(lengths).replace(" ", "").split(",") if x]
    slots = len(values) * max(values)
    waste = 100.0 * (slots - sum(values)) / slots
    return Computed(waste, f"slots = {len(values)} x {max(values)} = {slots}; real = "
                           f"{' + '.join(map(str, values))} = {sum(values)}; padding = "
                           f"{slots - sum(values)} / {slots} = {waste:.4g}%")


# ---------------------------------------------------------------------------
# Heads and projections


@formula("attention.head_dim", "Per-head width d_model / heads")
def head_dim(d_model: int, heads: int) -> Computed:
    from engine.config import ModelConfig

    d = ModelConfig(d_model=d_model, n_head=heads, n_layer=1, vocab_size=1).head_dim
    return Computed(d, f"{_n(d_model)} / {heads} = {d}")


@formula("attention.projection_params",
         "Weights of Q, K, V and output projections with grouped K/V heads (no biases)")
def projection_params(d_model: int, heads: int, kv_heads: int) -> Computed:
    from engine.accounting import attention_params

    total = attention_params(d_model, heads, kv_heads, bias=False)
    dh = d_model // heads
    return Computed(total, f"d (heads x d_h) x 2 [Q, O] + d (kv_heads x d_h) x 2 [K, V] = "
                           f"2 x {_n(d_model)} x {_n(heads * dh)} + 2 x {_n(d_model)} x "
                           f"{_n(kv_heads * dh)} = {_n(total)}")


# ---------------------------------------------------------------------------
# Positions


@formula("positional.alibi_slope", "ALiBi slope of head h (1-based) of H heads: 2^(-8h/H)")
def alibi_slope(head: int, heads: int) -> Computed:
    from engine.positional import alibi_slopes

    slope = float(alibi_slopes(heads)[head - 1])
    return Computed(slope, f"2^(-8 x {head} / {heads}) = 2^({-8 * head / heads:g}) = "
                           f"{slope:.4g}")


@formula("positional.rope_wavelength",
         "Tokens for RoPE pair i (0-based) to turn a full circle: 2 pi theta^(2i/d)")
def rope_wavelength(pair: int, d_head: int, theta: float = 10000.0) -> Computed:
    wl = 2 * math.pi * theta ** (2 * pair / d_head)
    return Computed(wl, f"2 pi x {theta:g}^(2 x {pair} / {d_head}) = {wl:.4g} tokens")


@formula("positional.rope_angle_degrees",
         "Angle (degrees, before wrapping) RoPE pair i rotates a vector at position m")
def rope_angle_degrees(position: int, pair: int, d_head: int,
                       theta: float = 10000.0) -> Computed:
    rad = position * theta ** (-2 * pair / d_head)
    deg = math.degrees(rad)
    return Computed(deg, f"m x theta^(-2i/d) = {position} x {theta:g}^(-2 x {pair} / "
                         f"{d_head}) = {rad:.4g} rad = {deg:.4g} degrees")


@formula("positional.sinusoidal_wavelength",
         "Wavelength in positions of sinusoidal dimension pair i: 2 pi 10000^(2i/d_model)")
def sinusoidal_wavelength(pair: int, d_model: int) -> Computed:
    wl = 2 * math.pi * 10000.0 ** (2 * pair / d_model)
    return Computed(wl, f"2 pi x 10000^(2 x {pair} / {d_model}) = {wl:.4g} positions")
