"""Integer and 4-bit quantization of weights and activations, and the outlier fixes.

`quantize` maps a tensor to b-bit integers with one scale per group of
`group_size` consecutive values along an axis (None: one scale for the whole
tensor):

- absmax (symmetric): q = round(x / s), s = max|x| / (2^(b-1) - 1), q in
  [-(2^(b-1) - 1), 2^(b-1) - 1]; zero stays exactly zero;
- zero-point (asymmetric): q = round(x / s) + z, s = (max - min) / (2^b - 1),
  q in [0, 2^b - 1]; all 2^b levels cover [min, max], which suits one-sided
  tensors such as activations after GELU.

A single large value stretches its group's scale, so every other value in the
group loses precision: that is why smaller groups help, and why outlier
features (a few hidden dimensions with values 20x the rest, Dettmers et al.
2022) break per-tensor int8. `int8_matmul` quantizes activations per row and
weights per column (vector-wise); with `threshold` it is LLM.int8: the feature
columns holding any |x| > threshold are multiplied in fp16 instead. `awq_scales`
is AWQ's fix for weight-only quantization (Lin et al. 2023): scale weight row j
up by s_j = mean|x_j|^alpha and the input down by the same factor, which is
exact before rounding and shrinks the error on the rows that matter most.

NF4 (QLoRA, Dettmers et al. 2023) stores 4-bit indices into 16 levels placed
at quantiles of a standard normal, one absmax per block of 64 weights; double
quantization stores those absmax constants in FP8 with one float32 per 256 of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from engine.precision import FP8_E4M3, block_scaled_cast

SCHEMES = ("absmax", "zeropoint")


@dataclass(frozen=True)
class Quantized:
    """codes: integers, x's shape.  scale, zero: one per group, shaped (..., groups, 1)
    along the grouped axis moved last.  Storage: codes at `bits` each, scale and zero fp32."""

    codes: np.ndarray
    scale: np.ndarray
    zero: np.ndarray
    bits: int
    scheme: str
    group_size: int | None
    axis: int

    @property
    def nbits(self) -> int:
        """Bits to store it: the codes plus one fp32 scale (and zero) per group."""
        per_group = 32 * (1 if self.scheme == "absmax" else 2)
        return self.codes.size * self.bits + self.scale.size * per_group

    @property
    def bits_per_value(self) -> float:
        return self.nbits / self.codes.size


def _grouped(x: np.ndarray, group_size: int | None, axis: int) -> np.ndarray:
    # x with `axis` last, split into groups: (..., n) -> (..., n / g, g)
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    g = x.size if group_size is None else group_size
    if group_size is None:
        return x.reshape(1, x.size)
    if g < 1 or n % g:
        raise ValueError(f"group_size={group_size} must divide the quantized axis ({n})")
    return x.reshape(*x.shape[:-1], n // g, g)


def _ungrouped(q: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    moved = np.moveaxis(np.empty(shape, dtype=np.int8), axis, -1).shape
    return np.moveaxis(q.reshape(moved), -1, axis)


def _fp32(a: np.ndarray) -> np.ndarray:
    # scales are stored in float32; use the stored value so codes and dequantization agree
    return a.astype(np.float32).astype(np.float64)


def quantize(x: np.ndarray, bits: int = 8, scheme: str = "absmax",
             group_size: int | None = None, axis: int = 0) -> Quantized:
    """b-bit integer codes with one scale (and zero point) per group of `group_size`.

    Groups are consecutive values along `axis`; for a weight stored (in, out)
    axis=0 groups input channels within each output column, as GPTQ and AWQ do.
    group_size=None: one scale for the whole tensor ("per tensor");
    group_size=x.shape[axis]: one per column ("per channel").
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r} is not one of {', '.join(SCHEMES)}")
    if not 2 <= bits <= 16:
        raise ValueError(f"bits={bits} must be in 2..16")
    x = np.asarray(x, dtype=np.float64)
    axis = axis % x.ndim
    g = _grouped(x, group_size, axis)                                  # (..., groups, g)
    if scheme == "absmax":
        qmax = 2 ** (bits - 1) - 1
        amax = np.max(np.abs(g), axis=-1, keepdims=True)
        scale = _fp32(np.where(amax > 0, amax / qmax, 1.0))
        zero = np.zeros_like(scale)
        codes = np.clip(np.rint(g / scale), -qmax, qmax)
    else:
        qmax = 2 ** bits - 1
        lo = np.minimum(np.min(g, axis=-1, keepdims=True), 0.0)   # keep 0 representable
        hi = np.maximum(np.max(g, axis=-1, keepdims=True), 0.0)
        scale = _fp32(np.where(hi > lo, (hi - lo) / qmax, 1.0))
        zero = np.rint(-lo / scale)
        codes = np.clip(np.rint(g / scale) + zero, 0, qmax)
    return Quantized(codes=_ungrouped(codes.astype(np.int32), x.shape, axis), scale=scale,
                     zero=zero, bits=bits, scheme=scheme, group_size=group_size, axis=axis)


def dequantize(q: Quantized) -> np.ndarray:
    """(codes - zero) * scale, back in the original shape.   -> float64"""
    g = _grouped(q.codes.astype(np.float64), q.group_size, q.axis)
    return _ungrouped((g - q.zero) * q.scale, q.codes.shape, q.axis)


def fake_quantize(x: np.ndarray, bits: int = 8, scheme: str = "absmax",
                  group_size: int | None = None, axis: int = 0) -> np.ndarray:
    """dequantize(quantize(x)): the values the quantized tensor stands for."""
    return dequantize(quantize(x, bits, scheme, group_size, axis))


def int8_matmul(x: np.ndarray, w: np.ndarray, threshold: float | None = None,
                per_tensor: bool = False) -> np.ndarray:
    """x @ w with int8 operands and int32 accumulation.   x: (n, d_in)  w: (d_in, d_out)

    Vector-wise by default: one absmax scale per row of x and per column of w,
    so the int32 result is rescaled by their outer product. per_tensor=True uses
    one scale each. threshold (LLM.int8): feature columns of x with any
    |x| > threshold, and the matching rows of w, are multiplied in fp16 and added.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    outlier = np.zeros(x.shape[-1], dtype=bool)
    if threshold is not None:
        outlier = np.any(np.abs(x) > threshold, axis=tuple(range(x.ndim - 1)))   # (d_in,)
    xr, wr = x[..., ~outlier], w[~outlier]
    if per_tensor:
        qx, qw = quantize(xr, 8, group_size=None), quantize(wr, 8, group_size=None)
        sx, sw = qx.scale.reshape(()), qw.scale.reshape(())
    else:
        qx = quantize(xr, 8, group_size=xr.shape[-1], axis=-1)       # one scale per row
        qw = quantize(wr, 8, group_size=wr.shape[0], axis=0)         # one scale per column
        sx, sw = qx.scale[..., 0], qw.scale[..., 0].reshape(1, -1)   # (n, 1), (1, d_out)
    acc = qx.codes.astype(np.int64) @ qw.codes.astype(np.int64)     # exact integer sums
    out = acc * sx * sw
    if outlier.any():
        xo = x[..., outlier].astype(np.float16)
        wo = w[outlier].astype(np.float16)
        out = out + (xo.astype(np.float32) @ wo.astype(np.float32)).astype(np.float64)
    return out


def awq_scales(x: np.ndarray, alpha: float) -> np.ndarray:
    """AWQ's per-input-channel scales s_j = mean|x_j|^alpha, normalised to geometric mean 1.

    x: (n, d_in) calibration activations -> (d_in,). alpha=0 is no scaling.
    """
    mag = np.mean(np.abs(np.asarray(x, dtype=np.float64)), axis=tuple(range(np.ndim(x) - 1)))
    s = np.maximum(mag, 1e-8) ** alpha
    return s / np.exp(np.mean(np.log(s)))


def awq_matmul(x: np.ndarray, w: np.ndarray, alpha: float, bits: int = 4,
               group_size: int | None = 128) -> np.ndarray:
    """(x / s) @ Q(diag(s) w): weight-only quantization after AWQ's channel scaling.

    Without rounding the scaling cancels exactly; with it, rows of w that meet
    large activations are stored with proportionally finer steps.
    """
    s = awq_scales(x, alpha)                                         # (d_in,)
    wq = fake_quantize(np.asarray(w, dtype=np.float64) * s[:, None], bits, "absmax",
                       group_size, axis=0)
    return (np.asarray(x, dtype=np.float64) / s) @ wq


def awq_search(x: np.ndarray, w: np.ndarray, bits: int = 4, group_size: int | None = 128,
               grid: int = 20) -> tuple[float, np.ndarray]:
    """AWQ's grid search: alpha in {0, 1/grid, ..., 1} minimising ||x w - awq_matmul||.

    Returns (best alpha, error per alpha (grid + 1,)).
    """
    ref = np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64)
    alphas = np.arange(grid + 1) / grid
    errors = np.array([np.linalg.norm(awq_matmul(x, w, a, bits, group_size) - ref)
                       for a in alphas])
    return float(alphas[int(np.argmin(errors))]), errors


# ----------------------------------------------------------------------------- NF4

NF4_OFFSET = 0.9677083   # QLoRA: the outermost quantile used, (1 - 1/(2*15) + 1 - 1/(2*16)) / 2


def nf4_levels(offset: float = NF4_OFFSET) -> np.ndarray:
    """The 16 NormalFloat-4 levels in [-1, 1].   -> (16,) float64, sorted

    Quantiles of N(0, 1): 8 positive ones at probabilities evenly spaced from
    `offset` down to 0.5 (the last, 0.5, is 0 and dropped), 7 negative ones the
    same way, and an exact zero; then divided by the largest, as in bitsandbytes'
    create_normal_map. The extra positive level makes the type asymmetric.
    """
    ppf = NormalDist().inv_cdf
    pos = [ppf(p) for p in np.linspace(offset, 0.5, 9)[:-1]]
    neg = [-ppf(p) for p in np.linspace(offset, 0.5, 8)[:-1]]
    levels = np.sort(np.array(pos + [0.0] + neg))
    return levels / levels.max()


@dataclass(frozen=True)
class NF4Tensor:
    """codes (x's shape, 0..15); absmax per block of `block` values (flattened order)."""

    codes: np.ndarray
    absmax: np.ndarray
    block: int
    double_quant: bool
    absmax_block: int = 256

    @property
    def nbits(self) -> int:
        return nf4_bits(self.codes.size, self.block, self.double_quant, self.absmax_block)

    @property
    def bits_per_value(self) -> float:
        return self.nbits / self.codes.size


def nf4_bits(n: int, block: int = 64, double_quant: bool = True, absmax_block: int = 256) -> int:
    """Bits to store n values in NF4: 4 per code, plus the absmax constants: fp32 each,
    or with double quantization 8 bits each, one fp32 scale per `absmax_block` of them
    and one fp32 mean."""
    constants = -(-n // block)
    if double_quant:
        return 4 * n + 8 * constants + 32 * -(-constants // absmax_block) + 32
    return 4 * n + 32 * constants


def nf4_quantize(x: np.ndarray, block: int = 64, double_quant: bool = True,
                 absmax_block: int = 256) -> NF4Tensor:
    """NF4 codes: each block of `block` values divided by its absmax, then the nearest level.

    With double_quant the absmax constants themselves are stored in FP8 E4M3 with
    one scale per `absmax_block` of them, after subtracting their mean (they are all
    positive, so centring them uses the format's sign bit); `absmax` holds the
    values that dequantization will use.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    if flat.size % block:
        raise ValueError(f"block={block} must divide the number of values ({flat.size})")
    blocks = flat.reshape(-1, block)                                   # (n / block, block)
    absmax = np.max(np.abs(blocks), axis=1)
    absmax = np.where(absmax > 0, absmax, 1.0)
    levels = nf4_levels()
    normed = blocks / absmax[:, None]
    # nearest level: compare with the midpoints between consecutive levels
    codes = np.searchsorted((levels[1:] + levels[:-1]) / 2, normed)
    if double_quant:
        pad = -absmax.size % absmax_block
        mean = np.mean(absmax)
        centred = np.concatenate([absmax - mean, np.zeros(pad)]).reshape(-1, absmax_block)
        stored, _ = block_scaled_cast(centred, FP8_E4M3)
        absmax = stored.reshape(-1)[:absmax.size] + mean
    return NF4Tensor(codes=codes.reshape(x.shape).astype(np.uint8), absmax=absmax, block=block,
                     double_quant=double_quant, absmax_block=absmax_block)


def nf4_dequantize(t: NF4Tensor) -> np.ndarray:
    """levels[code] * absmax of its block, in the original shape.   -> float64"""
    values = nf4_levels()[t.codes.reshape(-1, t.block)] * t.absmax[:, None]
    return values.reshape(t.codes.shape)
