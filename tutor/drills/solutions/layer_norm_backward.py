import numpy as np


def layer_norm_backward(x, gamma, dy, eps=1e-5):
    """Backward pass of y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis.

    x, dy: (..., d)  gamma: (d,)  ->  (dx (..., d), dgamma (d,), dbeta (d,))
    The variance is biased (divide by d), as in the forward pass of torch's
    LayerNorm. dgamma and dbeta sum over every leading axis. Remember that the
    mean and the variance depend on every element of the row.
    """
    mean = x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + eps)
    xhat = (x - mean) * rstd
    g = dy * gamma                                                  # dL/dxhat
    dx = rstd * (g - g.mean(axis=-1, keepdims=True)
                 - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    lead = tuple(range(x.ndim - 1))
    return dx, (dy * xhat).sum(axis=lead), dy.sum(axis=lead)
