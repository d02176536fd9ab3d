"""Attention that avoids the n x n matrix: tiled (flash), linear, Performer, Linformer.

q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
throughout; leading dims broadcast.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from engine.attention import (
    _broadcast_batch,
    _check_qkv,
    _float_dtype,
    _run,
    _worker_pool,
    causal_mask,
    scaled_dot_product_attention,
)


@dataclass(frozen=True)
class AttentionCost:
    """Rough cost of one attention call, for comparing the variants.

    flops: multiply-adds counted as 2. memory_floats: the largest intermediate
    the method holds (scores, tiles, or feature/summary matrices); for flash,
    everything flash_attention holds besides its inputs and output.
    """

    method: str
    flops: int
    memory_floats: int


def _flash_held(n: int, d: int, h: int, block_q: int, block_k: int, workers: int) -> int:
    # Per batch item in progress: a contiguous K^T (d x n) and [V | 1] (n x (d + 1)).
    # Per thread: the scaled query block (bq x d), one score tile (bq x bk), the running
    # [sum p v | sum p] and the tile's product with [V | 1] (2 x bq x (d + 1)), and
    # four bq-long vectors (running max, tile max, new max, rescale factors).
    bq, bk = min(block_q, n), min(block_k, n)
    busy = min(h * -(-n // bq), workers)
    return min(h, workers) * n * (2 * d + 1) + busy * (bq * d + bq * bk + 2 * bq * (d + 1) + 4 * bq)


def attention_cost(method: str, n: int, d: int, *, n_head: int = 1, block_q: int = 256,
                   block_k: int = 512, n_features: int = 256, k_rank: int = 64,
                   workers: int = 1) -> AttentionCost:
    """FLOPs and largest intermediate of one call on n tokens with head dim d.

    n_head counts independent (batch x head) items. `workers` is the number of
    threads running flash_attention's query blocks at once (see flash_workers).
    """
    if workers < 1:
        raise ValueError(f"workers={workers} must be >= 1")
    h = n_head
    table = {
        "full": (4 * h * n * n * d, h * n * n),
        "flash": (4 * h * n * n * d, _flash_held(n, d, h, block_q, block_k, workers)),
        "linear": (4 * h * n * d * d, h * d * d),
        "performer": (4 * h * n * n_features * d + 4 * h * n * n_features * d,
                      h * n * n_features),
        "linformer": (4 * h * n * k_rank * d + 4 * h * n * k_rank * d, h * n * k_rank),
    }
    if method not in table:
        raise ValueError(f"method={method!r} must be one of {sorted(table)}")
    flops, mem = table[method]
    return AttentionCost(method, int(flops), int(mem))


# ---------------------------------------------------------------------------
# Tiled attention with an online softmax
# ---------------------------------------------------------------------------


def _flash_parallel(n_batch: int, n_q: int, n_k: int, block_q: int) -> bool:
    return n_batch * -(-n_q // block_q) > 1 and n_batch * n_q * n_k >= 1 << 18


def flash_workers(n_batch: int, n_q: int, n_k: int, block_q: int = 256) -> int:
    """Threads flash_attention spreads its query blocks over for these sizes (1: none)."""
    pool = _worker_pool() if _flash_parallel(n_batch, n_q, n_k, block_q) else None
    return pool._max_workers if pool is not None else 1


def flash_attention(q, k, v, is_causal=False, scale=None, block_q=256, block_k=512):
    """softmax(q k^T * scale) v computed tile by tile, FlashAttention style.

    Only (block_q, block_k) score tiles ever exist. Each query block keeps a
    running row max m, a running denominator l and an unnormalised output acc;
    when a new tile raises the max, the old l and acc are rescaled by
    exp(m_old - m_new), so the result equals the plain softmax exactly (up to
    rounding). is_causal follows PyTorch (top-left tril); fully masked tiles are
    skipped, which halves the work. Besides the tiles, a batch item in progress
    holds a contiguous K^T and [V | 1] (freed after its last query block):
    attention_cost("flash", ...) counts it all. Float16 in gives float32 out,
    as in scaled_dot_product_attention.
    q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    """
    q, k, v = _check_qkv(q, k, v)
    if block_q < 1 or block_k < 1:
        raise ValueError(f"block_q={block_q} and block_k={block_k} must be >= 1")
    dtype = _float_dtype(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    n_q, d_k = q.shape[-2:]
    n_k, d_v = v.shape[-2:]
    sc = dtype.type(1.0 / math.sqrt(d_k) if scale is None else scale)
    batch, qb, kb, vb, out = _broadcast_batch(q, k, v)
    if out.size == 0 or n_k == 0:
        return out
    prepared: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    n_blocks = -(-n_q // block_q)
    blocks_left = dict.fromkeys(np.ndindex(batch), n_blocks)
    lock = threading.Lock()

    def kv_for(idx):
        # k^T contiguous so each tile's matmul reads rows; v with a ones column
        # so the tile's row sums come out of the same matmul as its output.
        with lock:
            pair = prepared.get(idx)
            if pair is None:
                kt = np.ascontiguousarray(kb[idx].T)               # (d_k, n_k)
                va = np.empty((n_k, d_v + 1), dtype=dtype)         # (n_k, d_v + 1)
                va[:, :d_v] = vb[idx]
                va[:, d_v] = 1
                pair = prepared[idx] = (kt, va)
        return pair

    def done_with(idx):
        with lock:
            blocks_left[idx] -= 1
            if not blocks_left[idx]:
                del prepared[idx]                                   # its last query block

    def query_block(item):
        try:
            _query_block(item)
        finally:
            done_with(item[0])

    def _query_block(item):
        idx, i0 = item
        i1 = min(i0 + block_q, n_q)
        kt, va = kv_for(idx)
        qs = qb[idx][i0:i1] * sc                                    # (bq, d_k)
        m = np.full((i1 - i0, 1), -np.inf, dtype=dtype)             # running row max
        acc = np.zeros((i1 - i0, d_v + 1), dtype=dtype)             # [sum p v, sum p]
        k_end = min(i1, n_k) if is_causal else n_k
        for j0 in range(0, k_end, block_k):
            j1 = min(j0 + block_k, k_end)
            s = qs @ kt[:, j0:j1]                                   # (bq, bk) tile
            if is_causal and j1 - 1 > i0:                           # tile crosses the diagonal
                np.copyto(s, -np.inf, where=~causal_mask(i1 - i0, j1 - j0, offset=i0 - j0))
            m_new = np.maximum(m, s.max(axis=-1, keepdims=True))    # (bq, 1)
            s -= m_new
            np.exp(s, out=s)                                        # p = exp(s - m_new)
            if j0 > 0:
                acc *= np.exp(m - m_new)                            # rescale the old tiles
            acc += s @ va[j0:j1]                                    # (bq, d_v + 1)
            m = m_new
        np.divide(acc[:, :d_v], acc[:, d_v:], out=out[idx][i0:i1])

    items = [(idx, i0) for idx in np.ndindex(batch) for i0 in range(0, n_q, block_q)]
    _run(items, query_block, parallel=_flash_parallel(math.prod(batch), n_q, n_k, block_q))
    return out


# ---------------------------------------------------------------------------
# Linear attention and its random-feature relatives
# ---------------------------------------------------------------------------


def _elu1(x):
    # elu(x) + 1: positive, so the normaliser phi(q) . sum phi(k) never vanishes.
    return np.where(x > 0, x + 1, np.exp(np.minimum(x, 0)))


def _relu(x):
    return np.maximum(x, 0)


FEATURE_MAPS = {"elu1": _elu1, "relu": _relu}


def _linear_attention_features(phi_q, phi_k, v, is_causal):
    # phi_q: (..., n_q, r)  phi_k: (..., n_k, r)  v: (..., n_k, d_v)
    if is_causal:
        if phi_q.shape[-2] != phi_k.shape[-2]:
            raise ValueError(f"causal linear attention needs n_q == n_k, got "
                             f"{phi_q.shape[-2]} and {phi_k.shape[-2]}")
        # Prefix sums of the outer products phi(k_j) v_j^T: O(n r d_v) memory.
        kv = np.cumsum(phi_k[..., :, :, None] * v[..., :, None, :], axis=-3)  # (..., n, r, d_v)
        z = np.cumsum(phi_k, axis=-2)                                        # (..., n, r)
        num = np.einsum("...nr,...nrd->...nd", phi_q, kv)                    # (..., n, d_v)
        den = np.einsum("...nr,...nr->...n", phi_q, z)[..., None]            # (..., n, 1)
    else:
        kv = np.swapaxes(phi_k, -1, -2) @ v                                  # (..., r, d_v)
        z = np.sum(phi_k, axis=-2)                                           # (..., r)
        num = phi_q @ kv                                                     # (..., n_q, d_v)
        den = (phi_q @ z[..., :, None])                                      # (..., n_q, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(den > 0, out, 0).astype(num.dtype, copy=False)


def linear_attention(q, k, v, feature_map="elu1", is_causal=False):
    """Katharopoulos et al.: phi(Q) (phi(K)^T V) / (phi(Q) sum_j phi(k_j)).

    The n x n matrix phi(Q) phi(K)^T is never formed: cost O(n d^2) instead of
    O(n^2 d). is_causal uses prefix sums over the keys (requires n_q == n_k).
    feature_map: "elu1" (elu(x) + 1) or "relu". A query whose normaliser is 0
    (possible with relu) gets a zero output.
    q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    """
    q, k, v = _check_qkv(q, k, v)
    phi = FEATURE_MAPS.get(feature_map)
    if phi is None:
        raise ValueError(f"feature_map={feature_map!r} must be one of {sorted(FEATURE_MAPS)}")
    dtype = _float_dtype(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    return _linear_attention_features(phi(q), phi(k), v, is_causal)


def performer_omega(d: int, n_features: int, rng: np.random.Generator, *,
                    orthogonal: bool = True) -> np.ndarray:
    """Random projection directions for FAVOR+.          -> (n_features, d) float64

    Rows are N(0, I_d) draws; orthogonal=True makes each block of d rows
    orthogonal and rescales them to chi-distributed lengths, so every row is
    still marginally N(0, I_d): the estimator stays unbiased and its variance
    drops. The block is the Q of a QR of a Gaussian matrix with the signs of
    R's diagonal moved into Q (Mezzadri 2007). Without that step Q is not a
    uniformly random rotation (LAPACK's QR fixes the signs: every block's
    first row would start with a negative entry) and the estimate is biased.
    """
    if d < 1 or n_features < 1:
        raise ValueError(f"d={d} and n_features={n_features} must be >= 1")
    if not orthogonal:
        return rng.standard_normal((n_features, d))
    blocks = []
    for _ in range(-(-n_features // d)):
        g = rng.standard_normal((d, d))
        qmat, r = np.linalg.qr(g)                                  # (d, d) orthonormal
        qmat *= np.sign(np.diag(r))                                # Haar: column j by sign(r_jj)
        blocks.append(qmat.T)
    w = np.concatenate(blocks)[:n_features]                        # (n_features, d)
    norms = np.linalg.norm(rng.standard_normal((n_features, d)), axis=1)
    return w * norms[:, None]


def performer_features(x, omega, stabilizer=None):
    """FAVOR+ positive random features: exp(x w^T - |x|^2 / 2) / sqrt(m).

    x: (..., n, d)  omega: (m, d)  ->  (..., n, m).
    E[phi(q) . phi(k)] = exp(q . k), and every feature is positive, so the
    softmax normaliser estimate is positive too. `stabilizer`, broadcastable to
    (..., n, 1), is subtracted inside the exp (it multiplies phi by a constant
    that cancels in attention's normalisation) to avoid overflow.
    """
    x = np.asarray(x)
    omega = np.asarray(omega, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    if omega.ndim != 2 or omega.shape[1] != x.shape[-1]:
        raise ValueError(f"omega {omega.shape} must be (m, d={x.shape[-1]})")
    logits = x @ omega.T - 0.5 * np.sum(x * x, axis=-1, keepdims=True)   # (..., n, m)
    if stabilizer is not None:
        logits = logits - stabilizer
    return np.exp(logits) / logits.dtype.type(math.sqrt(omega.shape[0]))


def performer_attention(q, k, v, n_features, rng, *, orthogonal=True, is_causal=False,
                        omega=None):
    """Performer (FAVOR+): unbiased linear-time estimate of softmax(q k^T / sqrt(d)) v.

    q and k are scaled by d^(-1/4) each so phi(q) . phi(k) estimates
    exp(q . k / sqrt(d)). The error shrinks like 1/sqrt(n_features).
    Pass `omega` (n_features, d) to reuse projections; otherwise they are drawn
    from `rng`.
    q: (..., n_q, d)  k: (..., n_k, d)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    """
    q, k, v = _check_qkv(q, k, v)
    dtype = _float_dtype(q, k, v)
    d = q.shape[-1]
    if omega is None:
        omega = performer_omega(d, n_features, rng, orthogonal=orthogonal)
    c = dtype.type(d ** -0.25)
    qs, ks = q.astype(dtype) * c, k.astype(dtype) * c
    omega = np.asarray(omega, dtype=dtype)
    # Per-query shifts cancel in each row's normaliser; one shift for all keys
    # cancels globally. Both keep exp in range.
    lq = qs @ omega.T - 0.5 * np.sum(qs * qs, axis=-1, keepdims=True)     # (..., n_q, m)
    lk = ks @ omega.T - 0.5 * np.sum(ks * ks, axis=-1, keepdims=True)     # (..., n_k, m)
    phi_q = performer_features(qs, omega, stabilizer=lq.max(axis=-1, keepdims=True))
    phi_k = performer_features(ks, omega, stabilizer=lk.max(axis=(-2, -1), keepdims=True))
    return _linear_attention_features(phi_q, phi_k, v.astype(dtype, copy=False), is_causal)


def linformer_projections(n: int, k_rank: int, rng: np.random.Generator,
                          dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Random Linformer projections E, F with N(0, 1/k_rank) entries.  -> 2 x (k_rank, n)"""
    if n < 1 or k_rank < 1:
        raise ValueError(f"n={n} and k_rank={k_rank} must be >= 1")
    std = 1.0 / math.sqrt(k_rank)
    e = rng.normal(0.0, std, (k_rank, n)).astype(dtype)
    f = rng.normal(0.0, std, (k_rank, n)).astype(dtype)
    return e, f


def linformer_attention(q, k, v, e_proj, f_proj, scale=None):
    """Linformer: softmax(q (E k)^T * scale) (F v).

    E, F: (k_rank, n_k) compress the n_k keys and values to k_rank rows, so the
    score matrix is (n_q, k_rank) instead of (n_q, n_k).
    q: (..., n_q, d_k)  k: (..., n_k, d_k)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    """
    q, k, v = _check_qkv(q, k, v)
    e_proj, f_proj = np.asarray(e_proj), np.asarray(f_proj)
    n_k = k.shape[-2]
    if e_proj.ndim != 2 or e_proj.shape[1] != n_k or f_proj.shape != e_proj.shape:
        raise ValueError(f"e_proj {e_proj.shape} and f_proj {f_proj.shape} must both be "
                         f"(k_rank, n_k={n_k})")
    dtype = _float_dtype(q, k, v)
    q, k, v = (a.astype(dtype, copy=False) for a in (q, k, v))
    k_low = e_proj.astype(dtype, copy=False) @ k                    # (..., k_rank, d_k)
    v_low = f_proj.astype(dtype, copy=False) @ v                    # (..., k_rank, d_v)
    return scaled_dot_product_attention(q, k_low, v_low, scale=scale)
