"""Mixture-of-experts formulas against hand computations and the engine's own routes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_expert_capacity_by_hand():
    # Switch Transformer: 4096 tokens, 64 experts, top-1, factor 1.25 -> 80 slots
    assert value("moe.expert_capacity", tokens=4096, experts=64, top_k=1,
                 capacity_factor=1.25) == 80
    # Mixtral-like top-2 of 8 at factor 1: each expert's even share of 2 x 1000 assignments
    assert value("moe.expert_capacity", tokens=1000, experts=8, top_k=2,
                 capacity_factor=1.0) == 250
    assert value("moe.expert_capacity", tokens=1000, experts=3, top_k=1,
                 capacity_factor=1.0) == math.ceil(1000 / 3)


def test_switch_aux_loss_against_the_engine():
    # peaked router logits make P_i equal the routed fractions f_i; the engine then
    # computes E sum f_i P_i from the logits themselves
    from engine.moe import load_balancing_loss

    for experts, share in [(8, 0.5), (4, 1.0), (16, 0.25), (8, 0.125)]:
        tokens = 1600 * (experts - 1)
        busy = round(share * tokens)
        rest = np.arange(tokens - busy) % (experts - 1) + 1
        choice = np.concatenate([np.zeros(busy, dtype=int), rest])
        logits = np.full((tokens, experts), -60.0)
        logits[np.arange(tokens), choice] = 60.0
        engine = load_balancing_loss(logits, k=1)
        assert value("moe.switch_aux_loss", experts=experts, share=share) == \
            pytest.approx(engine, rel=1e-6)
    assert value("moe.switch_aux_loss", experts=8, share=1 / 8) == pytest.approx(1.0)
    assert value("moe.switch_aux_loss", experts=8, share=1.0) == pytest.approx(8.0)


def test_active_weight_bytes_matches_the_published_active_count():
    # Mixtral 8x7B: about 12.9B parameters per token, so 25.8 GB in bf16
    b = value("moe.active_weight_bytes", preset="mixtral-8x7b", bits=16)
    assert b == 2 * value("params.hf_active", preset="mixtral-8x7b")
    assert b == pytest.approx(25.76e9, rel=1e-3)
