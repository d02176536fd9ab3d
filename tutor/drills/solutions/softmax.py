import numpy as np


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`.

    x: any shape, float32 or float64  ->  the same shape and dtype.
    Conventions:
    - must not overflow: logits of 1e4 (or -1e4) give a valid distribution, not NaN;
    - a slice that is entirely -inf (every position masked) gives zeros, not NaN;
    - float32 in gives float32 out.
    """
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)       # an all -inf slice: exp(-inf - 0) = 0, no inf - inf
    e = np.exp(x - m)                        # the max is exp(0) = 1, so nothing overflows
    s = np.sum(e, axis=axis, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)
