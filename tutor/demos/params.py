"""params: itemised parameter counts, and the 12 d^2 per-layer rule against the exact count.

Starts from a preset config and applies the options as overrides. When
`--d-model`, `--heads` or `--activation` change and `--ffn-dim` is not given,
the FFN width goes back to its default (4d, or LLaMA's 8/3 d rounded up to a
multiple of 256 for SwiGLU), and the head width to d_model / heads.

JSON keys:
- `preset`: the starting preset; `overrides`: {option: value} given;
  `config`: the resulting sizes and choices
  (d_model, n_layer, n_head, n_kv_head, head_dim, vocab_size, n_ctx, d_ff,
  activation, norm, bias, tie_embeddings, positional, arch);
- `items`: {component: parameters} for every component the model has (> 0);
- `total`: exact parameter count; `per_layer`: one block; `n_blocks`: blocks
  in the model (encoder + decoder);
- `rule_12d2`: 12 x n_blocks x d_model^2; `non_embedding`: total minus
  embeddings and an untied head; `rule_vs_non_embedding`: rule_12d2 /
  non_embedding; `rule_vs_total`: rule_12d2 / total;
- `embedding`: parameters in token/position/segment embeddings and an untied
  head; `embedding_share`: embedding / total;
- `takeaway`.
"""

from __future__ import annotations

import re
from typing import Any

# option name -> ModelConfig field
_FIELDS = {
    "d_model": "d_model", "layers": "n_layer", "heads": "n_head", "kv_heads": "n_kv_head",
    "vocab": "vocab_size", "context": "n_ctx", "ffn_dim": "d_ff", "activation": "activation",
    "norm": "norm", "bias": "bias", "tie": "tie_embeddings", "positional": "positional",
}
_FLAGS = {field: "--" + option.replace("_", "-") for option, field in _FIELDS.items()}


def build_config(p):
    """The preset with the options applied; ValueError when the result is not a valid model."""
    from engine.config import preset

    base = preset(p.preset)
    changes: dict[str, Any] = {}
    for option, field in _FIELDS.items():
        value = getattr(p, option, None)
        if value is not None:
            changes[field] = value
    if getattr(p, "ffn_dim", None) is None and (
            {"d_model", "activation"} & set(changes)):
        changes["d_ff"] = None          # back to 4d, or 8/3 d for SwiGLU
    if {"d_model", "n_head"} & set(changes):
        changes["d_head"] = None        # d_model / n_head
    if changes.get("activation") == "gelu" and base.activation == "gelu_tanh":
        changes.pop("activation")       # the tanh approximation: same parameters
    return base.replace(name=base.name if not changes else f"{base.name} (modified)",
                        **changes)


def check(p) -> str | None:
    try:
        build_config(p)
    except ValueError as e:
        # name the options, not the config fields: "d_model=100" -> "--d-model 100"
        message = re.sub(r"\b(\w+)=", lambda m: (_FLAGS[m.group(1)] + " ")
                         if m.group(1) in _FLAGS else m.group(0), str(e))
        return f"these options do not make a valid model: {message}"
    return None


def compute(p, rng, progress) -> dict:
    from engine.accounting import count_params

    config = build_config(p)
    count = count_params(config)
    n_blocks = config.n_layer + (config.decoder_layers if config.arch == "encoder-decoder"
                                 else 0)
    items = {k: int(v) for k, v in count.items.items() if v}
    total = int(count.total)
    rule = int(count.rule_12d2)
    share = float(count.embedding_share)
    non_emb = int(count.non_embedding)
    ratio = rule / non_emb if non_emb else float("nan")
    takeaway = (f"12·L·d² = {_short(rule)} is {ratio:.1%} of the {_short(non_emb)} "
                f"non-embedding parameters of {config.name}; the embeddings"
                f"{'' if config.tie_embeddings else ' and head'} add {_short(count.embedding)}, "
                f"{share:.1%} of the {_short(total)} total.")
    return {
        "preset": p.preset,
        "config": {
            "arch": config.arch, "d_model": config.d_model, "n_layer": config.n_layer,
            "n_head": config.n_head, "n_kv_head": config.kv_heads,
            "head_dim": config.head_dim, "vocab_size": config.vocab_size,
            "n_ctx": config.n_ctx, "d_ff": config.ffn_dim, "activation": config.activation,
            "norm": config.norm, "bias": config.bias, "tie_embeddings": config.tie_embeddings,
            "positional": config.positional,
        },
        "overrides": {o: getattr(p, o) for o in _FIELDS if getattr(p, o, None) is not None},
        "items": items,
        "total": total,
        "per_layer": int(count.per_layer),
        "n_blocks": n_blocks,
        "rule_12d2": rule,
        "non_embedding": non_emb,
        "rule_vs_non_embedding": ratio,
        "rule_vs_total": rule / total,
        "embedding": int(count.embedding),
        "embedding_share": share,
        "takeaway": takeaway,
    }


def _short(n: float) -> str:
    """124.4M, 6.74B, 13.0K."""
    n = float(n)
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}" if n / div < 100 else f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    c = result["config"]
    total = result["total"]
    summary = Text(
        f"d={c['d_model']:,}  L={c['n_layer']}  heads={c['n_head']}/{c['n_kv_head']}kv  "
        f"vocab={c['vocab_size']:,}\n"
        f"ffn={c['d_ff']:,} {c['activation']}  {c['norm']}  "
        f"bias={'yes' if c['bias'] else 'no'}  tied={'yes' if c['tie_embeddings'] else 'no'}  "
        f"pos={c['positional']}", style="dim")
    rows = [(name.replace("_", " "), f"{n:,}", f"{n / total:.1%}")
            for name, n in result["items"].items()]
    rows.append(("total", f"{total:,}", "100%"))
    items = _viz.table(("component", "parameters", "share"), rows)
    bars = _viz.bars([(name.replace("_", " ")[:18], n, _short(n))
                      for name, n in result["items"].items()], width=24)
    rule = _viz.table(("12 d² rule", "parameters", "rule ÷ row"), [
        ("one block (exact)", f"{result['per_layer']:,}",
         f"{12 * c['d_model'] ** 2 / result['per_layer']:.3f}"),
        (f"{result['n_blocks']} blocks: 12·L·d²", f"{result['rule_12d2']:,}", ""),
        ("non-embedding", f"{result['non_embedding']:,}",
         f"{result['rule_vs_non_embedding']:.3f}"),
        ("total", f"{total:,}", f"{result['rule_vs_total']:.3f}"),
    ])
    title = f"Parameters of {result['preset']}" + (" (modified)" if result["overrides"] else "")
    return _viz.view(title, summary, items, bars, rule, takeaway=result["takeaway"])
