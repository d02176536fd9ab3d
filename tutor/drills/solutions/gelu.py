import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """The exact GELU: x * Phi(x), Phi the standard normal CDF.

    x: any shape, float32 or float64  ->  the same shape and dtype.
    Phi(x) = (1 + erf(x / sqrt(2))) / 2. This is the exact form, not GPT-2's
    tanh approximation. NumPy has no erf: math.erf works one number at a time
    (wrap it with np.vectorize), or use scipy.special.erf if you have SciPy.
    """
    x = np.asarray(x)
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)
