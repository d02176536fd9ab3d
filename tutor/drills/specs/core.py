"""Row-wise building blocks: softmax, log softmax, LayerNorm, RMSNorm, GELU, SwiGLU."""

from __future__ import annotations

import math

import numpy as np

from engine import functional as F
from tutor.drills.specs import Case, Mistake, Spec, in_dtype, normal, register

F32 = np.float32

# ----------------------------------------------------------------------------- softmax


def _softmax_cases(rng):
    c = []
    for shape in [(1,), (3,), (2, 5), (4, 1), (2, 3, 7)]:
        c.append(Case("values along the last axis", (normal(rng, *shape, scale=2.0),)))
    c.append(Case("the axis argument", (normal(rng, 3, 4),), {"axis": 0}))
    c.append(Case("the axis argument", (normal(rng, 2, 3, 4),), {"axis": 1}))
    c.append(Case("the axis argument", (normal(rng, 2, 5, 3),), {"axis": -2}))
    c.append(Case("float32 stays float32", (normal(rng, 3, 5, dtype=F32),)))
    c.append(Case("constant rows give a uniform distribution", (np.full((2, 4), 5.0),)))
    c.append(Case("large logits (no overflow)", (np.array([1000.0, 1001.0, 1002.0]),)))
    c.append(Case("large logits (no overflow)", (np.array([-1000.0, -1000.0]),)))
    c.append(Case("large logits (no overflow)", (normal(rng, 2, 6, scale=1e4),)))
    c.append(Case("large logits (no overflow)", (normal(rng, 2, 6, scale=50, dtype=F32) + 300,)))
    c.append(Case("-inf entries get probability 0", (np.array([[0.0, -np.inf, 1.0]]),)))
    c.append(Case("an all -inf row gives zeros", (np.array([[-np.inf, -np.inf], [0.0, 1.0]]),)))
    return c


def _softmax_no_shift(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_last_axis(x, axis=-1):
    return F.softmax(x, axis=-1)


register(Spec(
    name="softmax", params=("x", "axis"),
    reference=in_dtype(lambda x, axis=-1: F.softmax(x, axis=axis)),
    cases=_softmax_cases,
    hints={
        "large logits (no overflow)": "exp(1000) overflows to inf and inf / inf is NaN; "
        "subtract the max along the axis first: softmax(x) = softmax(x - max(x))",
        "an all -inf row gives zeros": "the max of an all -inf row is -inf and "
        "-inf - (-inf) is NaN; use a shift of 0 for such rows and return zeros",
        "the axis argument": "take the max and the sum along `axis` with keepdims=True",
        "float32 stays float32": "avoid mixing in float64 constants or arrays",
    },
    mistakes=(Mistake("exp without subtracting the max first", _softmax_no_shift),
              Mistake("softmax always over the last axis, ignoring `axis`", _softmax_last_axis)),
))

# ----------------------------------------------------------------------------- log softmax


def _log_softmax_cases(rng):
    c = [Case("values", (normal(rng, *s, scale=2.0),)) for s in [(1,), (4,), (3, 5), (2, 2, 6)]]
    c.append(Case("the axis argument", (normal(rng, 3, 4),), {"axis": 0}))
    c.append(Case("float32 stays float32", (normal(rng, 2, 7, dtype=F32),)))
    c.append(Case("large logits (no overflow)", (np.array([1000.0, 1001.0, 1002.0]),)))
    c.append(Case("large logits (no overflow)", (normal(rng, 2, 5, scale=1e4),)))
    c.append(Case("a far-behind logit keeps its log-probability", (np.array([0.0, -800.0]),)))
    c.append(Case("a far-behind logit keeps its log-probability",
                  (np.array([[10.0, -1e4, 3.0]]),)))
    return c


def _log_of_softmax(x, axis=-1):
    with np.errstate(divide="ignore"):
        return np.log(F.softmax(x, axis=axis))


def _log_softmax_no_shift(x, axis=-1):
    with np.errstate(over="ignore", invalid="ignore"):
        return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


register(Spec(
    name="log-softmax", params=("x", "axis"),
    reference=in_dtype(lambda x, axis=-1: F.log_softmax(x, axis=axis)),
    cases=_log_softmax_cases,
    hints={
        "a far-behind logit keeps its log-probability": "softmax underflows to 0 there and "
        "log(0) = -inf; compute x - max - log(sum(exp(x - max))) instead",
        "large logits (no overflow)": "subtract the max before exp",
    },
    mistakes=(Mistake("log(softmax(x)): the probability underflows to 0 first",
                      _log_of_softmax),
              Mistake("logsumexp without subtracting the max", _log_softmax_no_shift)),
))

# ----------------------------------------------------------------------------- layer norm


def _ln_args(rng, *shape, dtype=np.float64, offset=0.0, scale=1.0):
    d = shape[-1]
    return (normal(rng, *shape, scale=scale, dtype=dtype) + dtype(offset),
            normal(rng, d, dtype=dtype) + dtype(1.0), normal(rng, d, dtype=dtype))


def _layer_norm_cases(rng):
    c = [Case("values", _ln_args(rng, *s)) for s in [(2,), (5,), (3, 4), (2, 3, 8)]]
    c.append(Case("the eps argument", _ln_args(rng, 2, 6, scale=1e-2), {"eps": 1e-3}))
    c.append(Case("float32 stays float32", _ln_args(rng, 3, 16, dtype=F32)))
    const = np.full((2, 5), 3.0)
    c.append(Case("constant rows (zero variance) give beta",
                  (const, normal(rng, 5) + 1.0, normal(rng, 5))))
    c.append(Case("large mean, small spread (variance from x - mean)",
                  _ln_args(rng, 2, 8, offset=1e5, scale=0.1)))
    return c


def _ln_unbiased(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True, ddof=1)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _ln_eps_outside(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / (x.std(-1, keepdims=True) + eps) * gamma + beta


def _ln_moments(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = (x * x).mean(-1, keepdims=True) - mean * mean
    return (x - mean) / np.sqrt(np.maximum(var, 0) + eps) * gamma + beta


register(Spec(
    name="layer-norm", params=("x", "gamma", "beta", "eps"),
    reference=in_dtype(lambda x, gamma, beta, eps=1e-5: F.layer_norm(x, gamma, beta, eps)),
    cases=_layer_norm_cases,
    hints={
        "large mean, small spread (variance from x - mean)": "E[x^2] - E[x]^2 cancels "
        "catastrophically when the mean is large; average (x - mean)^2 instead",
    },
    mistakes=(Mistake("unbiased variance (ddof=1); LayerNorm divides by d", _ln_unbiased),
              Mistake("eps added to the standard deviation instead of inside the sqrt",
                      _ln_eps_outside),
              Mistake("variance as E[x^2] - E[x]^2, which cancels for a large mean",
                      _ln_moments)),
))

# ----------------------------------------------------------------------------- rms norm


def _rms_cases(rng):
    def args(*shape, dtype=np.float64, scale=1.0):
        return (normal(rng, *shape, scale=scale, dtype=dtype),
                normal(rng, shape[-1], dtype=dtype) + dtype(1.0))

    c = [Case("values", args(*s)) for s in [(1,), (4,), (3, 5), (2, 2, 6)]]
    c.append(Case("the eps argument", args(2, 4, scale=1e-2), {"eps": 1e-2}))
    c.append(Case("float32 stays float32", args(3, 8, dtype=F32)))
    c.append(Case("an all-zero vector gives zeros", (np.zeros((2, 3)), np.ones(3))))
    c.append(Case("a mean far from zero is kept", (normal(rng, 2, 6) + 10.0,
                                                   normal(rng, 6) + 1.0)))
    return c


def _rms_centered(x, weight, eps=1e-6):
    xc = x - x.mean(-1, keepdims=True)
    return xc / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps) * weight


def _rms_eps_outside(x, weight, eps=1e-6):
    return x / (np.sqrt((x * x).mean(-1, keepdims=True)) + eps) * weight


register(Spec(
    name="rms-norm", params=("x", "weight", "eps"),
    reference=in_dtype(lambda x, weight, eps=1e-6: F.rms_norm(x, weight, eps)),
    cases=_rms_cases,
    mistakes=(Mistake("the mean is subtracted (that is LayerNorm without a shift)",
                      _rms_centered),
              Mistake("eps added outside the sqrt", _rms_eps_outside)),
))

# ----------------------------------------------------------------------------- gelu


def _gelu_cases(rng):
    c = [Case("values", (normal(rng, *s, scale=2.0),)) for s in [(1,), (7,), (3, 4)]]
    c.append(Case("values", (np.linspace(-6, 6, 25),)))
    c.append(Case("float32 stays float32", (normal(rng, 2, 9, scale=2.0, dtype=F32),)))
    c.append(Case("large |x|", (np.array([-40.0, -12.0, 12.0, 40.0, 1e4]),)))
    c.append(Case("exact form, not the tanh approximation", (np.array([-2.5, -1.5, 0.7, 2.0]),)))
    return c


def _gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


def _gelu_sigmoid(x):
    with np.errstate(over="ignore"):
        return x / (1 + np.exp(-1.702 * x))


register(Spec(
    name="gelu", params=("x",),
    reference=in_dtype(F.gelu),
    cases=_gelu_cases,
    hints={"float32 stays float32": "np.vectorize(math.erf) returns float64; cast back with "
                                    ".astype(x.dtype)"},
    mistakes=(Mistake("GPT-2's tanh approximation instead of the exact erf form", _gelu_tanh),
              Mistake("the sigmoid approximation x * sigmoid(1.702 x)", _gelu_sigmoid)),
))

# ----------------------------------------------------------------------------- swiglu


def _swiglu_args(rng, lead, d, f, dtype=np.float64, scale=1.0):
    return (normal(rng, *lead, d, scale=scale, dtype=dtype),
            normal(rng, d, f, scale=1 / math.sqrt(d), dtype=dtype),
            normal(rng, d, f, scale=1 / math.sqrt(d), dtype=dtype),
            normal(rng, f, d, scale=1 / math.sqrt(f), dtype=dtype))


def _swiglu_cases(rng):
    c = [Case("values, distinct gate and up weights", _swiglu_args(rng, lead, d, f))
         for lead, d, f in [((1,), 1, 1), ((3,), 2, 5), ((4,), 6, 3), ((2, 3), 4, 8)]]
    c.append(Case("float32 stays float32", _swiglu_args(rng, (3,), 4, 6, dtype=F32)))
    c.append(Case("large activations", _swiglu_args(rng, (2,), 3, 4, scale=300.0)))
    return c


def _swiglu_ref(x, w_gate, w_up, w_down):
    with np.errstate(over="ignore"):
        return F.swiglu(x, w_gate, w_up) @ w_down


def _swiglu_swapped(x, w_gate, w_up, w_down):
    return _swiglu_ref(x, w_up, w_gate, w_down)


def _swiglu_sigmoid(x, w_gate, w_up, w_down):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-(x @ w_gate))) * (x @ w_up)) @ w_down


register(Spec(
    name="swiglu", params=("x", "w_gate", "w_up", "w_down"),
    reference=in_dtype(_swiglu_ref),
    cases=_swiglu_cases,
    hints={"large activations": "silu(z) = z / (1 + exp(-z)); for z = -1000, exp overflows "
                                "(harmless: the result is -0), but z * sigmoid(z) written "
                                "as exp(z) / (1 + exp(z)) gives inf / inf = NaN"},
    mistakes=(Mistake("gate and up projections swapped: silu goes on x @ w_gate",
                      _swiglu_swapped),
              Mistake("sigmoid(x W_gate) instead of silu(x W_gate)", _swiglu_sigmoid)),
))
