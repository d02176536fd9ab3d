"""Signal and gradient through depth with and without residual connections,
and an RNN's gradient through time against attention's one-step path.

Part 1: a stack of `layers` random tanh layers, f(x) = tanh(x W) with
W ~ N(0, 0.49/d) (std 0.7/sqrt(d), a slightly small initialisation, so that the
plain stack shows the geometric decay it suffers at any gain below one), run on
a batch of 16 random vectors as plain x <- f(x) and as residual x <- x + f(x).
The gradient of sum(r * output) / sqrt(size) (r fixed, random) is taken by an
exact manual backward pass: plain g <- (g * (1 - y^2)) W^T, residual
g <- g + (g * (1 - y^2)) W^T (the test checks it against finite differences).

Part 2: an RNN h_t = tanh(h_{t-1} W + x_t U) run for `steps` steps, for
recurrent gains 0.5, 1 and 2 (W ~ N(0, gain^2 / d)). The gradient from h_T
back to h_{T-k} is the product of k Jacobians diag(1 - h^2) W^T; its largest
singular value is reported for every k. One causal attention head over the same
number of tokens connects output T to every input in one step: the Jacobian
d out_T / d x_{T-k} = a_j W_v^T + a_j (v_j - out) (c W_k q)^T (exact, with c =
1/sqrt(d)) involves no product over time, so its norm does not decay with k.

JSON keys:
- `layers`: 0..L; `rms_plain`, `rms_residual`: RMS of the signal entering each layer.
- `grad_plain`, `grad_residual`: RMS of d loss / d signal at each layer.
- `steps`: 1..T (distance back in time); `rnn`: list of {gain, norms} with the
  largest singular value of d h_T / d h_{T-k} for each k.
- `attention_norms`: largest singular value of d out_T / d x_{T-k} for each k.
- `takeaway`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.attention import scaled_dot_product_attention

_BATCH = 16
_GAINS = (0.5, 1.0, 2.0)
_STACK_GAIN = 0.7


_LIMIT = 2_000_000_000     # multiply-adds, about a second here
_PER_STEP = 13             # one d x d x d product plus a d x d SVD (~12 d^3) per step and gain


def check(p) -> str | None:
    per_step = p.d**3 * len(_GAINS) * _PER_STEP
    work = p.layers * _BATCH * p.d * p.d + p.steps * per_step
    if work <= _LIMIT:
        return None
    if 2 * per_step > _LIMIT:
        largest_d = int((_LIMIT / (2 * len(_GAINS) * _PER_STEP)) ** (1 / 3))
        return (f"--d {p.d} is too wide for the RNN Jacobian products; the largest --d "
                f"allowed is {largest_d}")
    stack = p.layers * _BATCH * p.d * p.d
    largest = (_LIMIT - stack) // per_step       # what the stack leaves for the RNN part
    if largest < 2:
        most_layers = (_LIMIT - 2 * per_step) // (_BATCH * p.d * p.d)
        return (f"--layers {p.layers} with --d {p.d} leaves no room for the RNN steps "
                f"({work:,} multiply-adds); the largest --layers allowed with these is "
                f"{most_layers}")
    return (f"--steps {p.steps} with --d {p.d} and --layers {p.layers} needs about {work:,} "
            f"multiply-adds; the largest --steps allowed with these is {largest}")


# --------------------------------------------------------------------------- part 1

def stack(x: np.ndarray, weights: list[np.ndarray], residual: bool,
          r: np.ndarray) -> dict:
    """Forward and exact backward of the tanh stack; returns signals, grads and loss."""
    signals, ys = [x], []
    for w in weights:
        y = np.tanh(x @ w)                                            # (batch, d)
        ys.append(y)
        x = x + y if residual else y
        signals.append(x)
    loss = float(np.sum(r * x) / math.sqrt(r.size))
    g = r / math.sqrt(r.size)
    grads = [g]
    for w, y in zip(reversed(weights), reversed(ys), strict=True):
        through = (g * (1 - y**2)) @ w.T
        g = g + through if residual else through
        grads.append(g)
    grads.reverse()
    return {"signals": signals, "grads": grads, "loss": loss}


# --------------------------------------------------------------------------- part 2

def rnn_jacobian_norms(w: np.ndarray, u: np.ndarray, xs: np.ndarray) -> list[float]:
    """Largest singular value of d h_T / d h_{T-k}, k = 1..T, for h_t = tanh(h W + x_t U)."""
    d = w.shape[0]
    h = np.zeros(d)
    jacobians = []
    for x in xs:
        h = np.tanh(h @ w + x @ u)
        jacobians.append((1 - h**2)[:, None] * w.T)                   # d h_t / d h_{t-1}
    m = np.eye(d)
    norms = []
    for jac in reversed(jacobians):                                   # k = 1, 2, ...
        m = m @ jac
        norms.append(float(np.linalg.norm(m, 2)))
    return norms


def attention_jacobians(x: np.ndarray, wq: np.ndarray, wk: np.ndarray,
                        wv: np.ndarray) -> np.ndarray:
    """d out_T / d x_j for the last query of a causal head.     x: (n, d) -> (n, d_v, d)."""
    q = x[-1] @ wq                                                    # (d_k,)
    k, v = x @ wk, x @ wv                                             # (n, d_k), (n, d_v)
    c = 1.0 / math.sqrt(q.shape[-1])
    out, a = scaled_dot_product_attention(q[None], k, v, return_weights=True)
    out, a = out[0], a[0]                                             # (d_v,), (n,)
    dv = a[:, None, None] * wv.T[None]                                # through v_j
    ds = (a[:, None] * (v - out))[:, :, None] * (c * (wk @ q))[None, None, :]  # through s_j
    jac = dv + ds
    # the last position also moves the query: d out / d q = c sum_i a_i (v_i - out) k_i^T
    dq = c * (a[:, None] * (v - out)).T @ k                           # (d_v, d_k)
    jac[-1] += dq @ wq.T
    return jac


def compute(p, rng: np.random.Generator, progress) -> dict:
    d = p.d
    weights = [rng.standard_normal((d, d)) * (_STACK_GAIN / math.sqrt(d))
               for _ in range(p.layers)]
    x = rng.standard_normal((_BATCH, d))
    r = rng.standard_normal((_BATCH, d))
    result: dict = {"layers": list(range(p.layers + 1))}
    for name, residual in (("plain", False), ("residual", True)):
        s = stack(x, weights, residual, r)
        result[f"rms_{name}"] = [float(np.sqrt(np.mean(v**2))) for v in s["signals"]]
        result[f"grad_{name}"] = [float(np.sqrt(np.mean(g**2))) for g in s["grads"]]

    xs = rng.standard_normal((p.steps, d))
    u = rng.standard_normal((d, d)) / math.sqrt(d)
    base = rng.standard_normal((d, d)) / math.sqrt(d)
    result["rnn"] = [{"gain": gain, "norms": rnn_jacobian_norms(gain * base, u, xs)}
                     for gain in progress(_GAINS, total=len(_GAINS), description="RNN")]
    wq, wk, wv = (rng.standard_normal((d, d)) / math.sqrt(d) for _ in range(3))
    jac = attention_jacobians(xs, wq, wk, wv)                         # (T, d, d)
    # k steps back from the last token: x_{T-k} is row T-1-k
    result["attention_norms"] = [float(np.linalg.norm(jac[-1 - k], 2))
                                 for k in range(1, p.steps)]
    result["steps"] = list(range(1, p.steps + 1))
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    L = r["layers"][-1]
    gp, gr = r["grad_plain"], r["grad_residual"]
    unit = next(x for x in r["rnn"] if x["gain"] == 1.0)["norms"]
    att = r["attention_norms"]
    return (f"Over {L} tanh layers the plain stack's gradient at the input is "
            f"{gp[0] / gp[-1]:.2g}x its size at the output; with residuals it is "
            f"{gr[0] / gr[-1]:.2g}x, because x + f(x) always passes the identity back. "
            f"An RNN's gradient {len(unit)} steps back is {unit[-1]:.2g} (gain 1), while "
            f"attention reaches the farthest token in one step ({att[-1]:.2g} vs "
            f"{att[0]:.2g} next door).")


def render(result: dict):
    from tutor.demos import _viz

    f = _viz.fmt
    L = result["layers"][-1]
    step = max(1, L // 8)
    shown = sorted(set(list(range(0, L + 1, step)) + [L]))
    t1 = _viz.table(["layer", "x plain", "x resid", "∇ plain", "∇ resid"],
                    [[i, f(result["rms_plain"][i]), f(result["rms_residual"][i]),
                      f(result["grad_plain"][i]), f(result["grad_residual"][i])]
                     for i in shown],
                    title="Signal and gradient (RMS) through a tanh stack")
    layers = result["layers"]
    p1 = _viz.line_plot({"plain": (layers, result["grad_plain"]),
                         "residual": (layers, result["grad_residual"])},
                        title="gradient RMS by layer (log y)", xlabel="layer", logy=True,
                        width=54, height=10)
    ks = result["steps"]
    series = {f"RNN gain {x['gain']:g}": (ks, _log10(x["norms"])) for x in result["rnn"]}
    series["attention"] = (ks[:-1], _log10(result["attention_norms"]))
    p2 = _viz.line_plot(series, title="log10 ‖∂out_T/∂x_(T-k)‖ vs k", xlabel="k steps back",
                        width=54, height=12)
    return _viz.view("residual: gradients through depth and time", t1, p1, p2,
                     takeaway=result["takeaway"])


def _log10(values: list[float]) -> list[float]:
    # log10 of 0 has no value; anything below 1e-300 is drawn at -300
    return [math.log10(max(v, 1e-300)) for v in values]
