"""Training: cross-entropy, label smoothing, backward passes, LoRA."""

from __future__ import annotations

import math

import numpy as np

from engine.backward import layer_norm_backward, softmax_backward
from engine.functional import softmax
from engine.lora import lora_linear
from engine.loss import cross_entropy, smoothed_targets
from tutor.drills.specs import Case, Mistake, Spec, in_dtype, normal, register

F32 = np.float32

# ----------------------------------------------------------------------------- cross-entropy


def _ce_args(rng, lead, n_classes, scale=2.0):
    return (normal(rng, *lead, n_classes, scale=scale),
            rng.integers(0, n_classes, size=lead))


def _ce_cases(rng):
    c = [Case("values", _ce_args(rng, lead, C)) for lead, C in [((1,), 2), ((4,), 3), ((6,), 5)]]
    c.append(Case("batch dimensions", _ce_args(rng, (2, 3), 4)))
    c.append(Case("label smoothing", _ce_args(rng, (5,), 4), {"label_smoothing": 0.1}))
    c.append(Case("label smoothing", _ce_args(rng, (3,), 7), {"label_smoothing": 0.3}))
    logits, t = _ce_args(rng, (6,), 4)
    t[[1, 4]] = -100
    c.append(Case("ignore_index", (logits, t)))
    c.append(Case("ignore_index with label smoothing", (logits, t), {"label_smoothing": 0.2}))
    logits, t = _ce_args(rng, (4,), 3)
    t[2] = 1
    c.append(Case("a custom ignore_index", (logits, t), {"ignore_index": 1}))
    c.append(Case("large logits (no overflow)", _ce_args(rng, (4,), 5, scale=1e3)))
    c.append(Case("large logits (no overflow)", (np.array([[1000.0, -1000.0]]), np.array([1]))))
    c.append(Case("every target ignored gives nan", (normal(rng, 2, 3), np.array([-100, -100]))))
    return c


def _ce_smooth_others(logits, targets, label_smoothing=0.0, ignore_index=-100):
    # eps spread over the C - 1 wrong classes (another convention, not torch's)
    C = logits.shape[-1]
    keep = targets != ignore_index
    logp = np.log(softmax(logits))
    t = np.where(np.eye(C, dtype=bool)[np.where(keep, targets, 0)], 1 - label_smoothing,
                 label_smoothing / (C - 1))
    loss = -(t * logp).sum(-1)
    return float(loss[keep].mean()) if keep.any() else float("nan")


def _ce_mean_all(logits, targets, label_smoothing=0.0, ignore_index=-100):
    per = cross_entropy(logits, targets, label_smoothing, ignore_index, reduction="none")
    return float(per.mean())


def _ce_naive(logits, targets, label_smoothing=0.0, ignore_index=-100):
    with np.errstate(all="ignore"):
        e = np.exp(logits)
        logp = np.log(e / e.sum(-1, keepdims=True))
    keep = targets != ignore_index
    nll = -np.take_along_axis(logp, np.where(keep, targets, 0)[..., None], -1)[..., 0]
    loss = (1 - label_smoothing) * nll - label_smoothing * logp.mean(-1)
    return float(loss[keep].mean()) if keep.any() else float("nan")


register(Spec(
    name="cross-entropy", params=("logits", "targets", "label_smoothing", "ignore_index"),
    reference=lambda logits, targets, label_smoothing=0.0, ignore_index=-100:
        cross_entropy(logits, targets, label_smoothing, ignore_index),
    cases=_ce_cases,
    hints={"large logits (no overflow)": "log(softmax(x)) overflows; use x - max - "
           "log(sum(exp(x - max)))",
           "ignore_index": "average over the positions that are not ignored only",
           "every target ignored gives nan": "torch divides the sum (0) by the count (0)"},
    mistakes=(Mistake("label smoothing spread over the C - 1 wrong classes only",
                      _ce_smooth_others),
              Mistake("the mean taken over every position, ignored ones included",
                      _ce_mean_all),
              Mistake("exp without subtracting the max", _ce_naive)),
))

# ----------------------------------------------------------------------------- label smoothing


def _ls_cases(rng):
    c = [Case("values", (rng.integers(0, C, size=n), C, eps))
         for n, C, eps in [(1, 2, 0.1), (4, 3, 0.1), (5, 10, 0.2)]]
    c.append(Case("eps = 0 is one-hot", (np.array([2, 0]), 3, 0.0)))
    c.append(Case("batch dimensions", (rng.integers(0, 4, size=(2, 3)), 4, 0.05)))
    return c


register(Spec(
    name="label-smoothing", params=("targets", "n_classes", "eps"),
    reference=lambda targets, n_classes, eps: smoothed_targets(targets, n_classes, eps),
    cases=_ls_cases,
    mistakes=(Mistake("eps / (C - 1) on the wrong classes and 1 - eps on the true one",
                      lambda t, C, eps: np.where(t[..., None] == np.arange(C), 1 - eps,
                                                 eps / (C - 1))),
              Mistake("eps / C added without taking eps from the true class",
                      lambda t, C, eps: (t[..., None] == np.arange(C)) + eps / C)),
))

# ----------------------------------------------------------------------------- backward


def _sm_args(rng, *shape, dtype=np.float64, scale=2.0):
    y = softmax(normal(rng, *shape, scale=scale)).astype(dtype)
    return y, normal(rng, *shape, dtype=dtype)


def _smb_cases(rng):
    c = [Case("values", _sm_args(rng, *s)) for s in [(1,), (3,), (2, 4), (2, 3, 5)]]
    c.append(Case("peaked distributions", _sm_args(rng, 3, 6, scale=20.0)))
    c.append(Case("float32 stays float32", _sm_args(rng, 3, 4, dtype=F32)))
    return c


register(Spec(
    name="softmax-backward", params=("y", "dy"),
    reference=in_dtype(lambda y, dy: softmax_backward(y, dy)),
    cases=_smb_cases,
    hints={"values": "dx_i = sum_j J_ji dy_j with J = diag(y) - y y^T, so dx = y * (dy - "
           "(dy . y)) per row"},
    mistakes=(Mistake("only the diagonal of the Jacobian: y * (1 - y) * dy",
                      lambda y, dy: y * (1 - y) * dy),
              Mistake("the dot product dy . y summed over the wrong axis",
                      lambda y, dy: y * (dy - np.sum(dy * y, axis=0, keepdims=True)))),
))


def _lnb_args(rng, *shape, dtype=np.float64):
    d = shape[-1]
    return (normal(rng, *shape, dtype=dtype), normal(rng, d, dtype=dtype) + dtype(1.0),
            normal(rng, *shape, dtype=dtype))


def _lnb_cases(rng):
    c = [Case("values", _lnb_args(rng, *s)) for s in [(1, 2), (3, 4), (2, 6)]]
    c.append(Case("3-D input: dgamma and dbeta sum over every leading axis",
                  _lnb_args(rng, 2, 3, 5)))
    c.append(Case("the eps argument", _lnb_args(rng, 2, 4), {"eps": 0.1}))
    c.append(Case("float32 stays float32", _lnb_args(rng, 3, 8, dtype=F32)))
    return c


def _lnb_no_mean_terms(x, gamma, dy, eps=1e-5):
    dx, dg, db = layer_norm_backward(x, gamma, dy, eps)
    rstd = 1 / np.sqrt(x.var(-1, keepdims=True) + eps)
    return dy * gamma * rstd, dg, db


def _lnb_axis0(x, gamma, dy, eps=1e-5):
    dx, _, _ = layer_norm_backward(x, gamma, dy, eps)
    xhat = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


register(Spec(
    name="layer-norm-backward", params=("x", "gamma", "dy", "eps"),
    reference=in_dtype(lambda x, gamma, dy, eps=1e-5: layer_norm_backward(x, gamma, dy, eps)),
    cases=_lnb_cases,
    hints={"values": "with g = dy * gamma: dx = rstd * (g - mean(g) - xhat * mean(g * xhat))"},
    mistakes=(Mistake("dx as if the mean and variance were constants (dy * gamma * rstd)",
                      _lnb_no_mean_terms),
              Mistake("dgamma and dbeta summed over axis 0 only", _lnb_axis0)),
))

# ----------------------------------------------------------------------------- LoRA


def _lora_args(rng, lead, d_in, d_out, r, alpha, dtype=np.float64):
    return (normal(rng, *lead, d_in, dtype=dtype),
            normal(rng, d_in, d_out, scale=1 / math.sqrt(d_in), dtype=dtype),
            normal(rng, d_in, r, scale=1 / math.sqrt(d_in), dtype=dtype),
            normal(rng, r, d_out, dtype=dtype), alpha)


def _lora_cases(rng):
    c = [Case("values", _lora_args(rng, lead, i, o, r, a))
         for lead, i, o, r, a in [((1,), 1, 1, 1, 1.0), ((3,), 4, 6, 2, 8.0),
                                  ((5,), 6, 3, 4, 16.0)]]
    c.append(Case("batch dimensions", _lora_args(rng, (2, 3), 4, 5, 2, 4.0)))
    c.append(Case("float32 stays float32", _lora_args(rng, (3,), 6, 4, 2, 4.0, dtype=F32)))
    return c


register(Spec(
    name="lora", params=("x", "w", "a", "b", "alpha"),
    reference=in_dtype(lambda x, w, a, b, alpha: lora_linear(x, w, a, b, alpha)),
    cases=_lora_cases,
    mistakes=(Mistake("the update scaled by alpha instead of alpha / r",
                      lambda x, w, a, b, alpha: x @ w + alpha * (x @ a @ b)),
              Mistake("the update scaled by r / alpha",
                      lambda x, w, a, b, alpha: x @ w + a.shape[1] / alpha * (x @ a @ b))),
))
