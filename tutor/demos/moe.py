"""moe: routing on engine activations, the balancing loss, capacity drops, active parameters.

The layer is the mixture-of-experts FFN of block 1 of a small random LLaMA-style
engine model (d = 64, 4 heads, RMSNorm, RoPE, float64; block 0 keeps a dense
FFN): `--experts` SwiGLU experts of width 64 with a Mixtral router (softmax over
the experts, the `--top-k` best kept and renormalised), engine.moe.moe_ffn. Its
inputs are what the model itself feeds that FFN: `--tokens` token ids drawn from
a Zipf law (frequency of rank r proportional to r^-1.1, as word frequencies
are), in sequences of 64, run through block 0 and block 1's attention, then
block 1's FFN norm. Frequent tokens repeat, and their copies go to the same
experts, so routing starts unbalanced.

The router weights W_r are then trained by `--steps` steps of gradient descent
(learning rate 5), twice from the same start: on the task loss alone, and on
task + `--aux-coef` x Switch Transformer's balancing loss E sum_e f_e P_e
(engine.moe.load_balancing_loss). The task: make the layer's output match a
dense SwiGLU FFN of width 4d = 256, drawn at the engine's init scale; the
loss is half the squared error over the target's mean square. The
gradient is analytic (softmax over the chosen experts' logits for the task; the
balancing loss through P_e with the counts f_e held fixed, as they have no
gradient); the experts stay fixed. Load is the number of token-to-expert
assignments each expert receives (engine.moe.expert_load), and its coefficient
of variation (CV) is std / mean over the experts: 0 when perfectly balanced.

Capacity: each expert takes at most C = ceil(`--capacity-factor` x k x tokens / E)
assignments (engine.moe.expert_capacity), filled first choice first, in token
order (engine.moe.capacity_mask); the rest are dropped and those tokens skip
that expert. The real-model figures are engine.accounting.count_hf_params on
the published config.json of `--preset` (engine.hf_configs).

JSON keys:
- `model`: {d_model, d_expert, experts, top_k, tokens, zipf, steps, lr};
- `aux_coef`; `runs`: [{aux_coef, load, cv, max_over_mean, min_over_mean, task_loss,
  aux_loss, cv_per_step, task_per_step}] for the task alone (aux_coef 0) and with
  the balancing loss; `load`, `cv`, `task_loss` and `aux_loss` are measured after
  the last step with engine.moe (moe_ffn and load_balancing_loss), `cv_per_step`
  and `task_per_step` before each step;
- `init`: {load, cv, aux_loss} of the untrained router;
- `capacity_factor`, `capacity` (slots per expert); `capacity_runs`: [{aux_coef,
  dropped_assignments, dropped_tokens (tokens none of whose experts took them),
  dropped_share (of all assignments)}] for the two trained routers;
- `preset`, `accounting`: {total, active, active_share, n_experts, top_k,
  n_moe_layers, n_layer, routed_total, routed_active, items, active_items} of the
  preset's config;
- `takeaway`.
"""

from __future__ import annotations

import math

D_MODEL = 64
D_EXPERT = 64
SEQ = 64              # tokens per sequence fed to the model
VOCAB = 256
ZIPF = 1.1
LR = 5.0
PREFIX = "blocks.1.ffn"
# token-expert-steps of router training (two runs): a few seconds at the limit
WORK_BUDGET = 6_000_000


def check(p) -> str | None:
    if p.top_k > p.experts:
        return (f"--top-k {p.top_k} is more than the {p.experts} experts; the largest "
                f"--top-k allowed with --experts {p.experts} is {p.experts}")
    work = p.steps * p.tokens * p.experts
    if work > WORK_BUDGET:
        largest = max(1, WORK_BUDGET // (p.tokens * p.experts))
        return (f"--steps {p.steps} with --tokens {p.tokens} and --experts {p.experts} is "
                f"{work:,} token-expert-steps (limit {WORK_BUDGET:,}); the largest --steps "
                f"allowed with these is {largest:,}")
    return None


# ----------------------------------------------------------------------------- set-up

def model_config(experts: int, top_k: int, n_ctx: int = SEQ):
    from engine.config import ModelConfig
    from engine.moe import MoEConfig

    moe = MoEConfig(n_experts=experts, top_k=top_k, d_expert=D_EXPERT)
    return ModelConfig(name="tiny-moe", vocab_size=VOCAB, n_ctx=n_ctx, d_model=D_MODEL,
                       n_layer=2, n_head=4, activation="swiglu", norm="rmsnorm", bias=False,
                       tie_embeddings=False, positional="rope", ffn="moe", moe=moe,
                       dense_layers=(0,))


def zipf_ids(rng, tokens: int):
    """(batch, SEQ) token ids, rank r drawn with probability proportional to r^-ZIPF."""
    import numpy as np

    freq = np.arange(1, VOCAB + 1, dtype=np.float64) ** -ZIPF
    batch = math.ceil(tokens / SEQ)
    return rng.choice(VOCAB, size=(batch, SEQ), p=freq / freq.sum())


def ffn_inputs(ids, params, config):
    """What block 1's FFN receives, and the residual stream it adds to.  -> 2 x (n, d)"""
    from engine.model import decoder, mha_sublayer, norm

    x1 = decoder(ids, params, config, return_hidden=True).hidden_states[1]   # (b, SEQ, d)
    attn = mha_sublayer(norm(x1, params, "blocks.1.attn_norm", config), params,
                        "blocks.1.attn", config, is_causal=True)
    u = x1 + attn                                                            # (b, SEQ, d)
    h = norm(u, params, "blocks.1.ffn_norm", config)
    return h.reshape(-1, config.d_model), u.reshape(-1, config.d_model)


def dense_teacher(x, rng):
    """A dense SwiGLU FFN of width 4d at the engine's init scale, applied to x.  (n, d)"""
    from engine.functional import swiglu

    width = 4 * D_MODEL
    w_gate, w_up = (0.02 * rng.standard_normal((D_MODEL, width)) for _ in range(2))
    w_down = 0.02 / math.sqrt(2 * 2) * rng.standard_normal((width, D_MODEL))
    return swiglu(x, w_gate, w_up) @ w_down


def expert_outputs(x, params, prefix: str = PREFIX):
    """Every expert on every token (fixed while the router trains).  -> (n, E, d)"""
    import numpy as np

    from engine.functional import swiglu

    wg, wu, wd = (params[f"{prefix}.experts.{w}"] for w in ("w_gate", "w_up", "w_down"))
    out = np.empty((x.shape[0], wg.shape[0], wd.shape[-1]), dtype=x.dtype)
    for e in range(wg.shape[0]):
        out[:, e] = swiglu(x, wg[e], wu[e]) @ wd[e]                     # (n, d)
    return out


# ----------------------------------------------------------------------------- the losses

def router_loss_and_grad(x, w_r, y_all, target, config, aux_coef: float):
    """Task loss, balancing loss, and d(task + aux_coef * aux)/d W_r, analytically.

    x (n, d), w_r (d, E), y_all (n, E, d) every expert's output, target (n, d).
    Task: 0.5 mean_t |out_t - target_t|^2 / mean_t |target_t|^2, out_t = sum_j g_tj
    y_{t, i_tj}; the renormalised top-k weights are a softmax over the chosen logits,
    so d g_j / d l_m = g_j (delta_jm - g_m) for chosen m and 0 otherwise. Balancing:
    E sum_e f_e P_e with P_e = mean_t p_te; f_e has no gradient, and
    d/d l_tm = (E / n) p_tm (f_m - sum_e f_e p_te).
    -> (task, aux, grad (d, E), indices (n, k)).
    """
    import numpy as np

    from engine.moe import route_with

    n = x.shape[0]
    n_experts = w_r.shape[1]
    logits = x @ w_r                                                    # (n, E)
    g, idx = route_with(logits, config)                                 # (n, k) each
    chosen = y_all[np.arange(n)[:, None], idx]                          # (n, k, d)
    out = np.einsum("nk,nkd->nd", g, chosen)                            # (n, d)
    resid = out - target
    scale = 1.0 / np.mean(np.sum(target ** 2, axis=-1))
    task = 0.5 * scale * float(np.mean(np.sum(resid ** 2, axis=-1)))
    d_g = scale * np.einsum("nd,nkd->nk", resid, chosen) / n            # (n, k)
    d_chosen = g * (d_g - np.sum(g * d_g, axis=-1, keepdims=True))      # (n, k)
    d_logits = np.zeros_like(logits)
    np.put_along_axis(d_logits, idx, d_chosen, axis=-1)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)                                  # (n, E) softmax
    f = np.bincount(idx.ravel(), minlength=n_experts) / n               # (E,) sums to k
    aux = n_experts * float(f @ p.mean(axis=0))
    if aux_coef:
        d_logits += aux_coef * (n_experts / n) * p * (f[None, :] - (p @ f)[:, None])
    return task, aux, x.T @ d_logits, idx


def cv(load) -> float:
    """Coefficient of variation of the per-expert load: std / mean."""
    import numpy as np

    load = np.asarray(load, dtype=np.float64)
    return float(load.std() / load.mean())


def train_router(x, w_r, y_all, target, config, aux_coef: float, steps: int, lr: float = LR):
    """Gradient descent on W_r alone.  -> (W_r, cv per step, task loss per step)"""
    from engine.moe import expert_load

    w = w_r.copy()
    cvs, tasks = [], []
    for _ in range(steps):
        task, _, grad, idx = router_loss_and_grad(x, w, y_all, target, config, aux_coef)
        cvs.append(cv(expert_load(idx, config.n_experts)))
        tasks.append(task)
        w -= lr * grad
    return w, cvs, tasks


def task_loss(x, params, target, config, prefix: str = PREFIX) -> float:
    """The task loss through engine.moe.moe_ffn (the layer as the model runs it)."""
    import numpy as np

    from engine.moe import moe_ffn

    out = moe_ffn(x, params, prefix, config)
    return 0.5 * float(np.mean(np.sum((out - target) ** 2, axis=-1))
                       / np.mean(np.sum(target ** 2, axis=-1)))


# ----------------------------------------------------------------------------- accounting

def accounting(name: str) -> dict:
    from engine.accounting import count_hf_params
    from engine.hf_configs import hf_config

    config = hf_config(name)
    c = count_hf_params(config, name)
    n_experts = config.get("num_local_experts") or config.get("num_experts") \
        or config.get("n_routed_experts")
    return {"total": c.total, "active": c.active, "active_share": c.active_share,
            "n_experts": n_experts, "top_k": config["num_experts_per_tok"],
            "n_moe_layers": c.n_moe_layers, "n_layer": c.n_layer,
            "routed_total": c.items["routed_experts"],
            "routed_active": c.active_items["routed_experts"],
            "items": {k: v for k, v in c.items.items() if v},
            "active_items": {k: v for k, v in c.active_items.items() if v}}


# ----------------------------------------------------------------------------- the demo

def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.model import init_params
    from engine.moe import (
        capacity_mask,
        expert_capacity,
        expert_load,
        load_balancing_loss,
        route_with,
    )
    from tutor.demos._timing import one_blas_thread

    config = model_config(p.experts, p.top_k)
    moe = config.moe
    with one_blas_thread():
        params = init_params(config, rng, np.float64)
        ids = zipf_ids(rng, p.tokens)
        x = ffn_inputs(ids, params, config)[0][:p.tokens]                 # (n, d)
        target = dense_teacher(x, rng)                         # (n, d)
        y_all = expert_outputs(x, params)                                 # (n, E, d)
        w0 = params[PREFIX + ".router.w"]
        logits0 = x @ w0
        load0 = expert_load(route_with(logits0, moe)[1], p.experts)
        init = {"load": load0, "cv": cv(load0),
                "aux_loss": load_balancing_loss(logits0, p.top_k)}
        cap = expert_capacity(p.tokens, p.experts, p.top_k, p.capacity_factor)
        runs, capacity_runs = [], []
        for coef in progress([0.0, p.aux_coef], total=2, description="training the router"):
            w, cvs, tasks = train_router(x, w0, y_all, target, moe, coef, p.steps)
            trained = {**params, PREFIX + ".router.w": w}
            logits = x @ w
            idx = route_with(logits, moe)[1]
            load = expert_load(idx, p.experts)
            runs.append({"aux_coef": coef, "load": load, "cv": cv(load),
                         "max_over_mean": float(load.max() / load.mean()),
                         "min_over_mean": float(load.min() / load.mean()),
                         "task_loss": task_loss(x, trained, target, moe),
                         "aux_loss": load_balancing_loss(logits, p.top_k),
                         "cv_per_step": cvs, "task_per_step": tasks})
            kept = capacity_mask(idx, p.experts, cap)
            dropped = int((~kept).sum())
            capacity_runs.append({"aux_coef": coef, "dropped_assignments": dropped,
                                  "dropped_tokens": int((~kept.any(axis=-1)).sum()),
                                  "dropped_share": dropped / kept.size})
    result = {
        "model": {"d_model": D_MODEL, "d_expert": D_EXPERT, "experts": p.experts,
                  "top_k": p.top_k, "tokens": p.tokens, "zipf": ZIPF, "steps": p.steps,
                  "lr": LR},
        "aux_coef": p.aux_coef, "runs": runs, "init": init,
        "capacity_factor": p.capacity_factor, "capacity": cap, "capacity_runs": capacity_runs,
        "preset": p.preset, "accounting": accounting(p.preset),
    }
    result["takeaway"] = _takeaway(result)
    return result


def _billions(n: float) -> str:
    return f"{n / 1e9:.1f}B"


def _takeaway(r: dict) -> str:
    plain, aux = r["runs"]
    cp, ca = r["capacity_runs"]
    a = r["accounting"]
    return (f"Trained on the task alone, the router's load CV goes from {r['init']['cv']:.2f} to "
            f"{plain['cv']:.2f} (busiest expert {plain['max_over_mean']:.1f}x the mean); with "
            f"the balancing loss at {aux['aux_coef']:g} it ends at {aux['cv']:.2f} (task loss "
            f"{aux['task_loss']:.3f} against {plain['task_loss']:.3f}). At capacity factor "
            f"{r['capacity_factor']:g} ({r['capacity']} slots per expert) that is "
            f"{cp['dropped_share']:.1%} of assignments dropped against {ca['dropped_share']:.1%}. "
            f"{r['preset']} holds {_billions(a['total'])} parameters but each token uses "
            f"{_billions(a['active'])} ({a['active_share']:.0%}): {a['top_k']} of "
            f"{a['n_experts']} experts.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    m = result["model"]
    plain, aux = result["runs"]
    intro = Text(
        f"Block 1 MoE FFN of a random engine model (d={m['d_model']}): {m['experts']} SwiGLU "
        f"experts, top-{m['top_k']}, on its own FFN inputs for {m['tokens']:,} Zipf tokens. "
        f"Router trained {m['steps']} steps (lr {m['lr']:g}) to match a dense FFN.",
        style="dim")
    rows = [("untrained", result["init"]["cv"], None, None, result["init"]["aux_loss"])]
    rows += [(f"task + {r['aux_coef']:g} aux" if r["aux_coef"] else "task only", r["cv"],
              r["max_over_mean"], r["task_loss"], r["aux_loss"]) for r in (plain, aux)]
    balance = _viz.table(("router", "load CV", "max/mean", "task", "aux"), [
        (name, f"{c:.3f}", "-" if mx is None else f"{mx:.2f}", "-" if t is None else f"{t:.4f}",
         f"{a:.3f}") for name, c, mx, t, a in rows],
        title=f"expert load (aux = k = {m['top_k']} when balanced)")
    steps = list(range(1, len(plain["cv_per_step"]) + 1))
    plot = None
    if len(steps) >= 3:
        plot = _viz.line_plot({"task only": (steps, plain["cv_per_step"]),
                               f"+ {aux['aux_coef']:g} aux": (steps, aux["cv_per_step"])},
                              title="load CV per step", xlabel="step", width=54, height=11)
    loads = None
    if m["experts"] <= 16:
        top = max(max(plain["load"]), max(aux["load"]))
        loads = _viz.side_by_side(
            _bars(plain["load"], top, "task only"),
            _bars(aux["load"], top, f"+ {aux['aux_coef']:g} aux"))
    cap = _viz.table(("router", "dropped", "share", "tokens lost"), [
        ("task only" if r["aux_coef"] == 0 else f"+ {r['aux_coef']:g} aux",
         f"{r['dropped_assignments']:,}", f"{r['dropped_share']:.1%}", f"{r['dropped_tokens']:,}")
        for r in result["capacity_runs"]],
        title=f"capacity factor {result['capacity_factor']:g}: {result['capacity']} slots "
              "per expert")
    a = result["accounting"]
    acc = _viz.table(("parameters", "total", "per token"), [
        (k.replace("_", " "), _viz.fmt(v), _viz.fmt(a["active_items"][k]))
        for k, v in a["items"].items()] + [("all", _viz.fmt(a["total"]), _viz.fmt(a["active"]))],
        title=f"{result['preset']}: {a['top_k']} of {a['n_experts']} experts in "
              f"{a['n_moe_layers']} of {a['n_layer']} layers")
    return _viz.view("mixture of experts", intro, balance, plot, loads, cap, acc,
                     takeaway=result["takeaway"])


def _bars(load, top: int, title: str):
    from rich.table import Table
    from rich.text import Text

    t = Table.grid(padding=(0, 1))
    t.add_column(justify="right", style="dim")
    t.add_column(no_wrap=True)
    t.add_column(justify="right")
    t.title = title
    for e, n in enumerate(load):
        t.add_row(str(e), Text("█" * round(10 * n / top) if top else ""), str(n))
    return t
