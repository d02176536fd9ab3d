"""LoRA parameter formulas against hand counts from the published model shapes."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_lora_params_by_hand_and_by_built_adapters():
    # LoRA paper's setting on a 4096-wide, 32-layer model: rank 16 on W_q and W_v
    assert value("peft.lora_params", d_model=4096, layers=32, rank=16, matrices=2) == \
        32 * 2 * 2 * 16 * 4096
    # the adapters the engine builds hold exactly that many numbers
    from engine.lora import lora_init

    a, b = lora_init(512, 512, 8, np.random.default_rng(0))
    assert value("peft.lora_params", d_model=512, layers=1, rank=8, matrices=1) == \
        a.size + b.size


def test_lora_share_of_llama_2_7b_by_hand():
    # llama-2-7b: 32 layers, d 4096, SwiGLU width 11008, full multi-head K/V
    d, f, layers, r, total = 4096, 11008, 32, 16, 6_738_415_616
    qv = layers * 2 * r * (d + d)
    every = layers * (4 * r * (d + d) + 3 * r * (d + f))
    assert value("peft.lora_preset_share", preset="llama-2-7b", rank=r, targets="q,v") == \
        pytest.approx(100 * qv / total)
    assert value("peft.lora_preset_share", preset="llama-2-7b", rank=r, targets="all") == \
        pytest.approx(100 * every / total)


def test_lora_share_uses_the_grouped_kv_shapes():
    # mistral-7b: 8 K/V heads of 128, so W_v is 4096 x 1024, not square
    d, kv, layers, r = 4096, 8 * 128, 32, 8
    from engine.accounting import count_params
    from engine.config import preset

    total = count_params(preset("mistral-7b")).total
    qv = layers * (r * (d + d) + r * (d + kv))
    assert value("peft.lora_preset_share", preset="mistral-7b", rank=r, targets="q,v") == \
        pytest.approx(100 * qv / total)
    with pytest.raises(ValueError):
        value("peft.lora_preset_share", preset="mistral-7b", rank=r, targets="q,x")
