"""Elementwise and row-wise building blocks: softmax, norms, activations, linear maps.

Every function takes NumPy arrays and returns NumPy arrays of the same float
dtype (float32 stays float32). Shapes are written in comments; `...` stands for
any leading batch or head dimensions. Float16 input is computed in float32 and
rounded back to float16 at the end, as PyTorch does on the CPU: sums and
variances accumulated in float16 would lose several digits.
"""

from __future__ import annotations

import math

import numpy as np


def _widen(x: np.ndarray) -> np.ndarray:
    """float16 (and any float narrower than float32) -> float32; anything else unchanged."""
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize < 4 else x


def softmax(x: np.ndarray, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """exp(x/T) / sum exp(x/T) along `axis`.                 # (..., n) -> (..., n)

    The row max is subtracted first so exp cannot overflow. A row that is all
    -inf (every position masked) has no defined softmax; it returns zeros there
    rather than NaN, so callers must decide what a fully masked row means.
    """
    x, out_dtype = _scaled_logits(x, temperature)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf row: keep exp(-inf) = 0, avoid inf - inf
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = e / s
    return np.where(s > 0, out, 0).astype(out_dtype or e.dtype, copy=False)


def _scaled_logits(x: np.ndarray, temperature: float) -> tuple[np.ndarray, np.dtype | None]:
    # (x / T, widened from float16) and the dtype to round the result back to (None: keep)
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    x = np.asarray(x)
    narrow = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize < 4 else None
    x = _widen(x)
    if temperature != 1.0:
        x = x / x.dtype.type(temperature) if x.dtype.kind == "f" else x / temperature
    return x, narrow


def log_softmax(x: np.ndarray, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """log softmax(x/T): x/T - logsumexp(x/T), without forming softmax.  # (..., n)

    A row that is all -inf gives -inf everywhere: the log of the zeros that
    softmax returns for it (PyTorch gives NaN for both).
    """
    x, out_dtype = _scaled_logits(x, temperature)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    shifted = x - m
    with np.errstate(divide="ignore", invalid="ignore"):
        lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))   # -inf: nothing left
        out = np.where(np.isneginf(lse), -np.inf, shifted - lse)
    return out.astype(out_dtype or shifted.dtype, copy=False)


def layer_norm(x: np.ndarray, g: np.ndarray | None = None, b: np.ndarray | None = None,
               eps: float = 1e-5) -> np.ndarray:
    """Normalise each vector over its last axis to mean 0, variance 1, then scale and shift.

    x: (..., d)  g, b: (d,)  ->  (..., d). Statistics are per token, so a token's
    output never depends on the other tokens or the batch.
    """
    return _normalise(x, g, b, eps, axis=-1)


def _normalise(x, g, b, eps, axis):
    # (x - mean) / sqrt(var + eps) * g + b over `axis`, computed at least in float32
    x = np.asarray(x)
    dtype = np.result_type(x, *(a for a in (g, b) if a is not None))
    w = _widen(x)
    mean = np.mean(w, axis=axis, keepdims=True)               # (..., 1)
    var = np.var(w, axis=axis, keepdims=True)                 # (..., 1), biased, as in PyTorch
    y = (w - mean) / np.sqrt(var + eps).astype(w.dtype, copy=False)
    if g is not None:
        y = y * _widen(g)
    if b is not None:
        y = y + _widen(b)
    return y.astype(dtype, copy=False) if dtype.kind == "f" else y


def rms_norm(x: np.ndarray, g: np.ndarray | None = None, eps: float = 1e-6) -> np.ndarray:
    """Scale each vector by 1/RMS over its last axis; no mean is subtracted.  # (..., d)"""
    x = np.asarray(x)
    dtype = np.result_type(x, g) if g is not None else x.dtype
    w = _widen(x)
    ms = np.mean(np.square(w), axis=-1, keepdims=True)        # (..., 1)
    y = w / np.sqrt(ms + eps).astype(w.dtype, copy=False)
    y = y * _widen(g) if g is not None else y
    return y.astype(dtype, copy=False) if dtype.kind == "f" else y


def batch_norm(x: np.ndarray, g: np.ndarray | None = None, b: np.ndarray | None = None,
               eps: float = 1e-5, axis: tuple[int, ...] | int = (0, 1)) -> np.ndarray:
    """Normalise each feature with statistics taken across the batch (training mode).

    x: (batch, seq, d) by default, statistics over `axis` = (batch, seq).
    A token's output therefore depends on every other sequence in the batch,
    including padding: the reason transformers use LayerNorm instead.
    """
    return _normalise(x, g, b, eps, axis=axis)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """x * Phi(x). approximate="none" uses erf exactly; "tanh" is GPT-2's approximation."""
    if approximate == "tanh":
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x**3)))
    if approximate != "none":
        raise ValueError(f"approximate={approximate!r} must be 'none' or 'tanh'")
    # 1 + erf(z) is computed as erfc(-z): for very negative x, 1 + erf(z) would cancel
    return 0.5 * x * _one_plus_erf(x / math.sqrt(2.0))


# Cephes (S. L. Moshier) rational approximations of erf and erfc, accurate to about
# 1e-16 relative in float64. Evaluated on whole arrays instead of per element.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
           6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
           1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)


def _polyval(coeffs: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    # Horner's rule, highest power first.
    acc = np.full_like(x, coeffs[0])
    for c in coeffs[1:]:
        acc *= x
        acc += c
    return acc


def _erf(x: np.ndarray) -> np.ndarray:
    """erf(x), vectorised. Always evaluated in float64, then cast back to x's float dtype,
    so float32 results are correctly rounded to within 1 ulp."""
    x = np.asarray(x)
    out_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    x64 = x.astype(np.float64)
    ax = np.abs(x64)
    out = np.empty_like(x64)
    small = ax <= 1.0                 # erf = x T(x^2) / U(x^2)
    xs = x64[small]
    z = xs * xs
    out[small] = xs * _polyval(_ERF_T, z) / _polyval(_ERF_U, z)
    tail = ~small
    out[tail] = 1.0 - _erfc_tail(ax[tail])
    np.copysign(out, x64, out=out, where=tail)
    return out.astype(out_dtype, copy=False)


def _erfc_tail(a: np.ndarray) -> np.ndarray:
    """erfc(a) for a > 1 (float64): exp(-a^2) P(a) / Q(a), then R/S from 8; 0 past 27."""
    out = np.zeros_like(a)
    mid = a < 8.0
    b = a[mid]
    out[mid] = np.exp(-b * b) * _polyval(_ERFC_P, b) / _polyval(_ERFC_Q, b)
    far = ~mid & (a < 27.0)           # beyond 27, erfc underflows to 0
    b = a[far]
    out[far] = np.exp(-b * b) * _polyval(_ERFC_R, b) / _polyval(_ERFC_S, b)
    out[np.isnan(a)] = np.nan
    return out


def _one_plus_erf(z: np.ndarray) -> np.ndarray:
    """1 + erf(z) = erfc(-z), accurate also where erf(z) is close to -1."""
    z = np.asarray(z)
    out_dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
    z64 = z.astype(np.float64)
    out = 1.0 + _erf(z64)
    neg = z64 < -1.0
    out[neg] = _erfc_tail(-z64[neg])
    return out.astype(out_dtype, copy=False)


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
