"""Positional information: sinusoidal and learned tables, RoPE (with context-extension
scaling: linear, dynamic NTK, YaRN, LongRoPE, Llama 3), ALiBi."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def _check_even(d: int) -> None:
    if d < 2 or d % 2:
        raise ValueError(f"d={d} must be a positive even number (dimensions come in pairs)")


def _sinusoid_freqs(d: int, base: float) -> np.ndarray:
    # omega_i = base^(-2i/d), i = 0 .. d/2 - 1: from one turn per 2*pi tokens down to
    # one turn per 2*pi*base tokens.
    return base ** (-np.arange(0, d, 2, dtype=np.float64) / d)      # (d/2,)


def sinusoidal_positions(n: int, d: int, base: float = 10000.0, *,
                         dtype=np.float64) -> np.ndarray:
    """Vaswani et al.: PE[p, 2i] = sin(p w_i), PE[p, 2i+1] = cos(p w_i).   -> (n, d)"""
    _check_even(d)
    if n < 0 or base <= 0:
        raise ValueError(f"n={n} must be >= 0 and base={base} > 0")
    angles = np.arange(n, dtype=np.float64)[:, None] * _sinusoid_freqs(d, base)  # (n, d/2)
    pe = np.empty((n, d), dtype=np.float64)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    return pe.astype(dtype, copy=False)


def sinusoidal_shift_matrix(k: int, d: int, base: float = 10000.0) -> np.ndarray:
    """The fixed linear map M_k with PE[p + k] = PE[p] @ M_k for every p.   -> (d, d)

    Block-diagonal: each (sin, cos) pair is rotated by the angle k w_i, because
    sin(a + b) = sin a cos b + cos a sin b and cos(a + b) = cos a cos b - sin a sin b.
    This is why a model can attend by relative offset with a linear map.
    """
    _check_even(d)
    theta = k * _sinusoid_freqs(d, base)                            # (d/2,)
    c, s = np.cos(theta), np.sin(theta)
    m = np.zeros((d, d), dtype=np.float64)
    i = np.arange(0, d, 2)
    m[i, i] = c              # new sin <- sin * cos(kw)
    m[i + 1, i] = s          #          + cos * sin(kw)
    m[i, i + 1] = -s         # new cos <- -sin * sin(kw)
    m[i + 1, i + 1] = c      #          + cos * cos(kw)
    return m


def learned_positions(n_ctx: int, d: int, rng: np.random.Generator, std: float = 0.02, *,
                      dtype=np.float64) -> np.ndarray:
    """A trainable position table initialised N(0, std^2), as in GPT-2.   -> (n_ctx, d)

    It knows nothing about positions >= n_ctx: the model cannot extrapolate.
    """
    if n_ctx < 1 or d < 1 or std < 0:
        raise ValueError(f"n_ctx={n_ctx}, d={d} must be >= 1 and std={std} >= 0")
    return rng.normal(0.0, std, (n_ctx, d)).astype(dtype)


# ----------------------------------------------------------------------------- RoPE

# Hugging Face rope_type -> (required keys, optional keys) of its scaling dict, as in
# transformers' modeling_rope_utils (rope_theta and partial_rotary_factor are passed
# separately here, as theta and dim).
ROPE_SCALING_KEYS: dict[str, tuple[frozenset, frozenset]] = {
    "default": (frozenset(), frozenset()),
    "linear": (frozenset({"factor"}), frozenset()),
    "dynamic": (frozenset({"factor"}), frozenset()),
    "yarn": (frozenset({"factor", "original_max_position_embeddings"}),
             frozenset({"attention_factor", "beta_fast", "beta_slow", "mscale",
                        "mscale_all_dim", "truncate"})),
    "longrope": (frozenset({"short_factor", "long_factor", "original_max_position_embeddings"}),
                 frozenset({"attention_factor", "factor"})),
    "llama3": (frozenset({"factor", "original_max_position_embeddings", "low_freq_factor",
                          "high_freq_factor"}), frozenset()),
}
# rope types whose frequencies depend on the current sequence length
LENGTH_DEPENDENT_ROPE = ("dynamic", "longrope")


def rope_type(scaling) -> str:
    """The rope_type of a scaling dict ("type" is the older spelling); "default" for None."""
    if not scaling:
        return "default"
    return scaling.get("rope_type", scaling.get("type", "default"))


def check_rope_scaling(scaling, dim: int | None = None) -> dict | None:
    """Validate a RoPE scaling dict; return it with `rope_type` set, or None for plain RoPE.

    Keys are those of transformers' `rope_parameters` / `rope_scaling` (see
    ROPE_SCALING_KEYS). A ValueError names any unknown rope_type, missing key or key
    that rope_type does not use, so no setting is silently ignored. dim (the rotated
    dims per head) checks the length of longrope's factor lists.
    """
    if scaling is None:
        return None
    if not isinstance(scaling, Mapping):
        raise ValueError(f"rope scaling must be a dict, got {scaling!r}")
    kind = rope_type(scaling)
    if kind not in ROPE_SCALING_KEYS:
        raise ValueError(f"rope_type={kind!r} is not supported; known: "
                         f"{', '.join(ROPE_SCALING_KEYS)}")
    required, optional = ROPE_SCALING_KEYS[kind]
    given = set(scaling) - {"rope_type", "type"}
    if "type" in scaling and "rope_type" in scaling and scaling["type"] != scaling["rope_type"]:
        raise ValueError(f"rope scaling has type={scaling['type']!r} and "
                         f"rope_type={scaling['rope_type']!r}")
    for key in ("rope_theta", "partial_rotary_factor"):
        if key in given:
            raise ValueError(f"rope scaling key {key!r} belongs in theta / the rotated dims, "
                             "not in the scaling dict")
    missing = sorted(required - given)
    unknown = sorted(given - required - optional)
    if missing or unknown:
        raise ValueError(f"rope_type={kind!r}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + ([f"unsupported key(s) {', '.join(unknown)}"] if unknown else [])))
    out = {k: v for k, v in scaling.items() if k != "type"} | {"rope_type": kind}
    factor = out.get("factor")
    if factor is not None and (not isinstance(factor, (int, float)) or factor <= 0):
        raise ValueError(f"rope_type={kind!r}: factor={factor!r} must be a number > 0")
    if kind == "llama3" and not out["high_freq_factor"] > out["low_freq_factor"]:
        raise ValueError(f"rope_type='llama3': high_freq_factor={out['high_freq_factor']} "
                         f"must exceed low_freq_factor={out['low_freq_factor']}")
    if kind == "longrope" and dim is not None:
        for key in ("short_factor", "long_factor"):
            if len(out[key]) != dim // 2:
                raise ValueError(f"rope_type='longrope': {key} has {len(out[key])} entries; "
                                 f"the {dim} rotated dims need {dim // 2}")
    if kind == "default":
        return None
    return out


def _default_inv_freq(dim: int, base: float) -> np.ndarray:
    # theta^(-2i/d), i = 0 .. d/2 - 1
    return 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))      # (d/2,)


def _yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def rope_inv_freq(dim: int, theta: float = 10000.0, scaling=None, seq_len: int | None = None,
                  max_position_embeddings: int | None = None) -> tuple[np.ndarray, float]:
    """RoPE inverse frequencies and attention factor, with optional context-extension scaling.

    dim: dims of each head that are rotated (head_dim, or fewer with partial rotary).
    -> (inv_freq (dim/2,) float64, attention_factor). The attention factor multiplies
    cos and sin, so the scores (q . k) scale by its square. `scaling` is a
    transformers rope dict (see check_rope_scaling); the formulas are those of
    transformers' ROPE_INIT_FUNCTIONS, in float64:

    - None / "default": w_i = theta^(-2i/d).
    - "linear" (position interpolation): w_i / factor, i.e. position p acts as p / factor.
    - "dynamic" (NTK-aware, grows with the sequence): theta is raised to
      theta * (factor * L / L0 - (factor - 1))^(d / (d - 2)), with L = max(seq_len, L0) and
      L0 = max_position_embeddings; unchanged up to L0.
    - "yarn": dims that turn more than beta_fast times over the original context keep w_i,
      dims that turn fewer than beta_slow times are interpolated (w_i / factor), with a
      linear ramp between; attention factor 0.1 ln(factor) + 1 (or the mscale ratio).
    - "longrope": w_i / ext_i with ext = long_factor once seq_len exceeds the original
      context, short_factor before; attention factor sqrt(1 + ln(factor) / ln(L_orig)).
    - "llama3": wavelengths 2 pi / w_i shorter than L_orig / high_freq_factor are kept,
      longer than L_orig / low_freq_factor are divided by factor, and in between they are
      interpolated smoothly in L_orig / wavelength.
    seq_len (the current length) matters only for "dynamic" and "longrope";
    max_position_embeddings only for "dynamic" and when yarn/longrope omit `factor`.
    """
    _check_even(dim)
    scaling = check_rope_scaling(scaling, dim)
    kind = rope_type(scaling)
    if kind == "default":
        return _default_inv_freq(dim, theta), 1.0
    s = scaling

    def need_max_pos():
        if max_position_embeddings is None:
            raise ValueError(f"rope_type={kind!r} needs max_position_embeddings")
        return max_position_embeddings

    if kind == "linear":
        return _default_inv_freq(dim, theta) / s["factor"], 1.0
    if kind == "dynamic":
        max_pos = need_max_pos()
        length = max_pos if seq_len is None else max(seq_len, max_pos)
        base = theta * ((s["factor"] * length / max_pos) - (s["factor"] - 1)) ** (dim / (dim - 2))
        return _default_inv_freq(dim, base), 1.0
    if kind == "llama3":
        return _llama3_inv_freq(dim, theta, s), 1.0
    if kind == "yarn":
        return _yarn_inv_freq(dim, theta, s, need_max_pos)
    # longrope
    original = s["original_max_position_embeddings"]
    factor = s.get("factor")
    if factor is None:
        factor = need_max_pos() / original
    attention_factor = s.get("attention_factor")
    if attention_factor is None:
        attention_factor = (1.0 if factor <= 1.0
                            else math.sqrt(1 + math.log(factor) / math.log(original)))
    ext = np.asarray(s["long_factor"] if seq_len and seq_len > original else s["short_factor"],
                     dtype=np.float64)                                          # (d/2,)
    return 1.0 / (ext * theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim)), attention_factor


def _llama3_inv_freq(dim: int, theta: float, s) -> np.ndarray:
    inv_freq = _default_inv_freq(dim, theta)                                    # (d/2,)
    factor, low, high = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old_len = s["original_max_position_embeddings"]
    low_freq_wavelen, high_freq_wavelen = old_len / low, old_len / high
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)                          # 0 .. 1 between
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
    return np.where(medium, smoothed, scaled)


def _yarn_inv_freq(dim: int, theta: float, s, need_max_pos) -> tuple[np.ndarray, float]:
    original = s["original_max_position_embeddings"]
    factor = s["factor"]
    if factor is None:
        factor = need_max_pos() / original
    attention_factor = s.get("attention_factor")
    if attention_factor is None:
        mscale, mscale_all_dim = s.get("mscale"), s.get("mscale_all_dim")
        if mscale and mscale_all_dim:
            attention_factor = _yarn_mscale(factor, mscale) / _yarn_mscale(factor, mscale_all_dim)
        else:
            attention_factor = _yarn_mscale(factor)
    beta_fast, beta_slow = s.get("beta_fast") or 32, s.get("beta_slow") or 1

    def correction_dim(n_rotations):
        # the dim index whose wavelength fits n_rotations times into the original context
        return dim * math.log(original / (n_rotations * 2 * math.pi)) / (2 * math.log(theta))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if s.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001                                   # avoid dividing by zero in the ramp
    ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
    pos_freqs = theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim)         # (d/2,)
    extrapolation = 1 - ramp                            # 1: keep w_i, 0: interpolate
    inv_freq = ((1.0 / (factor * pos_freqs)) * (1 - extrapolation)
                + (1.0 / pos_freqs) * extrapolation)
    return inv_freq, float(attention_factor)


def rope_angles(positions, d_head: int, theta: float = 10000.0, *,
                inv_freq: np.ndarray | None = None,
                attention_factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin tables for RoPE, Hugging Face layout.   positions (..., n) -> 2 x (..., n, d)

    inv_freq_i = theta^(-2i/d) unless inv_freq (d/2,) is given (see rope_inv_freq);
    both halves of the rotated dims share the frequencies. Both tables are
    multiplied by attention_factor (YaRN, LongRoPE).
    """
    _check_even(d_head)
    if inv_freq is None:
        inv_freq = _default_inv_freq(d_head, theta)                             # (d/2,)
    elif np.shape(inv_freq) != (d_head // 2,):
        raise ValueError(f"inv_freq of shape {np.shape(inv_freq)} does not fit d={d_head}")
    freqs = np.asarray(positions, dtype=np.float64)[..., None] * inv_freq      # (..., n, d/2)
    emb = np.concatenate([freqs, freqs], axis=-1)                               # (..., n, d)
    cos, sin = np.cos(emb), np.sin(emb)
    if attention_factor != 1.0:
        cos, sin = cos * attention_factor, sin * attention_factor
    return cos, sin


def _rotate_half(x: np.ndarray) -> np.ndarray:
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate the first r = cos.shape[-1] dims of x by the given tables; pass the rest.

    x: (..., n, d_head)  cos, sin: broadcastable to (..., n, r), r <= d_head  ->  like x.
    With r < d_head this is partial rotary (GPT-NeoX's rotary_pct, Phi's
    partial_rotary_factor): the last d_head - r dims carry no position at all.
    """
    r = cos.shape[-1]
    if r == x.shape[-1]:
        return x * cos + _rotate_half(x) * sin
    if r > x.shape[-1]:
        raise ValueError(f"rotary tables of width {r} exceed the head dim {x.shape[-1]}")
    rot = x[..., :r]
    return np.concatenate([rot * cos + _rotate_half(rot) * sin, x[..., r:]], axis=-1)


def rope(x, positions=None, theta: float = 10000.0, *, inv_freq: np.ndarray | None = None,
         attention_factor: float = 1.0) -> np.ndarray:
    """Rotary position embedding (Su et al.), rotate-half convention of HF LLaMA.

    x: (..., n, d_head)  positions: (n,) or broadcastable to (..., n); default 0..n-1.
    -> same shape and dtype as x. Dimension i is paired with i + d_head/2 and the
    pair is rotated by angle p * theta^(-2i/d_head). Rotations preserve norms, and
    (R_p q) . (R_s k) depends only on s - p, so scores see relative offsets.
    inv_freq (r/2,) (from rope_inv_freq) replaces the frequencies and rotates only
    the first r dims; attention_factor scales the rotated dims.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must be (..., n, d_head), got shape {x.shape}")
    n, d = x.shape[-2:]
    positions = np.arange(n) if positions is None else np.asarray(positions)
    if positions.shape[-1:] != (n,):
        raise ValueError(f"positions {positions.shape} must end in n={n}")
    r = d if inv_freq is None else 2 * len(inv_freq)
    cos, sin = rope_angles(positions, r, theta, inv_freq=inv_freq,
                           attention_factor=attention_factor)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    cos, sin = cos.astype(dtype, copy=False), sin.astype(dtype, copy=False)
    return apply_rope(x, cos, sin)


def alibi_slopes(n_head: int) -> np.ndarray:
    """ALiBi head slopes (Press et al.): the geometric sequence 2^(-8/n), 2^(-16/n), ...

    For n_head not a power of two, take the slopes for the nearest lower power
    of two p, then every other slope of the 2p sequence, starting with its first
    (2^(-4/p), 2^(-12/p), ...), until there are n_head.   -> (n_head,) float64
    """
    if n_head < 1:
        raise ValueError(f"n_head={n_head} must be >= 1")

    def power_of_two(n):
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    p = 2 ** int(math.floor(math.log2(n_head)))
    slopes = power_of_two(p)
    if p != n_head:
        slopes += power_of_two(2 * p)[0::2][: n_head - p]
    return np.array(slopes, dtype=np.float64)


def alibi_bias(n_head: int, n_q: int, n_k: int, *, dtype=np.float64) -> np.ndarray:
    """Additive ALiBi bias -slope_h * |pos_i - j|.           -> (n_head, n_q, n_k)

    The queries are the last n_q of the n_k positions (pos_i = n_k - n_q + i), as
    with a KV cache. On the causal part (j <= pos_i) this is the paper's
    m * [-(i-1), ..., -1, 0]; combine with a causal mask for decoders.
    """
    if n_q < 0 or n_k < 0 or n_q > n_k:
        raise ValueError(f"need 0 <= n_q={n_q} <= n_k={n_k}")
    pos_q = np.arange(n_k - n_q, n_k)                               # (n_q,)
    dist = np.abs(pos_q[:, None] - np.arange(n_k)[None, :])        # (n_q, n_k)
    return (-alibi_slopes(n_head)[:, None, None] * dist).astype(dtype, copy=False)
