import numpy as np


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed as x - logsumexp(x).

    x: any shape, float32 or float64  ->  the same shape and dtype.
    Conventions:
    - a logit far below the others keeps its exact log-probability (about
      x_i - max(x)), where log(softmax(x)) would give -inf;
    - logits of 1e4 must not overflow; float32 in gives float32 out.
    """
    x = np.asarray(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
