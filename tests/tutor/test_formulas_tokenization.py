"""Tokenization formulas against hand computations."""

from __future__ import annotations

import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_vocab_params_tied_and_untied():
    assert value("tokenization.vocab_params", vocab=100_000, d_model=4096) == 2 * 409_600_000
    assert value("tokenization.vocab_params", vocab=100_000, d_model=4096, tied=True) == \
        409_600_000


def test_vocab_share_gpt2_and_llama_3():
    assert value("tokenization.vocab_share", preset="gpt2") == \
        pytest.approx(50257 * 768 / 124_439_808)
    # LLaMA-3-8B: 128,256 x 4,096 embedding plus an untied head, 8,030,261,248 in all
    assert value("tokenization.vocab_share", preset="llama-3-8b") == \
        pytest.approx(2 * 128256 * 4096 / 8_030_261_248)


def test_head_flop_share_gpt2():
    d, L, V, n = 768, 12, 50257, 2048
    total = L * 24 * d * d + L * 4 * n * d + 2 * V * d
    assert value("tokenization.head_flop_share", preset="gpt2", vocab=V, context=n) == \
        pytest.approx(2 * V * d / total)
