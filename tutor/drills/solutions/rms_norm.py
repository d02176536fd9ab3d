import numpy as np


def rms_norm(x, weight, eps=1e-6):
    """RMSNorm over the last axis (Zhang & Sennrich 2019; LLaMA).

    x: (..., d)  weight: (d,)  ->  (..., d), x's dtype.
    y = x / sqrt(mean(x^2) + eps) * weight: no mean is subtracted and there is
    no shift. An all-zero vector gives zeros.
    """
    ms = np.mean(x * x, axis=-1, keepdims=True)                  # (..., 1)
    return x / np.sqrt(ms + x.dtype.type(eps)) * weight
