import numpy as np


def cross_entropy(logits, targets, label_smoothing=0.0, ignore_index=-100):
    """Mean cross-entropy, as torch.nn.functional.cross_entropy (classes on the last axis).

    logits: (..., C) float  targets: (...,) int  ->  a Python float.
    Each position's loss is -sum_c t_c log softmax(logits)_c with the target
    distribution t = (1 - label_smoothing) * one_hot + label_smoothing / C (the
    smoothing mass spread over all C classes). Positions whose target equals
    ignore_index count for nothing; the result is the mean over the others,
    and nan when every target is ignored (0 / 0, as torch). Large logits must
    not overflow: use log-softmax with the max subtracted.
    """
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))             # (..., C)
    keep = targets != ignore_index
    safe = np.where(keep, targets, 0)
    nll = -np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]     # (...,)
    smooth = -logp.mean(axis=-1)                                          # (...,)
    loss = (1 - label_smoothing) * nll + label_smoothing * smooth
    n = keep.sum()
    return float(np.where(keep, loss, 0.0).sum() / n) if n else float("nan")
