"""LayerNorm against BatchNorm against RMSNorm, and pre-norm against post-norm in depth.

Part 1, batch independence (`engine.functional` norms): one sequence is placed
in two batches whose other sequences differ. LayerNorm and RMSNorm normalise
each token on its own, so the sequence's outputs are bit-identical in both;
BatchNorm pools statistics over the batch, so they differ. Appending pad tokens
(zeros) to every sequence shifts BatchNorm's statistics the same way.

Part 2, depth at initialisation: a stack of `layers` residual blocks whose
sublayer is an MLP, f(h) = relu(h W1) W2 with He-scaled weights (so f roughly
keeps the size of its input), in two arrangements:
  pre-norm:  x <- x + f(LN(x)), with a final LN;   post-norm: x <- LN(x + f(x)).
Attention is left out: it does not change what the norms do to the residual
stream, and without it the backward pass stays short enough to write by hand.
The gradient of the loss sum(r * output) / sqrt(size), with r a fixed random
tensor, is taken by an exact manual backward pass (the test checks it against
central finite differences).

JSON keys:
- `ln_diff`, `rms_diff`, `bn_diff`: max |difference| of the shared sequence's
  outputs between the two batches.
- `ln_pad_diff`, `rms_pad_diff`, `bn_pad_diff`: max |difference| of the real tokens'
  outputs with and without `pad_tokens` pad tokens appended.
- `layers`: 0..L, residual stream index (0 = the input).
- `rms_pre`, `rms_post`: RMS of the residual stream entering each layer (and the output).
- `grad_pre`, `grad_post`: RMS of d loss / d stream at each layer.
- `wgrad_pre`, `wgrad_post`: Frobenius norm of d loss / d W2 of each block.
- `takeaway`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.functional import batch_norm, layer_norm, linear, relu, rms_norm

_EPS = 1e-5
_WORK = 2_000_000_000        # layers x tokens x d x 4d: a few seconds for both stacks here
_MEMORY = 700 << 20          # bytes of activations kept for the backward pass
# per token and width unit and layer: x, LN(x) and the 4d hidden are kept (6 float64), and
# the streams, gradients and temporaries about as much again (measured peak: ~2.7x of 6)
_BYTES_PER_NUMBER = 16 * 8


def _per_layer(d: int, tokens: int) -> float:
    """One layer's share of the budget: its multiply-adds or its kept activations."""
    return max(tokens * d * 4 * d / _WORK, tokens * d * _BYTES_PER_NUMBER / _MEMORY)


def check(p) -> str | None:
    from tutor.demos._bounds import largest

    tokens = p.batch * p.seq
    if p.layers * _per_layer(p.d, tokens) <= 1:
        return None
    given = f"--layers {p.layers} with --d {p.d}, --seq {p.seq} and --batch {p.batch}"
    most = largest(1, p.layers, lambda n: n * _per_layer(p.d, tokens) <= 1)
    if most is not None:
        return (f"{given} would need more than a few seconds or {_MEMORY >> 20} MiB; the "
                f"largest --layers allowed with these is {most}")
    most = largest(8, p.d, lambda d: p.layers * _per_layer(d, tokens) <= 1)
    if most is not None:
        return (f"{given} is too much work even for one layer; the largest --d allowed with "
                f"these is {most}")
    return f"{given} is too much work even at --d 8; lower --seq or --batch"


# --------------------------------------------------------------------------- part 1

def batch_dependence(p, rng: np.random.Generator) -> dict:
    shared = rng.standard_normal((p.seq, p.d))                        # (seq, d)
    a = rng.standard_normal((p.batch, p.seq, p.d))
    b = 3.0 + 2.0 * rng.standard_normal((p.batch, p.seq, p.d))        # other content
    a[0] = b[0] = shared
    out = {}
    for name, fn in (("ln", layer_norm), ("rms", rms_norm), ("bn", batch_norm)):
        out[f"{name}_diff"] = float(np.abs(fn(a)[0] - fn(b)[0]).max())
    pad = max(1, p.seq // 2)
    padded = np.concatenate([a, np.zeros((p.batch, pad, p.d))], axis=1)  # (B, seq + pad, d)
    for name, fn in (("ln", layer_norm), ("rms", rms_norm), ("bn", batch_norm)):
        out[f"{name}_pad_diff"] = float(np.abs(fn(padded)[:, :p.seq] - fn(a)).max())
    out["pad_tokens"] = pad
    return out


# --------------------------------------------------------------------------- part 2

def init_stack(layers: int, d: int, rng: np.random.Generator) -> list[tuple]:
    """Per block (W1 (d, 4d), W2 (4d, d)): He scaling, so f(h) keeps about h's RMS."""
    return [(rng.standard_normal((d, 4 * d)) * math.sqrt(2 / d),
             rng.standard_normal((4 * d, d)) / math.sqrt(4 * d)) for _ in range(layers)]


def _ln_backward(dy: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    # y = (x - mean) / sigma over the last axis  =>  dx = (dy - mean(dy) - y mean(dy y)) / sigma
    return (dy - dy.mean(-1, keepdims=True) - y * (dy * y).mean(-1, keepdims=True)) / sigma


def _sigma(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.var(x, axis=-1, keepdims=True) + _EPS)


def forward_backward(x: np.ndarray, weights: list[tuple], position: str,
                     r: np.ndarray) -> dict:
    """Residual stream per layer, and the exact gradient of sum(r * out) / sqrt(r.size).

    Returns streams (L + 1 arrays), grads (d loss / d stream, L + 1), dw2 (d loss / d W2
    per block), wgrads (their Frobenius norms) and loss.
    """
    streams, caches = [x], []
    for w1, w2 in weights:
        h_in = layer_norm(x, eps=_EPS) if position == "pre" else x
        a = linear(h_in, w1)                                          # (..., 4d)
        f = linear(relu(a), w2)                                       # (..., d)
        if position == "pre":
            caches.append((x, h_in, a))
            x = x + f
        else:
            s = x + f
            caches.append((s, h_in, a))
            x = layer_norm(s, eps=_EPS)
        streams.append(x)
    out = layer_norm(x, eps=_EPS) if position == "pre" else x
    loss = float(np.sum(r * out) / math.sqrt(r.size))

    g = r / math.sqrt(r.size)                                          # d loss / d out
    if position == "pre":
        g = _ln_backward(g, out, _sigma(x))
    grads, dw2s = [g], []
    for (w1, w2), (pre, h_in, a) in zip(reversed(weights), reversed(caches), strict=True):
        if position == "post":                       # x_next = LN(s), s = x + f(x)
            g = _ln_backward(g, layer_norm(pre, eps=_EPS), _sigma(pre))
        gf = g                                       # d loss / d f
        dw2s.append(relu(a).reshape(-1, a.shape[-1]).T @ gf.reshape(-1, gf.shape[-1]))
        ga = (gf @ w2.T) * (a > 0)                   # through W2 and relu
        gh = ga @ w1.T                               # d loss / d h_in
        if position == "pre":                        # h_in = LN(x)
            gh = _ln_backward(gh, h_in, _sigma(pre))
        g = g + gh                                   # the residual path adds the identity
        grads.append(g)
    grads.reverse()
    dw2s.reverse()
    return {"streams": streams, "grads": grads, "dw2": dw2s,
            "wgrads": [float(np.linalg.norm(m)) for m in dw2s], "loss": loss}


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def compute(p, rng: np.random.Generator, progress) -> dict:
    result = batch_dependence(p, rng)
    weights = init_stack(p.layers, p.d, rng)
    # the stack is per token, so batch and sequence are one axis of batch x seq rows: a 2-D
    # matmul runs on BLAS, a stacked 3-D one (in NumPy 2.4) about 20x slower
    x = rng.standard_normal((p.batch, p.seq, p.d)).reshape(-1, p.d)
    r = rng.standard_normal((p.batch, p.seq, p.d)).reshape(-1, p.d)
    result["layers"] = list(range(p.layers + 1))
    for position in progress(("pre", "post"), total=2, description="pre- and post-norm"):
        fb = forward_backward(x, weights, position, r)
        result[f"rms_{position}"] = [_rms(s) for s in fb["streams"]]
        result[f"grad_{position}"] = [_rms(g) for g in fb["grads"]]
        result[f"wgrad_{position}"] = fb["wgrads"]
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    L = r["layers"][-1]
    gp, gq = r["wgrad_pre"], r["wgrad_post"]
    per_token = max(r["ln_diff"], r["rms_diff"])
    return (f"Another batch moves BatchNorm's output of the same sequence by "
            f"{r['bn_diff']:.3g}, LayerNorm's and RMSNorm's by {per_token:.3g}. "
            f"Through {L} layers the pre-norm stream grows from RMS {r['rms_pre'][0]:.2f} to "
            f"{r['rms_pre'][-1]:.2f} (about sqrt(L)) while post-norm's stays "
            f"{r['rms_post'][-1]:.2f}; post-norm's last block gets a weight gradient "
            f"{gq[-1] / gp[-1]:.2g}x pre-norm's, which is why post-norm needs warmup.")


def render(result: dict):
    from tutor.demos import _viz

    f = _viz.fmt
    t1 = _viz.table(["norm", "Δ other batch", "Δ with padding"], [
        ["LayerNorm", f(result["ln_diff"]), f(result["ln_pad_diff"])],
        ["RMSNorm", f(result["rms_diff"]), f(result["rms_pad_diff"])],
        ["BatchNorm", f(result["bn_diff"]), f(result["bn_pad_diff"])],
    ], title=f"Same sequence, other batch; +{result['pad_tokens']} pads")
    L = result["layers"][-1]
    step = max(1, L // 8)
    shown = sorted(set(list(range(0, L + 1, step)) + [L]))
    rows = [[i, f(result["rms_pre"][i]), f(result["rms_post"][i]), f(result["grad_pre"][i]),
             f(result["grad_post"][i])] for i in shown]
    t2 = _viz.table(["layer", "RMS pre", "RMS post", "∇ pre", "∇ post"], rows,
                    title="Residual stream and its gradient (RMS) at init")
    blocks = list(range(1, L + 1))
    plot = _viz.line_plot({"pre-norm": (blocks, result["wgrad_pre"]),
                           "post-norm": (blocks, result["wgrad_post"])},
                          title="‖∂loss/∂W2‖ per block (log y)", xlabel="block", logy=True,
                          width=54, height=12)
    return _viz.view("norms: LayerNorm, BatchNorm, RMSNorm; pre vs post", t1, t2, plot,
                     takeaway=result["takeaway"])
