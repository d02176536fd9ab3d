"""Scaled dot-product attention (PyTorch semantics), its masks, and additive attention.

Conventions
-----------
* Masks are bool arrays where True means "this query may attend to this key".
  A float mask is added to the scores instead (0 keeps, -inf removes).
* q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v); leading dims broadcast.
* A fully masked row (a query that may attend to nothing) has no defined
  softmax. Here it gives zero weights and a zero output, never NaN and never a
  warning. PyTorch returns NaN for such rows.
* ``is_causal=True`` follows PyTorch: the mask is ``tril(ones(n_q, n_k))``,
  aligned to the top-left corner, so query i sees keys 0..i even when
  n_q != n_k. A KV cache, where the n_q new queries are the *last* n_q
  positions, needs the bottom-right alignment instead: pass
  ``attn_mask=causal_mask(n_q, n_k)`` (whose default offset is n_k - n_q).
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.functional import softmax

# ---------------------------------------------------------------------------
# Masks: bool, True = may attend.
# ---------------------------------------------------------------------------


def causal_mask(n_q: int, n_k: int | None = None, *, offset: int | None = None) -> np.ndarray:
    """Query i may attend to key j iff j <= i + offset.        -> (n_q, n_k) bool

    offset defaults to n_k - n_q: the queries are the last n_q of the n_k
    positions, which is what a KV cache needs (one new query sees every cached
    key). offset=0 gives PyTorch's top-left ``is_causal`` mask. With n_q == n_k
    both are the usual lower triangle.
    """
    n_k = n_q if n_k is None else n_k
    if n_q < 0 or n_k < 0:
        raise ValueError(f"n_q={n_q} and n_k={n_k} must be >= 0")
    offset = n_k - n_q if offset is None else offset
    return np.tri(n_q, n_k, k=offset, dtype=bool)


def padding_mask(lengths, n: int) -> np.ndarray:
    """Key mask from sequence lengths: key j of sequence b is real iff j < lengths[b].

    lengths: (batch,) ints in [0, n]  ->  (batch, 1, 1, n) bool, which broadcasts
    over heads and queries of (batch, n_head, n_q, n) scores.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be a 1-D integer array, got shape {lengths.shape} "
                         f"dtype {lengths.dtype}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > n):
        raise ValueError(f"lengths={lengths.tolist()} must lie in [0, n={n}]")
    return (np.arange(n) < lengths[:, None])[:, None, None, :]


def sliding_window_mask(n: int, window: int, causal: bool = True) -> np.ndarray:
    """Local attention: each position sees neighbours closer than `window`.  -> (n, n) bool

    causal=True: query i sees keys i-window+1 .. i (the `window` most recent,
    itself included), as in Mistral. causal=False: keys with |i - j| < window.
    """
    if window < 1:
        raise ValueError(f"window={window} must be >= 1")
    dist = np.arange(n)[:, None] - np.arange(n)[None, :]       # (n, n): i - j
    if causal:
        return (dist >= 0) & (dist < window)
    return np.abs(dist) < window


def global_window_mask(n: int, window: int, global_tokens) -> np.ndarray:
    """Longformer: a bidirectional sliding window plus global tokens.   -> (n, n) bool

    A global token attends to every position and every position attends to it.
    global_tokens: indices in [0, n) (e.g. [0] for a [CLS] token).
    """
    g = np.asarray(global_tokens, dtype=np.int64).reshape(-1)
    if g.size and (g.min() < -n or g.max() >= n):
        raise ValueError(f"global_tokens={g.tolist()} must be indices into n={n} positions")
    mask = sliding_window_mask(n, window, causal=False)
    mask[g, :] = True
    mask[:, g] = True
    return mask


def strided_mask(n: int, stride: int, causal: bool = True) -> np.ndarray:
    """Sparse Transformer strided pattern.                            -> (n, n) bool

    Query i sees the local block of keys with i - j < stride, plus every key a
    multiple of `stride` away ((i - j) % stride == 0), so information reaches any
    position in two hops. causal=True keeps only j <= i; causal=False mirrors the
    pattern (|i - j| < stride or |i - j| % stride == 0).
    """
    if stride < 1:
        raise ValueError(f"stride={stride} must be >= 1")
    dist = np.arange(n)[:, None] - np.arange(n)[None, :]       # (n, n): i - j
    if causal:
        return (dist >= 0) & ((dist < stride) | (dist % stride == 0))
    a = np.abs(dist)
    return (a < stride) | (a % stride == 0)


# ---------------------------------------------------------------------------
# Scaled dot-product attention
# ---------------------------------------------------------------------------

# Below this many scores per call, threads cost more than they save.
_PARALLEL_MIN_SCORES = 1 << 18
# When every |score| is below this bound, exp cannot overflow (e^60 * n stays
# far below the float32 maximum) and no row can underflow to a zero sum, so the
# usual "subtract the row max" pass can be skipped without changing the result.
_NO_SHIFT_BOUND = 60.0

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _single_threaded_blas() -> None:
    # Each worker already keeps one core busy; letting OpenBLAS start two more
    # threads per call oversubscribes the cores and roughly halves throughput.
    # Best effort: only OpenBLAS builds that export this symbol are affected.
    libdir = os.path.dirname(np.__file__) + ".libs"
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        fn(1)
        return


def _worker_pool() -> ThreadPoolExecutor | None:
    # NumPy ufuncs and BLAS calls release the GIL, so plain threads use every core.
    global _pool
    n_workers = min(os.cpu_count() or 1, 8)
    if n_workers < 2:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(n_workers, thread_name_prefix="engine-attn",
                                       initializer=_single_threaded_blas)
    return _pool


def _run(items, fn, parallel: bool) -> None:
    pool = _worker_pool() if parallel else None
    if pool is None:
        for item in items:
            fn(item)
    else:
        for _ in pool.map(fn, items):   # re-raises the first worker exception
            pass


def _float_dtype(*arrays) -> np.dtype:
    dt = np.result_type(*arrays)
    if dt.kind != "f" or dt.itemsize < 4:
        dt = np.result_type(dt, np.float32) if dt.kind == "f" else np.dtype(np.float64)
    return dt


def _check_qkv(q, k, v):
    q, k, v = np.asarray(q), np.asarray(k), np.asarray(v)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"q, k, v need at least 2 dims (..., n, d); got shapes "
                         f"{q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share d_k: q {q.shape}, k {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same n_k: k {k.shape}, v {v.shape}")
    return q, k, v


def _check_mask(attn_mask, n_q: int, n_k: int):
    if attn_mask is None:
        return None
    m = np.asarray(attn_mask)
    if m.dtype != bool and m.dtype.kind != "f":
        # as in PyTorch: an integer 0/1 mask (a Hugging Face attention_mask) would
        # otherwise be added to the scores and mask nothing
        hint = "; for a 0/1 mask pass mask.astype(bool)" if m.dtype.kind in "iu" else ""
        raise ValueError(f"attn_mask must be bool (True = may attend) or float (added to the "
                         f"scores), got dtype {m.dtype}{hint}")
    try:
        np.broadcast_shapes(m.shape, (n_q, n_k))
    except ValueError:
        raise ValueError(f"attn_mask of shape {m.shape} does not broadcast to "
                         f"(..., n_q={n_q}, n_k={n_k})") from None
    return m


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None, *,
                                 return_weights=False, softcap=None):
    """softmax(q k^T * scale + mask) v.

    q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    attn_mask: bool (True = takes part) or float (added to the scores), broadcastable
    to (..., n_q, n_k). is_causal=True applies PyTorch's top-left tril(n_q, n_k) on
    top of attn_mask (see the module docstring for KV caches). scale defaults to
    1/sqrt(d_k); scale=1.0 turns scaling off. softcap=c squashes the scaled scores to
    c * tanh(s / c) before the mask (Gemma 2's logit soft-capping). return_weights=True returns
    (output, weights) with weights (..., n_q, n_k).
    A fully masked row attends to nothing: its weights and output are zeros.
    Float32 in gives float32 out.
    """
    q, k, v = _check_qkv(q, k, v)
    n_q, n_k = q.shape[-2], k.shape[-2]
    mask = _check_mask(attn_mask, n_q, n_k)
    dtype = _float_dtype(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    if return_weights:
        return _attention_with_weights(q.astype(dtype, copy=False), k.astype(dtype, copy=False),
                                       v.astype(dtype, copy=False), mask, is_causal, scale,
                                       softcap)
    return _attention_fast(q.astype(dtype, copy=False), k.astype(dtype, copy=False),
                           v.astype(dtype, copy=False), mask, is_causal, scale, softcap)


def _soft_cap(s: np.ndarray, cap: float) -> np.ndarray:
    # cap * tanh(s / cap), in place: ~s for |s| << cap, never beyond +-cap
    s /= s.dtype.type(cap)
    np.tanh(s, out=s)
    s *= s.dtype.type(cap)
    return s


def _attention_with_weights(q, k, v, mask, is_causal, scale, softcap=None):
    # The textbook route: materialise every (n_q, n_k) weight matrix.
    scores = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)   # (..., n_q, n_k)
    if softcap is not None:
        scores = _soft_cap(scores, softcap)
    n_q, n_k = scores.shape[-2:]
    if is_causal:
        scores = np.where(causal_mask(n_q, n_k, offset=0), scores, -np.inf)
    if mask is not None:
        if mask.dtype == bool:
            scores = np.where(mask, scores, -np.inf)
        else:
            scores = scores + mask.astype(scores.dtype, copy=False)
    w = softmax(scores, axis=-1)                                   # (..., n_q, n_k)
    return w @ v, w                                                # (..., n_q, d_v)


def _row_block(n_k: int) -> int:
    # About 2^19 scores (2 MiB in float32) per block: it stays in cache between
    # the matmul that writes it, exp, and the matmul that reads it.
    return int(min(512, max(16, (1 << 19) // max(n_k, 1))))


def _broadcast_batch(q, k, v, *more: tuple[int, ...]):
    """Broadcast the leading dims of q, k, v (and any mask's): (batch, qb, kb, vb, zero out).

    qb: batch + (n_q, d_k)  kb: batch + (n_k, d_k)  vb: batch + (n_k, d_v)
    out: zeros, batch + (n_q, d_v)
    """
    (n_q, d_k), (n_k, d_v) = q.shape[-2:], v.shape[-2:]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], *more)
    return (batch, np.broadcast_to(q, batch + (n_q, d_k)), np.broadcast_to(k, batch + (n_k, d_k)),
            np.broadcast_to(v, batch + (n_k, d_v)),
            np.zeros(batch + (n_q, d_v), dtype=np.result_type(q, k, v)))


def _row_max(s: np.ndarray) -> np.ndarray:
    row_max = s.max(axis=-1, keepdims=True)                         # (r, 1)
    # An all -inf row keeps shift 0, so exp gives zeros instead of NaN.
    np.copyto(row_max, 0, where=~np.isfinite(row_max))
    return row_max


def _attention_fast(q, k, v, mask, is_causal, scale, softcap=None):
    """Same maths as _attention_with_weights, never holding more than a row block.

    Work is split into (batch item, block of query rows) and spread over a small
    thread pool. Per block: one score buffer, exp in place, and the row sums come
    out of the second matmul for free from a column of ones appended to v.
    """
    dtype = q.dtype
    n_q, n_k, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    batch, qb, kb, vb, out = _broadcast_batch(q, k, v, () if mask is None else mask.shape[:-2])
    if out.size == 0 or n_k == 0:
        return out
    mb = None if mask is None else np.broadcast_to(mask, batch + (n_q, n_k))
    float_mask = mb is not None and mb.dtype != bool
    if float_mask:
        mb = mb.astype(dtype, copy=False)

    # Bound |q_i . k_j| * scale <= scale |q_i| max_j |k_j| (Cauchy-Schwarz). Rows whose
    # bound is small skip the row-max pass: exp cannot overflow there. The bound for a
    # row uses only the keys that row may see (all keys, or keys <= i when causal) of
    # its own batch item, so a row's result never depends on masked or other items' data,
    # which keeps causal outputs bit-identical when future tokens change. Any explicit
    # mask takes the max-subtracting route, whose row max covers only visible keys.
    q_norm = np.sqrt(np.einsum("...i,...i->...", qb, qb))          # batch + (n_q,)
    k_norm = np.sqrt(np.einsum("...i,...i->...", kb, kb))          # batch + (n_k,)
    always_shift = mb is not None
    k_seen = (np.maximum.accumulate(k_norm, axis=-1) if is_causal   # keys 0..i
              else k_norm.max(axis=-1, keepdims=True))              # batch + (n_k or 1,)

    r = _row_block(n_k)
    tril = np.tri(r, r, k=0, dtype=bool)                          # within-block causal
    sc = dtype.type(scale)
    v_aug_cache: dict[tuple, np.ndarray] = {}
    v_lock = threading.Lock()

    def v_aug(idx):
        # v with a column of ones: (s @ [v, 1])[:, -1] is the softmax denominator.
        with v_lock:
            a = v_aug_cache.get(idx)
            if a is None:
                a = np.empty((n_k, d_v + 1), dtype=dtype)
                a[:, :d_v] = vb[idx]
                a[:, d_v] = 1
                v_aug_cache[idx] = a
        return a

    def block(item):
        idx, i0 = item
        i1 = min(i0 + r, n_q)
        # Causal (top-left): rows i0..i1-1 never see keys >= i1, so skip those columns.
        kmax = min(i1, n_k) if is_causal else n_k
        qs = qb[idx][i0:i1] * sc                                    # (r, d_k)
        s = qs @ kb[idx][:kmax].T                                   # (r, kmax)
        if softcap is not None:     # |s| only shrinks, so the shift bound below still holds
            _soft_cap(s, softcap)
        if is_causal and i0 < kmax:
            cols = kmax - i0                                        # diagonal tile
            np.copyto(s[:, i0:kmax], -np.inf, where=~tril[: i1 - i0, :cols])
        if mb is not None:
            m = mb[idx][i0:i1, :kmax]
            if float_mask:
                s += m
            else:
                np.copyto(s, -np.inf, where=~m)
        if always_shift:
            s -= _row_max(s)
        else:
            seen = (k_seen[idx][np.minimum(np.arange(i0, i1), n_k - 1)] if is_causal
                    else k_seen[idx][0])
            rows = np.flatnonzero(abs(scale) * q_norm[idx][i0:i1] * seen >= _NO_SHIFT_BOUND)
            if rows.size:
                part = s[rows]                                      # (rows, kmax) copy
                s[rows] = part - _row_max(part)
        np.exp(s, out=s)
        o = s @ v_aug(idx)[:kmax]                                   # (r, d_v + 1)
        denom = o[:, d_v:]
        np.divide(o[:, :d_v], denom, out=out[idx][i0:i1], where=denom > 0)

    items = [(idx, i0) for idx in np.ndindex(batch) for i0 in range(0, n_q, r)]
    n_scores = math.prod(batch) * n_q * n_k
    _run(items, block, parallel=len(items) > 1 and n_scores >= _PARALLEL_MIN_SCORES)
    return out


# ---------------------------------------------------------------------------
# Additive (Bahdanau) attention
# ---------------------------------------------------------------------------


def additive_attention(q, k, v, w_q, w_k, v_a, mask=None, *, return_weights=False):
    """Bahdanau attention: score(q_i, k_j) = v_a . tanh(q_i W_q + k_j W_k).

    q: (..., n_q, d_q)  k: (..., n_k, d_k)  v: (..., n_k, d_v)
    w_q: (d_q, d_a)  w_k: (d_k, d_a)  v_a: (d_a,)
    mask: bool (True = may attend), broadcastable to (..., n_q, n_k).
    -> (..., n_q, d_v), plus weights (..., n_q, n_k) if return_weights.
    Memory is O(n_q n_k d_a): the tanh is taken of every query-key pair.
    """
    q, k, v = np.asarray(q), np.asarray(k), np.asarray(v)
    w_q, w_k, v_a = np.asarray(w_q), np.asarray(w_k), np.asarray(v_a)
    if w_q.shape[0] != q.shape[-1] or w_k.shape[0] != k.shape[-1]:
        raise ValueError(f"w_q {w_q.shape} must be (d_q={q.shape[-1]}, d_a) and w_k {w_k.shape} "
                         f"(d_k={k.shape[-1]}, d_a)")
    if not (w_q.shape[1] == w_k.shape[1] == v_a.shape[-1]) or v_a.ndim != 1:
        raise ValueError(f"w_q {w_q.shape}, w_k {w_k.shape} and v_a {v_a.shape} must share d_a")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same n_k: k {k.shape}, v {v.shape}")
    hq = q @ w_q                                                    # (..., n_q, d_a)
    hk = k @ w_k                                                    # (..., n_k, d_a)
    scores = np.tanh(hq[..., :, None, :] + hk[..., None, :, :]) @ v_a   # (..., n_q, n_k)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise ValueError(f"mask must be bool (True = may attend), got dtype {mask.dtype}")
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores, axis=-1)                                    # (..., n_q, n_k)
    out = w @ v                                                     # (..., n_q, d_v)
    return (out, w) if return_weights else out
