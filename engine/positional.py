"""Positional information: sinusoidal and learned tables, RoPE, ALiBi."""

from __future__ import annotations

import math

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


def rope_angles(positions, d_head: int, theta: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin tables for RoPE, Hugging Face layout.   positions (..., n) -> 2 x (..., n, d)

    inv_freq_i = theta^(-2i/d); both halves of the head dim share the frequencies.
    """
    _check_even(d_head)
    inv_freq = theta ** (-np.arange(0, d_head, 2, dtype=np.float64) / d_head)   # (d/2,)
    freqs = np.asarray(positions, dtype=np.float64)[..., None] * inv_freq      # (..., n, d/2)
    emb = np.concatenate([freqs, freqs], axis=-1)                               # (..., n, d)
    return np.cos(emb), np.sin(emb)


def _rotate_half(x: np.ndarray) -> np.ndarray:
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def rope(x, positions=None, theta: float = 10000.0) -> np.ndarray:
    """Rotary position embedding (Su et al.), rotate-half convention of HF LLaMA.

    x: (..., n, d_head)  positions: (n,) or broadcastable to (..., n); default 0..n-1.
    -> same shape and dtype as x. Dimension i is paired with i + d_head/2 and the
    pair is rotated by angle p * theta^(-2i/d_head). Rotations preserve norms, and
    (R_p q) . (R_s k) depends only on s - p, so scores see relative offsets.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must be (..., n, d_head), got shape {x.shape}")
    n, d = x.shape[-2:]
    positions = np.arange(n) if positions is None else np.asarray(positions)
    if positions.shape[-1:] != (n,):
        raise ValueError(f"positions {positions.shape} must end in n={n}")
    cos, sin = rope_angles(positions, d, theta)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    cos, sin = cos.astype(dtype, copy=False), sin.astype(dtype, copy=False)
    return x * cos + _rotate_half(x) * sin


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
