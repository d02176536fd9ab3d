"""mixed-precision: what fp16, bf16 and FP8 can hold, and why training scales the loss.

Every number here comes from engine.precision, which rounds float64 values to
each format bit by bit (round to nearest, ties to even) and decodes the bit
patterns back. The format table's limits are decoded from the formats' own
bit patterns (for the 8- and 16-bit formats, the largest finite and smallest
positive of all 2^bits patterns).

The gradient example is real: a small random engine decoder with a
`--vocab`-token vocabulary gives logits for `--rows` token positions, and the
gradient of the mean cross-entropy over a batch of `--batch-tokens` tokens with
respect to those logits is (softmax - onehot) / batch_tokens. The logits are
rescaled to a standard deviation of 3, as a trained model's spread (a random
head's are nearly uniform). Most entries are
about 1 / (vocab x batch_tokens), below fp16's smallest subnormal 2^-24. The
backward pass in fp16 computes the gradient of loss x S: each row of the
table casts gradient x S to fp16 and divides by S in float64. The dynamic
loss scaler starts at 2^32, halves on overflow and doubles after 2 clean steps.

FP8: the same gradients cast to E4M3 and E5M2, with one scale per tensor
(amax / max finite) or one per block of `--block` values (engine.precision.block_scaled_cast).

JSON keys:
- `formats`: [{name, bits, exponent_bits, mantissa_bits, max_finite, min_normal,
  min_subnormal, epsilon, decimal_digits, max_from_patterns, min_from_patterns}];
- `examples`: [{what, value, fp16, bf16, fp32}]: single values through each format
  (null where the format overflows to inf);
- `bf16_rounding`: {value, nearest_even, truncated, nearest_even_error, truncated_error};
- `gradient`: {vocab, rows, batch_tokens, max_abs, median_abs, share_below_fp16_subnormal};
- `loss_scale`: [{log2_scale, zero_share, overflow, rel_error}] in fp16 (zero_share:
  nonzero gradients stored as 0; rel_error: mean |stored - g| / |g| over them), and
  `bf16_gradient`: {zero_share, rel_error} with no scaling;
- `dynamic`: [{log2_scale, overflow}] for the scaler's first steps;
- `fp8`: [{format, scaling, rel_error, zero_share}];
- `takeaway`.
"""

from __future__ import annotations

import math

DYNAMIC_STEPS = 6
LOG2_SCALES = (0, 8, 16, 24, 32)
LOGIT_STD = 3.0          # a trained LM's logits spread like this; a random head's barely do


def check(p) -> str | None:
    if p.vocab * p.rows > 8_000_000:
        most = 8_000_000 // p.vocab
        return (f"--rows {p.rows} x --vocab {p.vocab} is {p.vocab * p.rows:,} gradients; "
                f"the largest --rows allowed is {most}")
    if p.vocab % p.block:
        return (f"--block {p.block} must divide --vocab {p.vocab} (the gradient rows are "
                "split into blocks)")
    return None


def _gradients(p, rng):
    import numpy as np

    from engine.config import ModelConfig
    from engine.functional import softmax
    from engine.model import decoder, init_params

    config = ModelConfig(name="tiny", vocab_size=p.vocab, n_ctx=max(p.rows, 2), d_model=32,
                         n_layer=1, n_head=2, activation="gelu", tie_embeddings=False)
    params = init_params(config, rng, np.float32)
    ids = rng.integers(0, p.vocab, size=p.rows + 1)
    logits = decoder(ids[:-1], params, config).astype(np.float64)     # (rows, vocab)
    logits *= LOGIT_STD / logits.std()
    grad = softmax(logits, axis=-1)
    grad[np.arange(p.rows), ids[1:]] -= 1.0                            # softmax - onehot
    return grad / p.batch_tokens


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.precision import (
        BF16,
        FORMATS,
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
        loss_scaled_cast,
    )
    from tutor.demos._timing import one_blas_thread

    formats = []
    for f in FORMATS.values():
        row = {"name": f.name, "bits": f.bits, "exponent_bits": f.exponent_bits,
               "mantissa_bits": f.mantissa_bits, "max_finite": f.max_finite,
               "min_normal": f.min_normal, "min_subnormal": f.min_subnormal,
               "epsilon": f.epsilon, "decimal_digits": (f.mantissa_bits + 1) * math.log10(2),
               "max_from_patterns": None, "min_from_patterns": None}
        if f.bits <= 16:
            v = all_values(f)
            v = v[np.isfinite(v)]
            row["max_from_patterns"] = float(v.max())
            row["min_from_patterns"] = float(v[v > 0].min())
        formats.append(row)

    values = [("fp16's largest", 65504.0), ("rounds down to it", 65519.0),
              ("overflows fp16", 65520.0), ("exp(12), a softmax term", math.exp(12)),
              ("fp16's smallest", 2.0 ** -24), ("half of it (a tie)", 2.0 ** -25),
              ("a small gradient", 1e-8), ("1 + 2^-8", 1 + 2.0 ** -8),
              ("weight 1 + update 1e-3", 1.001)]
    def stored(v, fmt):
        x = float(cast(v, fmt))
        return x if math.isfinite(x) else None          # JSON has no inf: None = overflow

    examples = [{"what": w, "value": v, "fp16": stored(v, FP16), "bf16": stored(v, BF16),
                 "fp32": stored(v, FP32)} for w, v in values]
    third = np.float32(1 / 3)
    ne = float(decode(bf16_bits(third), BF16))
    tr = float(decode(bf16_bits(third, "truncate"), BF16))
    bf16_rounding = {"value": float(third), "nearest_even": ne, "truncated": tr,
                     "nearest_even_error": abs(ne - float(third)),
                     "truncated_error": abs(tr - float(third))}

    with one_blas_thread():
        g = _gradients(p, rng)
    nonzero = g != 0

    def stats(approx):
        # share of nonzero gradients flushed to zero; any inf; mean relative error per entry
        finite = np.isfinite(approx)
        zero = float(np.mean(approx[nonzero] == 0))
        err = float(np.mean(np.abs(np.where(finite, approx, 0) - g)[nonzero] / np.abs(g[nonzero])))
        return zero, bool(not finite.all()), err

    scales = []
    for k in progress(LOG2_SCALES, total=len(LOG2_SCALES), description="loss scales"):
        zero, overflow, err = stats(loss_scaled_cast(g, 2.0 ** k, FP16))
        scales.append({"log2_scale": k, "zero_share": zero, "overflow": overflow,
                       "rel_error": None if overflow else err})
    bz, _, be = stats(cast(g, BF16))
    dynamic = [{"log2_scale": int(round(math.log2(s))), "overflow": o} for s, o in
               dynamic_loss_scale([g] * DYNAMIC_STEPS, FP16, init_scale=2.0 ** 32,
                                  growth_interval=2)]
    fp8 = []
    for fmt in (FP8_E4M3, FP8_E5M2):
        for label, block in (("per tensor", None), (f"per {p.block}", p.block)):
            x = g.reshape(1, -1) if block is None else g
            out, _ = block_scaled_cast(x, fmt, block)
            zero, _, err = stats(out.reshape(g.shape))
            fp8.append({"format": fmt.name, "scaling": label, "rel_error": err,
                        "zero_share": zero})
    a = np.abs(g[nonzero])
    result = {
        "formats": formats, "examples": examples, "bf16_rounding": bf16_rounding,
        "gradient": {"vocab": p.vocab, "rows": p.rows, "batch_tokens": p.batch_tokens,
                     "max_abs": float(a.max()), "median_abs": float(np.median(a)),
                     "share_below_fp16_subnormal": float(np.mean(a < FP16.min_subnormal))},
        "loss_scale": scales, "bf16_gradient": {"zero_share": bz, "rel_error": be},
        "dynamic": dynamic, "fp8": fp8,
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    s = r["loss_scale"]
    plain = s[0]
    good = [x for x in s if not x["overflow"]]
    best = min(good, key=lambda x: x["rel_error"])
    first_over = next((x for x in s if x["overflow"]), None)
    over = (f", and 2^{first_over['log2_scale']} overflows" if first_over else "")
    e4 = [x for x in r["fp8"] if x["format"] == "fp8-e4m3"]
    return (f"{r['gradient']['share_below_fp16_subnormal']:.0%} of these cross-entropy "
            f"gradients are below fp16's smallest number 2^-24, so unscaled fp16 flushes "
            f"{plain['zero_share']:.0%} of them to zero; a loss scale of "
            f"2^{best['log2_scale']} brings the error to {best['rel_error']:.1e}{over}. bf16 "
            f"needs no scaling (fp32's range) but keeps 8 bits: 1.001 is stored as "
            f"{r['examples'][-1]['bf16']:g}. E4M3 with one scale per tensor errs "
            f"{e4[0]['rel_error']:.1%} per value and flushes {e4[0]['zero_share']:.1%}; with "
            f"block scales {e4[1]['rel_error']:.1%} and {e4[1]['zero_share']:.1%}.")


def _short(x: float) -> str:
    # 65504, 0.0078, 3.4e38, 6e-8: at most 8 characters
    if float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    if 1e-3 <= abs(x) < 1e6:
        return f"{x:.4g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.fmt
    formats = _viz.table(("format", "max", "min normal", "min sub", "eps"), [
        (x["name"], _short(x["max_finite"]), _short(x["min_normal"]),
         _short(x["min_subnormal"]), _short(x["epsilon"])) for x in result["formats"]],
        title="limits, decoded from the bit patterns")
    bits = Text("exponent/mantissa bits: " + ", ".join(
        f"{x['name']} {x['exponent_bits']}/{x['mantissa_bits']}" for x in result["formats"]),
        style="dim")
    def shown(v):
        return "inf" if v is None else f"{v:.7g}"

    examples = _viz.table(("value", "fp16", "bf16"), [
        (x["what"], shown(x["fp16"]), shown(x["bf16"])) for x in result["examples"]],
        title="single values, round to nearest even")
    b = result["bf16_rounding"]
    rounding = Text(f"bf16 from fp32 bits: 1/3 -> {b['nearest_even']:.6f} rounded "
                    f"(error {b['nearest_even_error']:.1e}), {b['truncated']:.6f} truncated "
                    f"({b['truncated_error']:.1e}).", style="dim")
    g = result["gradient"]
    grad = Text(f"Cross-entropy gradients, vocab {g['vocab']:,}, mean over "
                f"{g['batch_tokens']:,} tokens: median |g| {g['median_abs']:.1e}, max "
                f"{g['max_abs']:.1e}; {g['share_below_fp16_subnormal']:.0%} below 2^-24.",
                style="dim")
    scales = _viz.table(("loss scale", "flushed to 0", "overflow", "mean rel err"), [
        (f"2^{x['log2_scale']}", f"{x['zero_share']:.1%}", "inf!" if x["overflow"] else "no",
         "-" if x["rel_error"] is None else f(x["rel_error"])) for x in result["loss_scale"]]
        + [("bf16, none", f"{result['bf16_gradient']['zero_share']:.1%}", "no",
            f(result["bf16_gradient"]["rel_error"]))],
        title="fp16 backward on loss x scale, unscaled in fp32")
    dyn = " ".join(f"2^{d['log2_scale']}{'!' if d['overflow'] else ''}"
                   for d in result["dynamic"])
    dynamic = Text(f"Dynamic scaler (! = overflow, step skipped): {dyn}", style="dim")
    fp8 = _viz.table(("FP8", "scaling", "flushed to 0", "mean rel err"), [
        (x["format"], x["scaling"], f"{x['zero_share']:.1%}", f(x["rel_error"]))
        for x in result["fp8"]], title="the same gradients in FP8")
    return _viz.view("Mixed precision", formats, bits, examples, rounding, grad, scales,
                     dynamic, fp8, takeaway=result["takeaway"])
