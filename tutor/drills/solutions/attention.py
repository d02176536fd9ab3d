import math

import numpy as np


def attention(q, k, v, mask=None):
    """Scaled dot-product attention: softmax(q k^T / sqrt(d) + mask) v.

    q: (..., n_q, d)  k: (..., n_k, d)  v: (..., n_k, d_v)  ->  (..., n_q, d_v)
    mask: bool, broadcastable to (..., n_q, n_k), True where a query may attend
    (None: every key). The scale is 1 / sqrt(d), d the last dim of q and k.
    Conventions:
    - a query row with no allowed key gives zeros (not NaN);
    - large scores must not overflow; float32 in gives float32 out.
    """
    scores = q @ np.swapaxes(k, -1, -2) / q.dtype.type(math.sqrt(q.shape[-1]))  # (..., n_q, n_k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    m = np.max(scores, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)                # a row with no allowed key
    e = np.exp(scores - m)
    s = np.sum(e, axis=-1, keepdims=True)
    w = np.divide(e, s, out=np.zeros_like(e), where=s > 0)
    return w @ v                                       # (..., n_q, d_v)
