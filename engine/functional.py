"""Elementwise and row-wise building blocks: softmax, norms, activations, linear maps.

Every function takes NumPy arrays and returns NumPy arrays of the same float
dtype (float32 stays float32). Shapes are written in comments; `...` stands for
any leading batch or head dimensions.
"""

from __future__ import annotations

import math

import numpy as np


def softmax(x: np.ndarray, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """exp(x/T) / sum exp(x/T) along `axis`.                 # (..., n) -> (..., n)

    The row max is subtracted first so exp cannot overflow. A row that is all
    -inf (every position masked) has no defined softmax; it returns zeros there
    rather than NaN, so callers must decide what a fully masked row means.
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    x = np.asarray(x)
    if temperature != 1.0:
        x = x / x.dtype.type(temperature) if x.dtype.kind == "f" else x / temperature
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf row: keep exp(-inf) = 0, avoid inf - inf
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = e / s
    return np.where(s > 0, out, 0).astype(e.dtype, copy=False)


def log_softmax(x: np.ndarray, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """log softmax(x/T): x/T - logsumexp(x/T), without forming softmax.  # (..., n)"""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    x = np.asarray(x)
    if temperature != 1.0:
        x = x / x.dtype.type(temperature) if x.dtype.kind == "f" else x / temperature
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    shifted = x - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def layer_norm(x: np.ndarray, g: np.ndarray | None = None, b: np.ndarray | None = None,
               eps: float = 1e-5) -> np.ndarray:
    """Normalise each vector over its last axis to mean 0, variance 1, then scale and shift.

    x: (..., d)  g, b: (d,)  ->  (..., d). Statistics are per token, so a token's
    output never depends on the other tokens or the batch.
    """
    mean = np.mean(x, axis=-1, keepdims=True)                 # (..., 1)
    var = np.var(x, axis=-1, keepdims=True)                   # (..., 1), biased, as in PyTorch
    y = (x - mean) / np.sqrt(var + eps).astype(x.dtype, copy=False)
    if g is not None:
        y = y * g
    if b is not None:
        y = y + b
    return y


def rms_norm(x: np.ndarray, g: np.ndarray | None = None, eps: float = 1e-6) -> np.ndarray:
    """Scale each vector by 1/RMS over its last axis; no mean is subtracted.  # (..., d)"""
    ms = np.mean(np.square(x), axis=-1, keepdims=True)        # (..., 1)
    y = x / np.sqrt(ms + eps).astype(x.dtype, copy=False)
    return y * g if g is not None else y


def batch_norm(x: np.ndarray, g: np.ndarray | None = None, b: np.ndarray | None = None,
               eps: float = 1e-5, axis: tuple[int, ...] | int = (0, 1)) -> np.ndarray:
    """Normalise each feature with statistics taken across the batch (training mode).

    x: (batch, seq, d) by default, statistics over `axis` = (batch, seq).
    A token's output therefore depends on every other sequence in the batch,
    including padding: the reason transformers use LayerNorm instead.
    """
    mean = np.mean(x, axis=axis, keepdims=True)
    var = np.var(x, axis=axis, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps).astype(x.dtype, copy=False)
    if g is not None:
        y = y * g
    if b is not None:
        y = y + b
    return y


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """x * Phi(x). approximate="none" uses erf exactly; "tanh" is GPT-2's approximation."""
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x**3)))
    if approximate != "none":
        raise ValueError(f"approximate={approximate!r} must be 'none' or 'tanh'")
    return 0.5 * x * (1 + _erf(x / math.sqrt(2.0)))


def _erf(x: np.ndarray) -> np.ndarray:
    # NumPy has no vectorised erf; math.erf is exact to double precision.
    x = np.asarray(x)
    return np.vectorize(math.erf, otypes=[x.dtype if x.dtype.kind == "f" else np.float64])(x)


def silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x), also called swish."""
    return x / (1 + np.exp(-x))


def swiglu(x: np.ndarray, w_gate: np.ndarray, w_up: np.ndarray) -> np.ndarray:
    """SiLU(x W_gate) * (x W_up): the gated hidden layer of a SwiGLU FFN.

    x: (..., d)  w_gate, w_up: (d, d_ff)  ->  (..., d_ff)
    """
    return silu(x @ w_gate) * (x @ w_up)


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """x W + b.   x: (..., d_in)  w: (d_in, d_out)  b: (d_out,)  ->  (..., d_out)"""
    y = x @ w
    return y + b if b is not None else y


def embedding(ids: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Look up rows of `table`.   ids: (...,) int  table: (vocab, d)  ->  (..., d)"""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise ValueError(f"token id out of range [0, {table.shape[0]})")
    return table[ids]
