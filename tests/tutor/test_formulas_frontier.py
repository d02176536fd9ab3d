"""Frontier formulas against patchified arrays, the engine's KV accounting and its loss."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


@pytest.mark.parametrize("h,w,p", [(224, 224, 16), (224, 224, 14), (336, 336, 14),
                                   (896, 896, 14), (384, 640, 32)])
def test_vit_tokens_match_patchifying_an_image(h, w, p):
    image = np.zeros((h, w, 3))
    patches = image.reshape(h // p, p, w // p, p, 3).transpose(0, 2, 1, 3, 4)
    patches = patches.reshape(-1, p * p * 3)
    assert value("frontier.vit_patch_tokens", height=h, width=w, patch=p) == len(patches)
    assert value("frontier.vit_patch_tokens", height=h, width=w, patch=p,
                 cls=1) == len(patches) + 1


def test_vit_tokens_refuse_partial_patches():
    with pytest.raises(ValueError, match="whole number"):
        value("frontier.vit_patch_tokens", height=225, width=224, patch=16)


def test_kv_to_state_ratio_by_hand():
    # Llama-3.1-8B: 32 layers x 8 KV heads x 128 x (K and V) x 2 bytes per token
    per_token = 32 * 8 * 128 * 2 * 2
    state = 64 * 2 * 2560 * 16 * 2      # Mamba-2.8B: 64 layers, d_inner 5120, N = 16
    for context in (1, 80, 8192):
        assert value("frontier.kv_to_ssm_state_ratio", preset="llama-3.1-8b", context=context,
                     ssm_layers=64, d_model=2560) == pytest.approx(per_token * context / state)


def test_infonce_at_equal_similarities_is_the_engine_cross_entropy():
    from engine.loss import cross_entropy

    for batch in (2, 32, 1000):
        logits = np.zeros((batch, batch))
        targets = np.arange(batch)
        both = (cross_entropy(logits, targets) + cross_entropy(logits.T, targets)) / 2
        assert value("frontier.infonce_uniform_loss", batch=batch) == pytest.approx(both)
        assert both == pytest.approx(math.log(batch))


def test_local_global_fraction_matches_the_engine_cache():
    from engine.accounting import hf_kv_cache_bytes
    from engine.hf_configs import hf_config

    base = dict(hf_config("llama-3.1-8b"), num_hidden_layers=12)
    mixed = dict(base, layer_types=(["sliding_attention"] * 5 + ["full_attention"]) * 2,
                 sliding_window=1024)
    for context in (512, 1024, 32768, 131072):
        ratio = hf_kv_cache_bytes(mixed, 1, context) / hf_kv_cache_bytes(base, 1, context)
        assert value("frontier.local_global_kv_fraction", local_per_global=5, window=1024,
                     context=context) == pytest.approx(ratio)


def test_agent_prompt_tokens_match_a_loop():
    prompt, per_step, steps = 3000, 2000, 20
    sent, history = 0, 0
    for _ in range(steps):
        sent += prompt + history
        history += per_step
    assert value("frontier.agent_prompt_tokens", prompt=prompt, per_step=per_step,
                 steps=steps) == sent
    assert value("frontier.agent_prompt_tokens", prompt=10, per_step=5, steps=1) == 10
