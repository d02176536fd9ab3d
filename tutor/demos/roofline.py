"""roofline: when is a step of a model limited by bandwidth, and when by arithmetic?

Arithmetic intensity = FLOPs / bytes moved from HBM, from engine.roofline:
FLOPs by engine.accounting.forward_flops_per_token (matmuls, dense attention),
bytes = every weight read once per step (an untied input embedding is only
looked up) plus the KV cache each sequence reads (decode) or writes (prefill),
all at `--bytes-per` bytes. Activations are left out. A step is memory-bound
when its intensity is below the chip's ridge point, peak FLOP/s / bandwidth.

Chips, NVIDIA datasheet figures: A100 SXM 80GB, 312 TFLOP/s dense bf16 and
2.039 TB/s HBM2e; H100 SXM, 989 TFLOP/s dense bf16 and 3.35 TB/s HBM3.

JSON keys:
- `preset`, `context`, `prompt`, `bytes_per`;
- `chips`: [{name, peak_flops, bandwidth, ridge, source}];
- `decode`: [{batch, flops, weight_bytes, kv_bytes, intensity, bound (per chip:
  "memory" or "compute"), attainable_tflops (per chip), step_ms (per chip,
  max(FLOPs/peak, bytes/bandwidth)), tokens_per_s (per chip)}];
- `prefill`: [{batch, intensity, bound, step_ms}] for `prompt` tokens per sequence;
- `critical_batch`: {chip: the smallest decode batch with intensity >= ridge, or None};
  `weights_only_batch`: {chip: ridge x bytes_per / 2, the same ignoring the KV cache};
  `intensity_limit`: decode intensity as batch -> infinity (FLOPs per KV byte);
- `contexts`: [{context, limit, critical (per chip)}] for a few context lengths;
- `takeaway`.
"""

from __future__ import annotations

CONTEXTS = (128, 512, 2048, 8192)


def check(p) -> str | None:
    from engine.config import preset

    if preset(p.preset).arch == "encoder":
        return (f"--preset {p.preset} is an encoder: it reads its input in one pass and never "
                "decodes token by token; choose a decoder such as llama-3-8b")
    return None


def _row(cost, chips):
    from engine.roofline import attainable_flops, is_memory_bound, step_time

    return {
        "bound": {c.name: "memory" if is_memory_bound(cost, c) else "compute" for c in chips},
        "attainable_tflops": {c.name: attainable_flops(cost.intensity, c) / 1e12
                              for c in chips},
        "step_ms": {c.name: 1e3 * step_time(cost, c) for c in chips},
    }


def compute(p, rng, progress) -> dict:
    from engine.config import preset
    from engine.roofline import (
        A100_SXM,
        H100_SXM,
        critical_batch,
        decode_cost,
        decode_intensity_limit,
        prefill_cost,
    )

    config = preset(p.preset)
    chips = (A100_SXM, H100_SXM)
    decode, prefill = [], []
    for b in sorted(p.batches):
        cost = decode_cost(config, b, p.context, p.bytes_per)
        row = {"batch": b, "flops": cost.flops, "weight_bytes": cost.weight_bytes,
               "kv_bytes": cost.kv_bytes, "intensity": cost.intensity, **_row(cost, chips)}
        row["tokens_per_s"] = {n: b / (ms / 1e3) for n, ms in row["step_ms"].items()}
        decode.append(row)
        pc = prefill_cost(config, b, p.prompt, p.bytes_per)
        r = _row(pc, chips)
        prefill.append({"batch": b, "intensity": pc.intensity, "bound": r["bound"],
                        "step_ms": r["step_ms"]})
    contexts = [{"context": c, "limit": decode_intensity_limit(config, c, p.bytes_per),
                 "critical": {ch.name: critical_batch(config, ch, c, p.bytes_per)
                              for ch in chips}} for c in CONTEXTS]
    result = {
        "preset": p.preset, "context": p.context, "prompt": p.prompt, "bytes_per": p.bytes_per,
        "chips": [{"name": c.name, "peak_flops": c.peak_flops, "bandwidth": c.bandwidth,
                   "ridge": c.ridge, "source": c.source} for c in chips],
        "decode": decode, "prefill": prefill,
        "critical_batch": {c.name: critical_batch(config, c, p.context, p.bytes_per)
                           for c in chips},
        "weights_only_batch": {c.name: c.ridge * p.bytes_per / 2 for c in chips},
        "intensity_limit": decode_intensity_limit(config, p.context, p.bytes_per),
        "contexts": contexts,
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    a, h = (c["name"] for c in r["chips"])
    ridge = {c["name"]: c["ridge"] for c in r["chips"]}
    crit = r["critical_batch"]
    d1 = r["decode"][0]

    def when(name):
        b = crit[name]
        return (f"batch {b:,}" if b is not None else
                f"no batch (the KV cache caps intensity at {r['intensity_limit']:.0f})")

    return (f"Decoding {r['preset']} at batch {d1['batch']} does {d1['intensity']:.1f} FLOPs per "
            f"byte, far below the ridge points ({ridge[a]:.0f} on the A100, {ridge[h]:.0f} on the "
            f"H100): it waits on memory. Batching reuses each weight read, but with "
            f"{r['context']:,} cached tokens per sequence the KV reads grow too: decode turns "
            f"compute-bound at {when(a)} on the A100 and {when(h)} on the H100, against "
            f"{r['weights_only_batch'][a]:.0f} and {r['weights_only_batch'][h]:.0f} counting "
            f"weights alone. Prefill of {r['prompt']} tokens is at "
            f"{r['prefill'][0]['intensity']:.0f} FLOPs/byte already at batch "
            f"{r['prefill'][0]['batch']}.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    a, h = (c["name"] for c in result["chips"])
    chips = Text("\n".join(f"{c['name']}: {c['peak_flops'] / 1e12:.0f} TFLOP/s, "
                           f"{c['bandwidth'] / 1e12:.3g} TB/s, ridge {c['ridge']:.0f} FLOP/B"
                           for c in result["chips"])
                 + "\n(NVIDIA datasheets, dense bf16)", style="dim")

    def bound(row, name):
        return "mem" if row["bound"][name] == "memory" else "FLOP"

    decode = _viz.table(("batch", "FLOP/B", "A100", "ms", "H100", "ms"), [
        (f"{d['batch']:,}", f"{d['intensity']:.1f}", bound(d, a), f"{d['step_ms'][a]:.2f}",
         bound(d, h), f"{d['step_ms'][h]:.2f}") for d in result["decode"]],
        title=f"decode, {result['preset']}, {result['context']:,} cached tokens")
    prefill = _viz.table(("batch", "FLOP/B", "A100", "ms", "H100", "ms"), [
        (f"{d['batch']:,}", f"{d['intensity']:.0f}", bound(d, a), f"{d['step_ms'][a]:.1f}",
         bound(d, h), f"{d['step_ms'][h]:.1f}") for d in result["prefill"]],
        title=f"prefill, {result['prompt']:,}-token prompts")
    xs = [d["batch"] for d in result["decode"]]
    plot = None
    if len(xs) >= 2:
        plot = _viz.line_plot({
            "decode": (xs, [d["intensity"] for d in result["decode"]]),
            "A100 ridge": (xs, [result["chips"][0]["ridge"]] * len(xs)),
            "H100 ridge": (xs, [result["chips"][1]["ridge"]] * len(xs)),
        }, title="decode FLOPs per byte vs batch", xlabel="batch (log)", logx=True, logy=True,
            width=54, height=12)

    def crit(b):
        return "never" if b is None else f"{b:,}"

    contexts = _viz.table(("context", "max FLOP/B", "A100 from", "H100 from"), [
        (f"{c['context']:,}", f"{c['limit']:.0f}", crit(c["critical"][a]),
         crit(c["critical"][h])) for c in result["contexts"]],
        title="batch where decode becomes compute-bound")
    return _viz.view("Roofline", chips, decode, plot, prefill, contexts,
                     takeaway=result["takeaway"])
