"""Low-precision floating-point formats by exact bit manipulation: fp16, bf16, FP8.

A binary float with `e` exponent bits and `m` mantissa bits stores
sign | biased exponent | fraction. A normal number is 1.f x 2^(E - bias); an
exponent field of zero means a subnormal 0.f x 2^(1 - bias), which fills the
gap down to zero in steps of 2^(1 - bias - m). IEEE-style formats (fp16, bf16,
E5M2) reserve the all-ones exponent for inf and NaN; FP8 E4M3 (the "fn"
variant of the OCP FP8 spec) has no inf and only S.1111.111 as NaN, which buys
it one more binade: max 1.75 x 2^8 = 448 instead of 240.

`encode` rounds any float64 to the nearest representable value, ties to the
even fraction, exactly as a hardware cast does, and returns the bit patterns;
`decode` turns bit patterns back into float64 (every value of these formats is
exact in float64). Overflow gives inf where the format has one; with
`saturate=True` it clamps to the largest finite value instead (what FP8
training recipes do after scaling). `bf16_bits` is the cheap route real
libraries use for bf16: add a rounding bias to the float32 bits and keep the
top 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: 1 sign bit, `exponent_bits`, `mantissa_bits`."""

    name: str
    exponent_bits: int
    mantissa_bits: int
    ieee_specials: bool = True      # all-ones exponent = inf/NaN; False: only all-ones is NaN

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        return 2 ** (self.exponent_bits - 1) - 1

    @property
    def max_exponent(self) -> int:
        """Unbiased exponent of the largest binade holding finite numbers."""
        top = 2 ** self.exponent_bits - 1                 # the all-ones exponent field
        return (top - 1 if self.ieee_specials else top) - self.bias

    @property
    def max_finite(self) -> float:
        m = self.mantissa_bits
        # all-ones fraction, except E4M3 where S.1111.111 is NaN: one step below it
        fraction = (2 ** m - 1) if self.ieee_specials else (2 ** m - 2)
        return float((1 + fraction / 2 ** m) * 2.0 ** self.max_exponent)

    @property
    def min_normal(self) -> float:
        return float(2.0 ** (1 - self.bias))

    @property
    def min_subnormal(self) -> float:
        return float(2.0 ** (1 - self.bias - self.mantissa_bits))

    @property
    def epsilon(self) -> float:
        """Gap between 1 and the next larger number: 2^-m (relative precision)."""
        return float(2.0 ** -self.mantissa_bits)

    @property
    def has_inf(self) -> bool:
        return self.ieee_specials


FP32 = FloatFormat("fp32", 8, 23)
FP16 = FloatFormat("fp16", 5, 10)
BF16 = FloatFormat("bf16", 8, 7)
FP8_E4M3 = FloatFormat("fp8-e4m3", 4, 3, ieee_specials=False)
FP8_E5M2 = FloatFormat("fp8-e5m2", 5, 2)
FORMATS = {f.name: f for f in (FP32, FP16, BF16, FP8_E4M3, FP8_E5M2)}


def _uint(fmt: FloatFormat):
    return {8: np.uint8, 16: np.uint16, 32: np.uint32}[fmt.bits]


def round_to_format(x: np.ndarray, fmt: FloatFormat, saturate: bool = False) -> np.ndarray:
    """The value `fmt` stores for x: round to nearest, ties to even.   (...) -> (...) float64

    Values beyond the largest finite number round to inf (or, without inf, NaN),
    unless saturate=True clamps them to +-max_finite.
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    m = fmt.mantissa_bits
    emin = 1 - fmt.bias
    # exponent of each value's binade: a = frac * 2^e2 with frac in [0.5, 1)
    _, e2 = np.frexp(a)
    e = np.maximum(e2.astype(np.int64) - 1, emin)          # subnormals share emin's spacing
    quantum = np.ldexp(1.0, e - m)                         # spacing of numbers near a
    with np.errstate(invalid="ignore"):
        rounded = np.rint(a / quantum) * quantum           # rint: half to even, exact here
    too_big = rounded > fmt.max_finite
    if saturate:
        rounded = np.where(too_big, fmt.max_finite, rounded)
    else:
        rounded = np.where(too_big, np.inf if fmt.has_inf else np.nan, rounded)
    rounded = np.where(np.isnan(x), np.nan, rounded)
    return np.copysign(rounded, x)


def encode(x: np.ndarray, fmt: FloatFormat, saturate: bool = False) -> np.ndarray:
    """Bit patterns of x rounded to `fmt` (see round_to_format).  (...) -> (...) uint"""
    v = round_to_format(x, fmt, saturate)
    m, ebits = fmt.mantissa_bits, fmt.exponent_bits
    sign = np.signbit(v).astype(np.uint64) << np.uint64(ebits + m)
    a = np.abs(v)
    finite = np.isfinite(a)
    safe = np.where(finite, a, 0.0)
    _, e2 = np.frexp(safe)
    e = e2.astype(np.int64) - 1
    normal = safe >= fmt.min_normal
    exp_field = np.where(normal, e + fmt.bias, 0)
    # fraction bits: a / spacing, minus the implicit leading 1 for normal numbers
    scale_exp = np.where(normal, e, 1 - fmt.bias) - m
    frac = np.ldexp(safe, -scale_exp) - np.where(normal, 2.0 ** m, 0.0)
    bits = (exp_field.astype(np.uint64) << np.uint64(m)) | np.rint(frac).astype(np.uint64)
    all_ones = np.uint64(2 ** ebits - 1)
    inf_bits = all_ones << np.uint64(m)
    nan_bits = inf_bits | np.uint64(2 ** (m - 1)) if fmt.ieee_specials \
        else (all_ones << np.uint64(m)) | np.uint64(2 ** m - 1)
    bits = np.where(np.isinf(a), inf_bits, bits)
    bits = np.where(np.isnan(a), nan_bits, bits)
    return (sign | bits).astype(_uint(fmt))


def decode(bits: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """The float64 value of each bit pattern of `fmt`.   (...) uint -> (...) float64"""
    b = np.asarray(bits).astype(np.int64)
    m, ebits = fmt.mantissa_bits, fmt.exponent_bits
    frac = b & (2 ** m - 1)
    exp_field = (b >> m) & (2 ** ebits - 1)
    sign = np.where((b >> (ebits + m)) & 1, -1.0, 1.0)
    normal = exp_field > 0
    mantissa = np.where(normal, 2 ** m + frac, frac).astype(np.float64)
    exponent = np.where(normal, exp_field, 1) - fmt.bias - m
    value = np.ldexp(mantissa, exponent)
    top = exp_field == 2 ** ebits - 1
    if fmt.ieee_specials:
        value = np.where(top & (frac == 0), np.inf, value)
        value = np.where(top & (frac != 0), np.nan, value)
    else:
        value = np.where(top & (frac == 2 ** m - 1), np.nan, value)
    return sign * value


def bf16_bits(x: np.ndarray, rounding: str = "nearest-even") -> np.ndarray:
    """bf16 as the top 16 bits of float32.   (...) -> (...) uint16

    "truncate" drops the low 16 bits (round toward zero); "nearest-even" first
    adds 0x7FFF plus the lowest kept bit, so a carry rounds up exactly when the
    dropped half is above one half, or equal to it with an odd kept part.
    NaNs stay quiet NaNs (the carry could otherwise turn one into inf).
    """
    if rounding not in ("nearest-even", "truncate"):
        raise ValueError(f"rounding={rounding!r} must be 'nearest-even' or 'truncate'")
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    if rounding == "nearest-even":
        u = u + 0x7FFF + ((u >> 16) & 1)
    out = (u >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    return np.where(nan, (out & 0x8000) | 0x7FC0, out).astype(np.uint16)


def cast(x: np.ndarray, fmt: FloatFormat, saturate: bool = False) -> np.ndarray:
    """x stored in `fmt` and read back: the value of decode(encode(x)), without the bits.

    (...) -> (...) float64
    """
    return round_to_format(x, fmt, saturate)


def all_values(fmt: FloatFormat) -> np.ndarray:
    """Every bit pattern of an 8- or 16-bit format, decoded.   -> (2^bits,) float64"""
    if fmt.bits > 16:
        raise ValueError(f"{fmt.name} has 2^{fmt.bits} patterns; enumerate 8- or 16-bit formats")
    return decode(np.arange(2 ** fmt.bits, dtype=np.uint64), fmt)


def loss_scaled_cast(grads: np.ndarray, scale: float, fmt: FloatFormat = FP16) -> np.ndarray:
    """Gradients as mixed-precision training sees them: (g * scale) cast to fmt, then / scale.

    (...) -> (...) float64. The backward pass runs in `fmt` on the scaled loss, so
    values below fmt's smallest subnormal / scale flush to zero and values above
    max_finite / scale overflow to inf; the optimizer unscales in fp32.
    """
    if not scale > 0:
        raise ValueError(f"scale={scale} must be > 0")
    with np.errstate(over="ignore"):
        return cast(np.asarray(grads, dtype=np.float64) * scale, fmt) / scale


def dynamic_loss_scale(grad_steps: list[np.ndarray], fmt: FloatFormat = FP16,
                       init_scale: float = 2.0 ** 16, growth_interval: int = 2000,
                       factor: float = 2.0) -> list[tuple[float, bool]]:
    """(scale used, overflowed) per step of the standard dynamic loss-scaling rule.

    An overflow (any inf or NaN after the cast) skips the step and divides the
    scale by `factor`; `growth_interval` clean steps in a row multiply it by `factor`.
    """
    scale, clean, out = init_scale, 0, []
    for g in grad_steps:
        g = np.asarray(g, dtype=np.float64)
        # rounding is monotone, so the cast overflows exactly when the largest |g| does
        amax = np.max(np.abs(g)) if g.size else 0.0
        overflow = bool(np.isnan(g).any() or not np.isfinite(loss_scaled_cast(amax, scale, fmt)))
        out.append((scale, overflow))
        if overflow:
            scale, clean = scale / factor, 0
        else:
            clean += 1
            if clean == growth_interval:
                scale, clean = scale * factor, 0
    return out


def block_scaled_cast(x: np.ndarray, fmt: FloatFormat, block: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """x in `fmt` with one scale per block of `block` values along the last axis.

    (..., n) -> (values (..., n) float64, scales (..., n / block)). Each block is
    divided by amax / max_finite, so its largest value lands on the format's
    largest number, cast with saturation, and multiplied back. block=None is one
    scale for the whole last axis. The scales are kept in float32 here.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    block = n if block is None else block
    if block < 1 or n % block:
        raise ValueError(f"block={block} must divide the last axis ({n})")
    blocks = x.reshape(*x.shape[:-1], n // block, block)             # (..., n/block, block)
    amax = np.max(np.abs(blocks), axis=-1, keepdims=True)
    scale = np.where(amax > 0, amax / fmt.max_finite, 1.0).astype(np.float32).astype(np.float64)
    values = cast(blocks / scale, fmt, saturate=True) * scale
    return values.reshape(x.shape), scale[..., 0]
