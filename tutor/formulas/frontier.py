"""Formulas beyond the dense transformer: SSM state, image patches, contrastive loss,
interleaved local/global attention, and the prompt an agent loop re-reads."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


def _positive(**values: int) -> None:
    for name, v in values.items():
        if v < 1:
            raise ValueError(f"{name}={v} must be >= 1")


@formula("frontier.vit_patch_tokens",
         "Tokens a ViT makes of an image: (H / P) x (W / P) patches, plus `cls` extra tokens")
def vit_patch_tokens(height: int, width: int, patch: int, cls: int = 0) -> Computed:
    _positive(height=height, width=width, patch=patch)
    if height % patch or width % patch:
        raise ValueError(f"{height} x {width} is not a whole number of {patch}-pixel patches")
    rows, cols = height // patch, width // patch
    tokens = rows * cols + cls
    extra = f" + {cls} [CLS]" if cls else ""
    return Computed(tokens, f"({_n(height)} / {patch}) x ({_n(width)} / {patch}) = {rows} x "
                            f"{cols} = {_n(rows * cols)} patches{extra} = {_n(tokens)} tokens")


@formula("frontier.kv_to_ssm_state_ratio",
         "How many times a published transformer's KV cache at a context outweighs a Mamba "
         "model's recurrent state (layers x expand x d_model x d_state), both in 16 bits")
def kv_to_ssm_state_ratio(preset: str, context: int, ssm_layers: int, d_model: int,
                          d_state: int = 16, expand: int = 2) -> Computed:
    from engine.accounting import hf_kv_cache_bytes
    from engine.hf_configs import hf_config

    _positive(context=context, ssm_layers=ssm_layers, d_model=d_model, d_state=d_state,
              expand=expand)
    kv = hf_kv_cache_bytes(hf_config(preset), 1, context, 2)
    state = ssm_layers * expand * d_model * d_state * 2
    ratio = kv / state
    return Computed(ratio, f"KV of {preset} at {_n(context)} tokens = {_n(kv)} B; SSM state = "
                           f"{ssm_layers} x {expand} x {_n(d_model)} x {d_state} x 2 B = "
                           f"{_n(state)} B, whatever the context; {_n(kv)} / {_n(state)} = "
                           f"{ratio:.4g}")


@formula("frontier.infonce_uniform_loss",
         "CLIP/InfoNCE loss when every image-text similarity in a batch is equal: ln(batch)")
def infonce_uniform_loss(batch: int) -> Computed:
    _positive(batch=batch)
    loss = math.log(batch)
    return Computed(loss, f"each image picks its caption among {_n(batch)}: -ln(1/{_n(batch)}) "
                          f"= ln {_n(batch)} = {loss:.4g} nats (both directions averaged: "
                          f"the same)")


@formula("frontier.local_global_kv_fraction",
         "KV cache of r sliding-window layers per global layer, as a fraction of all-global: "
         "(r min(w, n) + n) / ((r + 1) n)")
def local_global_kv_fraction(local_per_global: int, window: int, context: int) -> Computed:
    _positive(window=window, context=context)
    if local_per_global < 0:
        raise ValueError(f"local_per_global={local_per_global} must be >= 0")
    r, kept = local_per_global, min(window, context)
    frac = (r * kept + context) / ((r + 1) * context)
    return Computed(frac, f"({r} x min({_n(window)}, {_n(context)}) + {_n(context)}) / "
                          f"({r + 1} x {_n(context)}) = {_n(r * kept + context)} / "
                          f"{_n((r + 1) * context)} = {frac:.4g}")


@formula("frontier.agent_prompt_tokens",
         "Prompt tokens an agent loop sends over `steps` model calls when each call resends "
         "the prompt plus every earlier tool result: steps x prompt + per_step x steps (steps "
         "- 1) / 2")
def agent_prompt_tokens(prompt: int, per_step: int, steps: int) -> Computed:
    _positive(steps=steps)
    if prompt < 0 or per_step < 0:
        raise ValueError("prompt and per_step must be >= 0")
    total = steps * prompt + per_step * steps * (steps - 1) // 2
    return Computed(total, f"call t (t = 1..{steps}) sends {_n(prompt)} + (t - 1) x "
                           f"{_n(per_step)} tokens; sum = {steps} x {_n(prompt)} + {_n(per_step)}"
                           f" x {steps} x {steps - 1} / 2 = {_n(total)} (new tokens only, with "
                           f"a prefix cache: {_n(prompt + per_step * (steps - 1))})")
