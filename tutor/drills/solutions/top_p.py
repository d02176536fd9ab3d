import numpy as np


def top_p_filter(logits, p):
    """Nucleus filtering: keep the smallest set of most probable tokens with mass >= p.

    logits: (..., vocab)  0 < p <= 1  ->  (..., vocab), the same dtype, with
    every token outside the nucleus set to -inf. Sort by probability
    (softmax of the logits), most probable first, and keep tokens while the
    mass of the tokens *before* them is still below p: the token that makes the
    mass reach p is kept. The most probable token is always kept. Among equal
    probabilities, the lower token id counts as more probable (a stable sort).
    """
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = z / z.sum(axis=-1, keepdims=True)
    order = np.argsort(-probs, axis=-1, kind="stable")
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    keep_sorted = before < p
    keep_sorted[..., 0] = True
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf).astype(logits.dtype)
