"""Quantization formulas: weight bytes at a bit-width, integer codes, NF4's storage.

Codes come from `engine.quantize.quantize` and NF4's bits from
`engine.quantize.nf4_bits`; bits per weight from `engine.accounting`. The
engine is imported inside each function so that validating a bank stays
NumPy-free.
"""

from __future__ import annotations

from tutor.formulas import Computed, formula


@formula("quantization.weight_bytes",
         "Bytes of N parameters stored at b bits, plus one scale per group if grouped")
def weight_bytes(params_b: float, bits: float, group_size: int | None = None,
                 scale_bits: float = 16) -> Computed:
    from engine.accounting import quantized_bits_per_weight

    bpw = quantized_bits_per_weight(bits, group_size, scale_bits)
    total = params_b * 1e9 * bpw / 8
    per = f"{bits:g} bits" if group_size is None else \
        f"{bits:g} + {scale_bits:g}/{group_size} = {bpw:.4g} bits"
    return Computed(total, f"{params_b:g}e9 parameters x {per} / 8 = {total / 1e9:.4g} GB")


def _codes(values: list[float], bits: int, scheme: str) -> tuple[list[int], float, float]:
    import numpy as np

    from engine.quantize import quantize

    q = quantize(np.array(values), bits=bits, scheme=scheme, group_size=None)
    return [int(c) for c in q.codes], float(q.scale.reshape(-1)[0]), float(q.zero.reshape(-1)[0])


@formula("quantization.absmax_code",
         "Integer a value gets under symmetric absmax quantization: round(x (2^(b-1) - 1) / "
         "absmax)")
def absmax_code(x: float, absmax: float, bits: int = 8) -> Computed:
    if not 0 < abs(x) <= absmax:
        raise ValueError(f"x={x} must be non-zero with |x| <= absmax={absmax}")
    codes, scale, _ = _codes([x, absmax], bits, "absmax")
    qmax = 2 ** (bits - 1) - 1
    return Computed(codes[0], f"scale = {absmax:g} / {qmax} = {scale:.5g}; "
                              f"round({x:g} / {scale:.5g}) = round({x / scale:.4g}) = {codes[0]}")


@formula("quantization.zeropoint_code",
         "Integer a value gets under asymmetric (zero-point) quantization of the range [lo, hi]: "
         "round(x / s) + z, s = (hi - lo) / (2^b - 1), z = round(-lo / s)")
def zeropoint_code(x: float, lo: float, hi: float, bits: int = 8) -> Computed:
    if not lo <= 0 <= hi or not lo <= x <= hi or lo == hi:
        raise ValueError(f"need lo={lo} <= 0 <= hi={hi}, lo < hi and x={x} in [lo, hi]")
    codes, scale, zero = _codes([x, lo, hi], bits, "zeropoint")
    return Computed(codes[0], f"s = ({hi:g} - ({lo:g})) / {2 ** bits - 1} = {scale:.5g}; "
                              f"z = round({-lo:g} / {scale:.5g}) = {zero:g}; "
                              f"round({x:g} / {scale:.5g}) + {zero:g} = {codes[0]}")


@formula("quantization.nf4_bits_per_weight",
         "Bits per weight of NF4: 4 + one absmax per block, in fp32 or (double quantization) "
         "in 8 bits with one fp32 scale per absmax_block of them")
def nf4_bits_per_weight(block: int = 64, scale_format: str = "fp8",
                        absmax_block: int = 256) -> Computed:
    from engine.quantize import nf4_bits

    if scale_format not in ("fp8", "fp32"):
        raise ValueError(f"scale_format={scale_format!r} is not one of fp8, fp32")
    n = block * absmax_block * 4096          # a large matrix, so the one global mean is negligible
    bpw = nf4_bits(n, block, scale_format == "fp8", absmax_block) / n
    if scale_format == "fp32":
        working = f"4 + 32/{block} = {bpw:.5g} bits"
    else:
        working = (f"4 + 8/{block} + 32/({block} x {absmax_block}) = {bpw:.5g} bits "
                   f"(double quantization saves {32 / block - (bpw - 4):.4g} bits per weight)")
    return Computed(bpw, working)
