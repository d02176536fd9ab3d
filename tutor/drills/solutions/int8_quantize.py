import numpy as np


def quantize_int8(x):
    """Symmetric (absmax) int8 quantization with one scale per row.

    x: (..., n) float  ->  (q (..., n) int8, scale (..., 1) float64)
    scale = max|x| / 127 over each row (the last axis), q = round(x / scale)
    with np.rint (round half to even), so x ~ q * scale and |q| <= 127.
    A row of zeros gets scale 1 and q = 0 (never divide by zero).
    """
    amax = np.max(np.abs(x), axis=-1, keepdims=True)
    scale = np.where(amax > 0, amax / 127, 1.0)
    q = np.clip(np.rint(x / scale), -127, 127).astype(np.int8)
    return q, scale
