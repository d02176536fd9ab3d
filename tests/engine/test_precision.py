"""Low-precision formats: fp16 against NumPy's float16, bf16 and FP8 against torch's casts
(tests/fixtures/precision.npz, made by make_precision_fixtures.py), the limits against the
format definitions, and round trips over every bit pattern."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.precision import (
    BF16,
    FP8_E4M3,
    FP8_E5M2,
    FP16,
    FP32,
    all_values,
    bf16_bits,
    block_scaled_cast,
    cast,
    decode,
    dynamic_loss_scale,
    encode,
    loss_scaled_cast,
)

FIXTURE = np.load(Path(__file__).parents[1] / "fixtures" / "precision.npz")


def same_bits_or_both_nan(a, b, fmt):
    va, vb = decode(a, fmt), decode(b, fmt)
    return (a == b) | (np.isnan(va) & np.isnan(vb))


@pytest.mark.parametrize("source", [np.float32, np.float64])
def test_fp16_matches_numpy_float16_bit_for_bit(source):
    rng = np.random.default_rng(0)
    x = np.exp2(rng.uniform(-28, 18, 50_000)) * rng.choice([-1, 1], 50_000)
    # ties: the midpoint between every pair of neighbouring positive fp16 values (exact in
    # float32 and float64)
    grid = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)
    mids = (grid[1:] + grid[:-1]) / 2
    edges = [65504, 65519.99, 65520, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 0.0, -0.0,
             np.inf, -np.inf]
    x = np.concatenate([x, mids, edges, np.negative(edges)]).astype(source)
    with np.errstate(over="ignore"):
        expected = x.astype(np.float16).view(np.uint16)
    np.testing.assert_array_equal(encode(x, FP16), expected)


def test_fp16_decode_matches_numpy_for_every_pattern():
    bits = np.arange(2 ** 16, dtype=np.uint32).astype(np.uint16)
    ref = bits.view(np.float16).astype(np.float64)
    got = all_values(FP16)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(got[~np.isnan(ref)], ref[~np.isnan(ref)])


@pytest.mark.parametrize(("name", "fmt", "saturate"), [
    ("bf16", BF16, False), ("e5m2", FP8_E5M2, False),
    ("e4m3", FP8_E4M3, True),              # torch saturates E4M3 casts (inf included)
])
def test_casts_match_torch(name, fmt, saturate):
    got = encode(FIXTURE["x"], fmt, saturate=saturate)
    assert same_bits_or_both_nan(got, FIXTURE[name], fmt).all()


def test_bf16_bit_trick_matches_the_general_rounding_and_torch():
    x = FIXTURE["x"]
    trick = bf16_bits(x)
    assert same_bits_or_both_nan(trick, FIXTURE["bf16"], BF16).all()
    assert same_bits_or_both_nan(trick, encode(x, BF16), BF16).all()
    # truncation is rounding toward zero: never larger in magnitude, within one bf16 step
    t = decode(bf16_bits(x, "truncate"), BF16)
    finite = np.isfinite(x)
    assert np.all(np.abs(t[finite]) <= np.abs(x[finite].astype(np.float64)))
    assert decode(bf16_bits(np.float32(1 + 2 ** -8 + 2 ** -20), "truncate"), BF16) == 1.0
    assert decode(bf16_bits(np.float32(1 + 2 ** -8 + 2 ** -20)), BF16) == 1 + 2 ** -7


@pytest.mark.parametrize(("fmt", "max_finite", "min_normal", "min_subnormal", "eps"), [
    # from the definitions: (2 - 2^-m) 2^emax; E4M3 drops its all-ones pattern (NaN)
    (FP16, (2 - 2 ** -10) * 2 ** 15, 2 ** -14, 2 ** -24, 2 ** -10),
    (BF16, (2 - 2 ** -7) * 2 ** 127, 2 ** -126, 2 ** -133, 2 ** -7),
    (FP8_E4M3, 1.75 * 2 ** 8, 2 ** -6, 2 ** -9, 2 ** -3),
    (FP8_E5M2, 1.75 * 2 ** 15, 2 ** -14, 2 ** -16, 2 ** -2),
    (FP32, float(np.finfo(np.float32).max), float(np.finfo(np.float32).tiny),
     float(np.finfo(np.float32).smallest_subnormal), float(np.finfo(np.float32).eps)),
])
def test_limits_follow_the_format_definition(fmt, max_finite, min_normal, min_subnormal, eps):
    assert fmt.max_finite == max_finite
    assert fmt.min_normal == min_normal
    assert fmt.min_subnormal == min_subnormal
    assert fmt.epsilon == eps
    if fmt.bits <= 16:
        values = all_values(fmt)
        finite = values[np.isfinite(values)]
        assert finite.max() == max_finite
        assert finite[finite > 0].min() == min_subnormal
        assert values[np.isinf(values)].size == (2 if fmt.has_inf else 0)
    assert FP16.max_finite == 65504 and FP8_E4M3.max_finite == 448 and \
        FP8_E5M2.max_finite == 57344


@pytest.mark.parametrize("fmt", [FP16, BF16, FP8_E4M3, FP8_E5M2])
def test_every_pattern_round_trips_and_values_are_ordered(fmt):
    bits = np.arange(2 ** fmt.bits, dtype=np.uint64)
    values = decode(bits, fmt)
    ok = ~np.isnan(values)
    back = encode(values[ok], fmt)
    # -0 and +0 are different patterns and both round-trip
    np.testing.assert_array_equal(back, bits[ok].astype(back.dtype))
    positive = values[: 2 ** (fmt.bits - 1)]
    positive = positive[~np.isnan(positive)]
    assert np.all(np.diff(positive) > 0)                   # patterns ordered like values


@pytest.mark.parametrize("fmt", [FP16, BF16, FP8_E4M3, FP8_E5M2])
def test_rounding_is_to_the_nearest_value_ties_to_even(fmt):
    values = all_values(fmt)
    grid = np.unique(values[np.isfinite(values)])
    rng = np.random.default_rng(1)
    x = rng.uniform(-fmt.max_finite, fmt.max_finite, 5000)
    x = np.concatenate([x, (grid[1:] + grid[:-1]) / 2])    # every midpoint: a tie
    got = cast(x, fmt)
    # brute force: the nearest grid value; on a tie the one with an even last bit
    idx = np.searchsorted(grid, x)
    lo, hi = grid[np.maximum(idx - 1, 0)], grid[np.minimum(idx, grid.size - 1)]
    d_lo, d_hi = np.abs(x - lo), np.abs(hi - x)
    even_hi = (encode(hi, fmt).astype(np.int64) & 1) == 0
    expected = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi, np.where(even_hi, hi, lo)))
    np.testing.assert_array_equal(np.abs(got), np.abs(expected))


def test_overflow_underflow_and_saturation():
    assert cast(65520.0, FP16) == np.inf and cast(65519.0, FP16) == 65504
    assert cast(2.0 ** -25, FP16) == 0 and cast(2.0 ** -25 * 1.01, FP16) == 2.0 ** -24
    assert cast(1e6, FP8_E5M2) == np.inf and cast(1e6, FP8_E5M2, saturate=True) == 57344
    assert np.isnan(cast(500.0, FP8_E4M3)) and cast(500.0, FP8_E4M3, saturate=True) == 448
    assert cast(1e38, BF16) == pytest.approx(1e38, rel=2 ** -8)          # bf16 keeps the range
    assert cast(1 + 2 ** -9, BF16) == 1.0                                  # but 8 bits of precision


def test_loss_scaling_recovers_underflowed_gradients():
    g = np.array([1e-9, 3e-8, 1e-6, 0.5])
    assert np.array_equal(loss_scaled_cast(g, 1.0, FP16)[:2], [0.0, 2.0 ** -24])
    scaled = loss_scaled_cast(g, 2.0 ** 16, FP16)
    np.testing.assert_allclose(scaled, g, rtol=2 ** -10)
    assert np.isinf(loss_scaled_cast(g, 2.0 ** 18, FP16)[-1])        # 0.5 * 2^18 > 65504


def test_dynamic_loss_scale_halves_on_overflow_and_grows_after_clean_steps():
    small, big = np.array([1e-6]), np.array([10.0])
    log = dynamic_loss_scale([big, big, small, small, small], init_scale=2.0 ** 14,
                             growth_interval=2)
    # 10 * 2^14 > 65504 overflows, 10 * 2^13 too; 2^12 is clean twice, then grows back
    assert log == [(2.0 ** 14, True), (2.0 ** 13, True), (2.0 ** 12, False),
                   (2.0 ** 12, False), (2.0 ** 13, False)]


def test_block_scaling_uses_the_whole_range_of_each_block():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 64))
    # one outlier: scaled to 448, it pushes the other values of its scale group
    # below E4M3's smallest normal (2^-6), where the steps are coarse
    x[0, 3] = 1e5
    per_tensor, s1 = block_scaled_cast(x.reshape(1, -1), FP8_E4M3)
    per_block, s32 = block_scaled_cast(x, FP8_E4M3, block=32)
    assert s1.shape == (1, 1) and s32.shape == (4, 2)
    # each block's largest magnitude is stored exactly (up to the float32 scale)
    blocks = np.abs(x.reshape(4, 2, 32)).max(-1)
    np.testing.assert_allclose(np.abs(per_block.reshape(4, 2, 32)).max(-1), blocks, rtol=1e-6)
    err_tensor = np.abs(per_tensor.reshape(x.shape) - x)[1:].mean()
    err_block = np.abs(per_block - x)[1:].mean()
    assert err_block < err_tensor / 2               # the outlier only hurts its own block
    with pytest.raises(ValueError, match="block=5"):
        block_scaled_cast(x, FP8_E4M3, block=5)
