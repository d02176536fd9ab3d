import numpy as np


def top_k_filter(logits, k):
    """Keep the k largest logits of each row, set the rest to -inf.

    logits: (..., vocab)  ->  (..., vocab), the same dtype. Tokens tied with the
    k-th largest logit are kept too (as in Hugging Face), so ties can leave more
    than k. k >= vocab keeps everything.
    """
    vocab = logits.shape[-1]
    if k >= vocab:
        return logits.copy()
    kth = np.sort(logits, axis=-1)[..., vocab - k, None]              # (..., 1)
    return np.where(logits < kth, -np.inf, logits).astype(logits.dtype)
