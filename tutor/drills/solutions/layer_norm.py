import numpy as np


def layer_norm(x, gamma, beta, eps=1e-5):
    """LayerNorm over the last axis, as torch.nn.LayerNorm.

    x: (..., d)  gamma, beta: (d,)  ->  (..., d), x's dtype.
    y = (x - mean) / sqrt(var + eps) * gamma + beta, with the mean and the
    *biased* variance (divide by d, not d - 1) of each vector over its last axis.
    A constant vector (variance 0) gives beta. Compute the variance from x - mean,
    so a large mean with a small spread loses no precision.
    """
    mean = np.mean(x, axis=-1, keepdims=True)                    # (..., 1)
    var = np.mean((x - mean) ** 2, axis=-1, keepdims=True)       # (..., 1), biased
    y = (x - mean) / np.sqrt(var + x.dtype.type(eps))
    return y * gamma + beta
