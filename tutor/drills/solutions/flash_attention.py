import math

import numpy as np


def flash_attention(q, k, v, block_size):
    """softmax(q k^T / sqrt(d)) v, reading the keys block by block (FlashAttention).

    q: (..., n_q, d)  k: (..., n_k, d)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    Visit the keys in blocks of block_size (the last block may be shorter) and
    keep, per query, a running max m, a running denominator l and an
    unnormalised output acc. When a block raises the max, rescale l and acc by
    exp(m_old - m_new) before adding the block's exp(s - m_new). Never hold
    the whole (n_q, n_k) score matrix: only (n_q, block_size) at a time.
    No mask. Large scores must not overflow; float32 in gives float32 out.
    """
    scale = q.dtype.type(1 / math.sqrt(q.shape[-1]))
    n_k = k.shape[-2]
    m = np.full(q.shape[:-1] + (1,), -np.inf, dtype=q.dtype)          # (..., n_q, 1)
    l = np.zeros_like(m)
    acc = np.zeros(q.shape[:-1] + v.shape[-1:], dtype=q.dtype)        # (..., n_q, d_v)
    for j in range(0, n_k, block_size):
        s = q @ np.swapaxes(k[..., j:j + block_size, :], -1, -2) * scale   # (..., n_q, b)
        m_new = np.maximum(m, s.max(axis=-1, keepdims=True))
        p = np.exp(s - m_new)
        correction = np.exp(m - m_new)                                 # 0 on the first block
        l = l * correction + p.sum(axis=-1, keepdims=True)
        acc = acc * correction + p @ v[..., j:j + block_size, :]
        m = m_new
    return acc / l
