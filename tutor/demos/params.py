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

With `--hf-config FILE` (a Hugging Face config.json) or `--preset` naming a
published config (mixtral-8x7b, deepseek-v3, ...), the count comes from
`engine.accounting.count_hf_params` instead, which also knows mixture of
experts, multi-head latent attention, QK-norms and per-projection biases.
JSON keys then:
- `preset` or `hf_config`: where the config came from; `model_type`;
- `items`, `active_items`: {component: parameters} (> 0) of the whole model
  and of what one token uses (top-k routed experts only);
- `total`, `active`, `active_share` (active / total);
- `n_layer`, `n_moe_layers`, `embedding`, `non_embedding`;
- `not_built`: parameters of the release outside the transformers model
  (DeepSeek-V3's multi-token-prediction module), counted in neither total;
- `takeaway`.
"""

from __future__ import annotations

import re
from pathlib import Path
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


def _hf_source(p) -> tuple[str, str] | None:
    """("file", path) or ("preset", name) when the count comes from a Hugging Face config."""
    from tutor.demos.registry import HF_PRESETS

    if getattr(p, "hf_config", None):
        return "file", p.hf_config
    if p.preset in HF_PRESETS:
        return "preset", p.preset
    return None


def check(p) -> str | None:
    source = _hf_source(p)
    if source is not None:
        given = [_FLAGS[f] for o, f in _FIELDS.items() if getattr(p, o, None) is not None]
        what = "--hf-config" if source[0] == "file" else f"--preset {p.preset}"
        if given:
            return (f"{', '.join(given)} cannot be combined with {what}: a published config "
                    "is counted as written (edit a copy of the config.json instead)")
        if source[0] == "file" and p.preset != "gpt2":
            return "give --preset or --hf-config, not both"
        if source[0] == "file" and not Path(p.hf_config).is_file():
            return f"--hf-config: no such file {p.hf_config!r}"
        return None
    try:
        build_config(p)
    except ValueError as e:
        # name the options, not the config fields: "d_model=100" -> "--d-model 100"
        message = re.sub(r"\b(\w+)=", lambda m: (_FLAGS[m.group(1)] + " ")
                         if m.group(1) in _FLAGS else m.group(0), str(e))
        return f"these options do not make a valid model: {message}"
    return None


def read_hf_config(path: str) -> dict:
    """The dict in a config.json; TutorError naming the file (and line) otherwise."""
    import json

    from tutor.errors import TutorError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TutorError(f"{path}: cannot read the config: {e}") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise TutorError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    if not isinstance(config, dict):
        raise TutorError(f"{path}: expected a JSON object (a config.json), "
                         f"got a {type(config).__name__}")
    return config


_NOT_BUILT = {"mtp": "the multi-token-prediction module"}


def _model_name(config: dict, path: Path) -> str:
    # a Hub download keeps config.json in a folder named after the model
    named = str(config.get("_name_or_path") or "")
    if named:
        return named
    return path.parent.name if path.name == "config.json" and path.parent.name else path.stem


def compute_hf(p) -> dict:
    from engine.accounting import count_hf_params
    from engine.hf_configs import hf_config
    from tutor.errors import TutorError

    kind, where = _hf_source(p)
    config = read_hf_config(where) if kind == "file" else hf_config(where)
    try:
        count = count_hf_params(config, name=where if kind == "preset" else None)
    except ValueError as e:
        raise TutorError(f"{where}: {e}" if kind == "file" else str(e)) from None
    name = where if kind == "preset" else _model_name(config, Path(where))
    moe = count.active != count.total
    takeaway = (f"{name} ({count.model_type}) holds {_short(count.total)} parameters"
                + (f"; one token uses {_short(count.active)} ({count.active_share:.1%}): "
                   f"{count.n_moe_layers} MoE layers send it to a few of their experts"
                   if moe else "; every token uses all of them")
                + f". Embeddings and head: {_short(count.embedding)}.")
    if count.not_built:
        takeaway += (" Not counted: " + ", ".join(f"{_NOT_BUILT.get(k, k)} {_short(v)}"
                                                  for k, v in count.not_built.items())
                     + ", which the transformers model does not build.")
    return {
        "preset": where if kind == "preset" else None,
        "hf_config": where if kind == "file" else None,
        "model_type": count.model_type, "name": name,
        "items": {k: int(v) for k, v in count.items.items() if v},
        "active_items": {k: int(v) for k, v in count.active_items.items() if v},
        "total": int(count.total), "active": int(count.active),
        "active_share": float(count.active_share),
        "n_layer": count.n_layer, "n_moe_layers": count.n_moe_layers,
        "embedding": int(count.embedding), "non_embedding": int(count.non_embedding),
        "not_built": {k: int(v) for k, v in count.not_built.items()},
        "takeaway": takeaway,
    }


def compute(p, rng, progress) -> dict:
    from engine.accounting import count_params

    if _hf_source(p) is not None:
        return compute_hf(p)

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


def render_hf(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    total, active = result["total"], result["active"]
    summary = Text(f"{result['model_type']}  L={result['n_layer']}"
                   + (f"  MoE layers={result['n_moe_layers']}" if result["n_moe_layers"] else ""),
                   style="dim")
    active_items = result["active_items"]
    rows = [(name.replace("_", " "), f"{n:,}", f"{active_items.get(name, 0):,}",
             f"{n / total:.1%}") for name, n in result["items"].items()]
    rows.append(("total", f"{total:,}", f"{active:,}", "100%"))
    items = _viz.table(("component", "parameters", "active", "share"), rows)
    bars = _viz.bars([(name.replace("_", " ")[:18], n, _short(n))
                      for name, n in result["items"].items()], width=24)
    parts = [summary, items, bars]
    if result["not_built"]:
        parts.append(Text("not built by transformers: " + ", ".join(
            f"{_NOT_BUILT.get(k, k)} {v:,}" for k, v in result["not_built"].items()),
            style="dim"))
    return _viz.view(f"Parameters of {result['name']}", *parts, takeaway=result["takeaway"])


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    if "active" in result:
        return render_hf(result)
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
