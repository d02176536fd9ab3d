"""Compute formulas against hand computations and published figures."""

from __future__ import annotations

import math

import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_6nd_for_llama_2_7b():
    assert value("flops.training_6nd", preset="llama-2-7b", tokens_b=2000) == \
        pytest.approx(6 * 6_738_415_616 * 2e12)


def test_chinchilla_70b_is_1_4t_tokens():
    # Hoffmann et al. 2022: Chinchilla, 70B parameters on 1.4T tokens
    assert value("flops.chinchilla_tokens", params_b=70) == pytest.approx(1.4e12)
    c = 6 * 70e9 * 1.4e12
    assert value("flops.chinchilla_params", compute=c) == pytest.approx(70e9)
    assert value("flops.chinchilla_params", compute=1e24) == pytest.approx(math.sqrt(1e24 / 120))


def test_training_days():
    days = value("flops.training_days", preset="gpt2", tokens_b=10, gpus=8, peak_tflops=312,
                 mfu=0.5)
    assert days == pytest.approx(6 * 124_439_808 * 10e9 / (8 * 312e12 * 0.5) / 86400)


def test_forward_per_token_gpt2_by_hand():
    d, L, V, n = 768, 12, 50257, 1024
    weights = L * 2 * 12 * d * d           # Q, K, V, O (4d^2) and FFN (8d^2), no biases
    context = L * 2 * 2 * n * d            # Q K^T and weights x V
    assert value("flops.forward_per_token", preset="gpt2", context=n) == \
        weights + context + 2 * d * V


def test_window_pairs_and_linformer():
    assert value("flops.window_pairs", n=4096, window=256) == 4096 * 513
    assert value("flops.linformer_saving", n=4096, k=256) == pytest.approx(4096 / 512)
    assert value("flops.linformer_saving", n=16384, k=128, d=64) == pytest.approx(64)
