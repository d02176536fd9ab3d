"""flops: FLOPs per token, training compute as 6ND, and Chinchilla-optimal tokens.

The exact count is every matrix multiplication of one forward pass (2 FLOPs per
multiply-add) at the preset's context length, set against Kaplan et al.'s
approximation 2N + 2 n_layer n_ctx d (N: non-embedding parameters). Training
compute is C = 6ND with N the total parameter count; the default D is the
Chinchilla rule of about 20 tokens per parameter (Hoffmann et al. 2022).

JSON keys:
- `preset`, `n_params` (total), `non_embedding`, `n_ctx`;
- `forward`: {qkv, attention_scores, attention_values, attention_output,
  cross_attention, ffn, lm_head, total, kaplan, two_n}: FLOPs per token at n_ctx;
- `kaplan_ratio`: kaplan / total;
- `context`: [{n_ctx, total, attention, share}] for each `--context`;
- `tokens`, `tokens_per_param`, `chinchilla_tokens`, `training_flops` (6ND),
  `training_flops_exact` (3 x exact forward FLOPs per token x D),
  `optimal`: {n_params, n_tokens} Chinchilla-optimal for the same compute;
- `takeaway`.
"""

from __future__ import annotations

_PARTS = ("qkv", "attention_scores", "attention_values", "attention_output",
          "cross_attention", "ffn", "lm_head")


def compute(p, rng, progress) -> dict:
    from engine.accounting import (
        attention_flop_share,
        chinchilla_optimal,
        count_params,
        forward_flops_per_token,
        training_flops,
    )
    from engine.config import preset

    config = preset(p.preset)
    count = count_params(config)
    n = count.total
    f = forward_flops_per_token(config, config.n_ctx)
    forward = {k: getattr(f, k) for k in _PARTS}
    forward |= {"total": f.total, "kaplan": f.kaplan, "two_n": 2 * n}

    context = []
    for n_ctx in sorted(set(p.context)):
        fc = forward_flops_per_token(config, n_ctx)
        context.append({"n_ctx": n_ctx, "total": fc.total, "attention": fc.attention_context,
                        "share": attention_flop_share(config, n_ctx)})

    chinchilla = chinchilla_optimal(n_params=n)
    tokens = float(p.tokens) if p.tokens is not None else chinchilla.n_tokens
    compute_flops = training_flops(n, tokens)
    optimal = chinchilla_optimal(compute_flops=compute_flops)

    first, last = context[0], context[-1]
    growth = (f"grows from {first['share']:.0%} at {first['n_ctx']:,} to {last['share']:.0%} "
              f"at {last['n_ctx']:,} tokens" if len(context) > 1 else
              f"is {first['share']:.0%} at {first['n_ctx']:,} tokens")
    takeaway = (
        f"{config.name}: {_e(f.total)} FLOPs/token forward at {config.n_ctx:,} context "
        f"(2N = {_e(2 * n)}); attention's share of the matmuls {growth}. "
        f"Training on {_e(tokens)} tokens "
        f"({tokens / n:.0f}/param) costs 6ND = {_e(compute_flops)} FLOPs.")
    return {
        "preset": p.preset,
        "n_params": n,
        "non_embedding": count.non_embedding,
        "n_ctx": config.n_ctx,
        "forward": forward,
        "kaplan_ratio": f.kaplan / f.total,
        "context": context,
        "tokens": tokens,
        "tokens_per_param": tokens / n,
        "chinchilla_tokens": chinchilla.n_tokens,
        "training_flops": compute_flops,
        "training_flops_exact": 3 * f.total * tokens,
        "optimal": {"n_params": optimal.n_params, "n_tokens": optimal.n_tokens},
        "takeaway": takeaway,
    }


def _e(x: float) -> str:
    """1.89e7, 2.49e9, 512."""
    if abs(x) < 1e4:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = result["forward"]
    total = f["total"]
    rows = [(k.replace("_", " "), _e(f[k]), f"{f[k] / total:.1%}") for k in _PARTS if f[k]]
    rows += [("exact total", _e(total), "100%"),
             ("2N + 2·L·n·d (Kaplan)", _e(f["kaplan"]), f"{result['kaplan_ratio']:.1%}"),
             ("2N (all parameters)", _e(f["two_n"]), f"{f['two_n'] / total:.1%}")]
    per_token = _viz.table((f"forward FLOPs/token, n={result['n_ctx']:,}", "FLOPs", "of exact"),
                           rows)
    share = _viz.table(("context", "FLOPs/token", "attention"), [
        (f"{c['n_ctx']:,}", _e(c["total"]), f"{c['share']:.1%}") for c in result["context"]])
    plot = None
    if len(result["context"]) >= 2:
        xs = [c["n_ctx"] for c in result["context"]]
        plot = _viz.line_plot({"attention %": (xs, [100 * c["share"] for c in result["context"]])},
                              title="attention share of forward FLOPs", xlabel="context",
                              logx=True, width=54, height=12)
    o = result["optimal"]
    train = _viz.table(("training", "value"), [
        ("parameters N", f"{result['n_params']:,}"),
        ("tokens D", f"{_e(result['tokens'])} ({result['tokens_per_param']:.1f}/param)"),
        ("C = 6ND", _e(result["training_flops"])),
        ("3 x exact forward x D", _e(result["training_flops_exact"])),
        ("Chinchilla D = 20N", _e(result["chinchilla_tokens"])),
        ("optimal N for this C", _e(o["n_params"])),
    ])
    note = Text("Backward costs about twice the forward, so training is about 3x the "
                "forward pass: 6N per token.", style="dim")
    return _viz.view(f"FLOPs of {result['preset']}", per_token, share, plot, train, note,
                     takeaway=result["takeaway"])
