"""lora: a low-rank update B·A on an engine layer, trained, merged, and counted.

The layer is the query projection W_q (64 x 64) of block 0 of a small random
LLaMA-style engine model (RMSNorm, SwiGLU, RoPE, float64); its inputs are the
model's own normed hidden states for 128 random tokens. The task: make the
layer compute x (W + Delta*), where Delta* is a fixed update of rank
`--task-rank` plus 5% full-rank noise, drawn from the seed (a stand-in for what
fine-tuning asks of a layer). For each rank r, A and B are trained by Adam
from LoRA's initialisation (B = 0) with the update scaled by alpha / r
(engine.lora.fit_lora); the loss is compared with the best any rank-r update
can do, from reduced-rank regression in closed form. The largest-rank adapter
is then merged into W and the merged layer is compared with the unmerged one
on the same inputs.

The real-model table counts adapters with engine.model.param_shapes (nothing
allocated) and prices memory with engine.accounting.training_memory (bf16
weights and gradients, fp32 master weights and Adam moments for what
trains): full fine-tuning trains every weight; LoRA freezes a bf16 base;
QLoRA stores the base's linear layers in NF4 with double quantization (their
bits per weight from engine.quantize.nf4_bits) and keeps the rest in bf16.
Activations are not included.

JSON keys:
- `model`: {d_model, layer, tokens}; `task_rank`, `alpha`, `base_loss` (the loss
  with no adapter);
- `ranks`: [{rank, trainable, full, ratio, loss, optimum, captured}]: trainable
  = r (d_in + d_out) against full = d_in d_out; loss after training against the
  reduced-rank optimum; captured = 1 - loss / base_loss;
- `merged_rank`; `merge_error`: max |x W' - (x W + (alpha/r) (x A) B)|;
  `unmerge_error`: max |(W' - Delta W) - W|;
- `preset`, `preset_rank`; `adapters`: {q_v, all_linear}, each {trainable, adapted,
  total, share};
- `memory`: [{method, bytes, bytes_per_param}] for full fine-tuning, LoRA and QLoRA;
- `nf4`: {bits_per_weight (the preset's linear layers), layer_bits_per_weight,
  rel_error (NF4 W_q's output against float W_q's), qlora_rel_error (NF4 base +
  adapter against float base + adapter)};
- `takeaway`.
"""

from __future__ import annotations

import math

D_MODEL = 64
TOKENS = (2, 64)            # batch x sequence of random token ids
LAYER = "blocks.0.attn.w_q"
NOISE = 0.05


def check(p) -> str | None:
    # ranks and task_rank are bounded by the layer's width (64) in the registry
    work = p.steps * len(p.ranks)
    if work > 6000:
        return (f"--steps {p.steps} for {len(p.ranks)} ranks is {work:,} training steps; "
                f"the largest --steps allowed is {6000 // len(p.ranks)}")
    return None


def _model_inputs(rng):
    import numpy as np

    from engine.config import ModelConfig
    from engine.model import decoder, init_params, norm

    config = ModelConfig(name="tiny-llama", vocab_size=256, n_ctx=TOKENS[1], d_model=D_MODEL,
                         n_layer=2, n_head=4, activation="swiglu", norm="rmsnorm", bias=False,
                         tie_embeddings=False, positional="rope")
    params = init_params(config, rng, np.float64)
    ids = rng.integers(0, config.vocab_size, size=TOKENS)
    hidden = decoder(ids, params, config, return_hidden=True).hidden_states[0]
    x = norm(hidden, params, "blocks.0.attn_norm", config).reshape(-1, D_MODEL)  # (n, d)
    return x, params[LAYER]


def _memory(p) -> tuple[dict, list[dict], dict]:
    from engine.accounting import training_memory
    from engine.config import preset
    from engine.lora import LINEAR_TARGETS, count_adapters
    from engine.model import param_shapes
    from engine.quantize import nf4_bits

    shapes = param_shapes(preset(p.preset))
    adapters = {}
    for key, targets in (("q_v", ("attn.w_q", "attn.w_v")), ("all_linear", LINEAR_TARGETS)):
        c = count_adapters(shapes, p.rank, targets)
        adapters[key] = {"trainable": c.trainable, "adapted": c.adapted, "total": c.total,
                         "share": c.share}
    total = adapters["all_linear"]["total"]
    trainable = adapters["all_linear"]["trainable"]
    linear = [math.prod(s) for n, s in shapes.items() if len(s) == 2 and n.endswith(
        LINEAR_TARGETS)]
    nf4 = sum(nf4_bits(n) for n in linear) / 8                         # bytes
    rest = total - sum(linear)
    adapter_state = training_memory(trainable).total
    rows = [("full fine-tuning", training_memory(total).total),
            ("LoRA, bf16 base", 2 * total + adapter_state),
            ("QLoRA, NF4 base", nf4 + 2 * rest + adapter_state)]
    memory = [{"method": m, "bytes": b, "bytes_per_param": b / total} for m, b in rows]
    return adapters, memory, {"bits_per_weight": 8 * nf4 / sum(linear)}


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.lora import (
        fit_lora,
        lora_linear,
        lora_merge,
        lora_params,
        lora_unmerge,
        reduced_rank_fit,
    )
    from engine.quantize import nf4_dequantize, nf4_quantize
    from tutor.demos._timing import one_blas_thread

    with one_blas_thread():
        x, w = _model_inputs(rng)
        d_in, d_out = w.shape
        task = rng.standard_normal((d_in, p.task_rank)) @ rng.standard_normal((p.task_rank,
                                                                               d_out))
        noise = rng.standard_normal((d_in, d_out))
        task += NOISE * noise * np.linalg.norm(task) / np.linalg.norm(noise)
        task *= 0.5 * np.linalg.norm(w) / np.linalg.norm(task)
        y = x @ (w + task)
        base_loss = float(np.sum((x @ w - y) ** 2) / (2 * len(x)))
        rows, adapter = [], None
        for r in progress(sorted(p.ranks), total=len(p.ranks), description="training"):
            a, b, losses = fit_lora(x, y, w, r, p.alpha, rng, steps=p.steps)
            best = reduced_rank_fit(x, y - x @ w, r)
            optimum = float(np.sum((x @ best - (y - x @ w)) ** 2) / (2 * len(x)))
            trainable = lora_params(d_in, d_out, r)
            rows.append({"rank": r, "trainable": trainable, "full": d_in * d_out,
                         "ratio": trainable / (d_in * d_out),
                         "loss": float(losses[-1]), "optimum": optimum,
                         "captured": 1 - float(losses[-1]) / base_loss})
            adapter = (r, a, b)
        r, a, b = adapter
        merged = lora_merge(w, a, b, p.alpha)
        unmerged_out = lora_linear(x, w, a, b, p.alpha)
        merge_error = float(np.max(np.abs(x @ merged - unmerged_out)))
        unmerge_error = float(np.max(np.abs(lora_unmerge(merged, a, b, p.alpha) - w)))
        t = nf4_quantize(w)
        w4 = nf4_dequantize(t)
        rel = float(np.linalg.norm(x @ w4 - x @ w) / np.linalg.norm(x @ w))
        qlora = float(np.linalg.norm(lora_linear(x, w4, a, b, p.alpha) - unmerged_out)
                      / np.linalg.norm(unmerged_out))
    adapters, memory, nf4 = _memory(p)
    nf4 |= {"layer_bits_per_weight": t.bits_per_value, "rel_error": rel,
            "qlora_rel_error": qlora}
    result = {
        "model": {"d_model": D_MODEL, "layer": LAYER, "tokens": int(np.prod(TOKENS))},
        "task_rank": p.task_rank, "alpha": p.alpha, "base_loss": base_loss, "ranks": rows,
        "merged_rank": r, "merge_error": merge_error, "unmerge_error": unmerge_error,
        "preset": p.preset, "preset_rank": p.rank, "adapters": adapters, "memory": memory,
        "nf4": nf4,
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    enough = [row for row in r["ranks"] if row["rank"] >= r["task_rank"]]
    fit = enough[0] if enough else r["ranks"][-1]
    mem = {m["method"]: m for m in r["memory"]}
    full, q = mem["full fine-tuning"], mem["QLoRA, NF4 base"]
    a = r["adapters"]["all_linear"]
    return (f"Rank {fit['rank']} trains {fit['trainable']:,} numbers, {fit['ratio']:.1%} of the "
            f"layer's {fit['full']:,}, and captures {fit['captured']:.1%} of a rank-"
            f"{r['task_rank']} task. Merged, it is the same layer (max difference "
            f"{r['merge_error']:.1e}). On {r['preset']}, rank {r['preset_rank']} on every linear "
            f"layer trains {a['share']:.2%} of the weights; QLoRA needs "
            f"{q['bytes_per_param']:.2f} bytes per parameter against "
            f"{full['bytes_per_param']:.0f} for full fine-tuning.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    m = result["model"]
    intro = Text(f"W_q of a random engine model ({m['d_model']} x {m['d_model']}), inputs: its "
                 f"normed hidden states for {m['tokens']} tokens. Task: a rank-"
                 f"{result['task_rank']} update + 5% noise. alpha = {result['alpha']:g}.",
                 style="dim")
    ranks = _viz.table(("r", "trains", "of W", "loss", "best r", "captured"), [
        (row["rank"], f"{row['trainable']:,}", f"{row['ratio']:.1%}", f(row["loss"]),
         f(row["optimum"]), f"{row['captured']:.1%}") for row in result["ranks"]],
        title=f"trained adapters (no adapter: loss {f(result['base_loss'])})")
    merged = Text(f"Merged rank {result['merged_rank']}: max |x W' - unmerged| = "
                  f"{result['merge_error']:.1e}; unmerge back to W: "
                  f"{result['unmerge_error']:.1e} (float64).", style="bold")
    a = result["adapters"]
    counts = _viz.table(("adapters on", "trains", "share"), [
        ("W_q, W_v", f"{a['q_v']['trainable']:,}", f"{a['q_v']['share']:.3%}"),
        ("all linear", f"{a['all_linear']['trainable']:,}", f"{a['all_linear']['share']:.3%}"),
        ("full model", f"{a['all_linear']['total']:,}", "100%")],
        title=f"{result['preset']}, rank {result['preset_rank']}")
    memory = _viz.table(("fine-tuning", "B/param", "total"), [
        (row["method"], f"{row['bytes_per_param']:.2f}", _viz.human_bytes(row["bytes"]))
        for row in result["memory"]], title="weights + gradients + Adam (no activations)")
    n = result["nf4"]
    nf4 = Text(f"NF4 + double quantization: {n['bits_per_weight']:.3f} bits per weight; on W_q "
               f"the output error is {n['rel_error']:.1%}, with the adapter "
               f"{n['qlora_rel_error']:.1%}.", style="dim")
    return _viz.view("LoRA and QLoRA", intro, ranks, merged, counts, memory, nf4,
                     takeaway=result["takeaway"])
