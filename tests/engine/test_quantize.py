"""Quantization against loops written from the definitions, the published NF4 table, and
exact integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from engine.quantize import (
    awq_matmul,
    awq_scales,
    awq_search,
    dequantize,
    fake_quantize,
    int8_matmul,
    nf4_dequantize,
    nf4_levels,
    nf4_quantize,
    quantize,
)

# bitsandbytes' NF4 code book (functional.py, get_4bit_type("nf4")), as published
NF4_TABLE = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
             -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
             0.07958029955625534, 0.16093020141124725, 0.24611230194568634,
             0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
             0.7229568362236023, 1.0]


def loop_quantize(x, bits, scheme, group):
    """Column by column, group by group, value by value (axis 0 groups)."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        for start in range(0, x.shape[0], group):
            g = x[start:start + group, j]
            if scheme == "absmax":
                qmax = 2 ** (bits - 1) - 1
                s = float(np.float32(max(abs(v) for v in g) / qmax))
                out[start:start + group, j] = [max(-qmax, min(qmax, round(v / s))) * s
                                               for v in g]
            else:
                qmax = 2 ** bits - 1
                lo, hi = min(min(g), 0.0), max(max(g), 0.0)
                s = float(np.float32((hi - lo) / qmax))
                z = round(-lo / s)
                out[start:start + group, j] = [(max(0, min(qmax, round(v / s) + z)) - z) * s
                                               for v in g]
    return out


@pytest.mark.parametrize("scheme", ["absmax", "zeropoint"])
@pytest.mark.parametrize("bits", [8, 4])
def test_group_quantization_matches_the_loop(scheme, bits):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)) + (0.7 if scheme == "zeropoint" else 0.0)
    np.testing.assert_allclose(fake_quantize(x, bits, scheme, group_size=8),
                               loop_quantize(x, bits, scheme, 8), rtol=0, atol=1e-12)
    np.testing.assert_allclose(fake_quantize(x, bits, scheme, group_size=32),
                               loop_quantize(x, bits, scheme, 32), rtol=0, atol=1e-12)


def test_codes_stay_in_range_and_error_is_at_most_half_a_step():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 16))
    for scheme, lo, hi in (("absmax", -7, 7), ("zeropoint", 0, 15)):
        q = quantize(x, 4, scheme, group_size=16)
        assert q.codes.min() >= lo and q.codes.max() <= hi
        # scale: (columns, groups, 1) -> the step of every value, (64, 16)
        step = np.repeat(q.scale[..., 0], 16, axis=-1).T
        assert np.all(np.abs(dequantize(q) - x) <= step / 2 + 1e-12)
    # per tensor: one scale, max|x| / 127
    q = quantize(x, 8)
    assert q.scale.size == 1 and q.scale.item() == pytest.approx(np.abs(x).max() / 127, 1e-7)
    assert q.bits_per_value == pytest.approx(8 + 32 / x.size)


def test_zero_point_beats_absmax_on_one_sided_values():
    rng = np.random.default_rng(2)
    x = np.abs(rng.standard_normal((256, 8)))                   # all >= 0, like after ReLU
    err = {s: np.abs(fake_quantize(x, 4, s, None) - x).mean() for s in ("absmax", "zeropoint")}
    # absmax spends half its 15 levels on negatives that never occur: about 2x the step
    assert err["zeropoint"] < 0.6 * err["absmax"]


def test_smaller_groups_shrink_the_error_around_an_outlier():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((256, 32))
    w[5, 0] = 40.0
    errs = [np.abs(fake_quantize(w, 4, "absmax", g) - w).mean() for g in (None, 128, 32)]
    assert errs[0] > errs[1] > errs[2]


def test_nf4_levels_are_bitsandbytes_table():
    np.testing.assert_allclose(nf4_levels(), NF4_TABLE, atol=2e-7)   # torch built them in fp32


def test_nf4_picks_the_nearest_level_and_counts_bits():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((64, 128)) * 0.02
    t = nf4_quantize(w, block=64, double_quant=False)
    blocks = w.reshape(-1, 64)
    absmax = np.abs(blocks).max(1, keepdims=True)
    brute = np.abs((blocks / absmax)[..., None] - np.array(NF4_TABLE)).argmin(-1)
    np.testing.assert_array_equal(t.codes.reshape(-1, 64), brute)
    np.testing.assert_allclose(nf4_dequantize(t), np.array(NF4_TABLE)[brute].reshape(w.shape)
                               * np.repeat(absmax, 64).reshape(w.shape), atol=1e-7)
    assert t.bits_per_value == 4 + 32 / 64
    d = nf4_quantize(w, block=64, double_quant=True)
    n_absmax = w.size // 64
    assert d.nbits == 4 * w.size + 8 * n_absmax + 32 * -(-n_absmax // 256) + 32
    # the paper's 4 + 8/64 + 32/(64*256) bits per parameter, plus one mean, for large tensors
    big = nf4_quantize(np.zeros((1024, 1024)) + 1.0, block=64)
    assert big.bits_per_value == pytest.approx(4 + 8 / 64 + 32 / (64 * 256), abs=1e-4)
    # double quantization changes the constants only slightly
    assert np.abs(d.absmax - t.absmax).max() < 0.1 * t.absmax.mean()


def test_int8_matmul_is_exact_integer_arithmetic_rescaled():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((6, 16)), rng.standard_normal((16, 4))
    sx = np.abs(x).max(1, keepdims=True) / 127
    sw = np.abs(w).max(0, keepdims=True) / 127
    sx, sw = sx.astype(np.float32).astype(float), sw.astype(np.float32).astype(float)
    qx, qw = np.clip(np.rint(x / sx), -127, 127), np.clip(np.rint(w / sw), -127, 127)
    np.testing.assert_allclose(int8_matmul(x, w), (qx @ qw) * sx * sw, rtol=1e-12)


def test_llm_int8_keeps_outlier_columns_out_of_the_int8_part():
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((32, 64)), rng.standard_normal((64, 16)) * 0.05
    x[:, 9] *= 30.0                                             # one outlier feature
    ref = x @ w
    err = {k: np.linalg.norm(v - ref) / np.linalg.norm(ref) for k, v in {
        "tensor": int8_matmul(x, w, per_tensor=True), "vector": int8_matmul(x, w),
        "llm.int8": int8_matmul(x, w, threshold=6.0)}.items()}
    assert err["llm.int8"] < err["vector"] / 3 < err["tensor"] / 3
    # the decomposition by hand: int8 on the other 63 columns + fp16 on column 9
    keep = np.arange(64) != 9
    by_hand = int8_matmul(x[:, keep], w[keep]) + (
        x[:, 9:10].astype(np.float16).astype(np.float32)
        @ w[9:10].astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(int8_matmul(x, w, threshold=6.0), by_hand, rtol=1e-12)


def test_awq_scaling_is_exact_without_rounding_and_helps_with_it():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((64, 128)), rng.standard_normal((128, 32))
    x[:, 3] *= 20.0
    s = awq_scales(x, 0.5)
    np.testing.assert_allclose(np.exp(np.mean(np.log(s))), 1.0)
    np.testing.assert_allclose((x / s) @ (w * s[:, None]), x @ w, rtol=1e-10)
    np.testing.assert_allclose(awq_matmul(x, w, 0.0), x @ fake_quantize(w, 4, "absmax", 128))
    best, errors = awq_search(x, w, bits=4, group_size=128)
    assert errors.shape == (21,) and best > 0 and errors.min() < 0.8 * errors[0]


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="group_size=5"):
        quantize(np.zeros((8, 2)), 8, "absmax", 5)
    with pytest.raises(ValueError, match="scheme='x'"):
        quantize(np.zeros(4), 8, "x")
    with pytest.raises(ValueError, match="block=7"):
        nf4_quantize(np.zeros(64), block=7)
