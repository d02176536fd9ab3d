"""Quantization formulas against hand computations and the engine's quantized tensors."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.formulas import compute_answer


def value(name: str, **kwargs) -> float:
    return compute_answer(name, kwargs).value


def test_weight_bytes_of_a_70b_model():
    # 70e9 parameters: 140 GB in 16 bits, 70 GB in 8, 35 GB in 4
    for bits, gb in [(16, 140), (8, 70), (4, 35)]:
        assert value("quantization.weight_bytes", params_b=70, bits=bits) == \
            pytest.approx(gb * 1e9)
    # int4 with an fp16 scale per 128 weights: 4.125 bits
    assert value("quantization.weight_bytes", params_b=70, bits=4, group_size=128) == \
        pytest.approx(70e9 * 4.125 / 8)


def test_absmax_code_by_hand():
    for x, amax, bits in [(-1.3, 6.0, 8), (0.5, 12.7, 8), (1.9, 2.0, 8), (0.7, 1.0, 4)]:
        qmax = 2 ** (bits - 1) - 1
        assert value("quantization.absmax_code", x=x, absmax=amax, bits=bits) == \
            round(x * qmax / amax)
    # the largest value maps to the largest code, and the sign is kept
    assert value("quantization.absmax_code", x=-6.0, absmax=6.0) == -127


def test_zeropoint_code_by_hand_and_round_trip():
    from engine.quantize import dequantize, quantize

    for x, lo, hi in [(0.0, -0.2, 4.0), (1.5, -1.0, 6.0), (3.0, -0.2, 6.0)]:
        s = (hi - lo) / 255
        z = round(-lo / s)
        code = value("quantization.zeropoint_code", x=x, lo=lo, hi=hi)
        assert code == round(x / s) + z
        # the engine's dequantized value is within half a step of x
        q = quantize(np.array([x, lo, hi]), bits=8, scheme="zeropoint", group_size=None)
        assert abs(dequantize(q)[0] - x) <= s / 2 + 1e-9
    # zero is represented exactly: its code is the zero point
    assert value("quantization.zeropoint_code", x=0.0, lo=-0.2, hi=4.0) == round(0.2 / (4.2 / 255))


def test_nf4_bits_against_a_quantized_tensor():
    from engine.quantize import nf4_quantize

    assert value("quantization.nf4_bits_per_weight", scale_format="fp32") == pytest.approx(4.5)
    assert value("quantization.nf4_bits_per_weight") == \
        pytest.approx(4 + 8 / 64 + 32 / (64 * 256), abs=1e-5)
    # a real NF4 tensor of 64 x 256 x 4 values stores the same bits per value, up to its mean
    x = np.random.default_rng(0).standard_normal(64 * 256 * 4)
    t = nf4_quantize(x, block=64, double_quant=True)
    assert t.bits_per_value == pytest.approx(value("quantization.nf4_bits_per_weight"),
                                             abs=1e-3)
