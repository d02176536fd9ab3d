"""memory: what training and serving a model needs, byte by byte.

Training state per parameter with Adam: fp32 is 4 (weights) + 4 (gradients) +
8 (Adam's m and v) = 16 bytes; mixed precision is 2 (fp16 weights) + 2 (fp16
gradients) + 4 (fp32 master weights) + 8 (m, v) = 16 bytes as well. Activations
follow Korthikanti et al. (2022) at 16 bits; the KV cache and weights for
inference are fp16. Sizes are decimal (1 GB = 10^9 bytes), and a GPU holds 80 GB.

With `--params` and no `--preset`, activations and the KV cache need a shape;
the demo uses GPT-3's proportions (d_model = 128 x n_layer, 128-wide heads),
which for 175B gives GPT-3 175B itself (d_model 12288, 96 layers, 96 heads).

JSON keys:
- `n_params`; `source`: "preset" or "params"; `shape`: {name, d_model, n_layer,
  n_head, n_kv_head, head_dim, inferred};
- `training`: {"fp32": row, "mixed": row}, each row {weights, gradients,
  master_weights, optimizer_states, total, bytes_per_param, gpus} in bytes;
- `activations`: {batch, seq, full, checkpointed, quadratic} in bytes;
- `kv_cache`: bytes (null for an encoder);
- `inference`: {weights, kv_cache, total, gpus};
- `training_total`: mixed-precision state + full activations, with `training_gpus`;
- `gpu_bytes`: bytes per GPU; `takeaway`.
"""

from __future__ import annotations

import math

GPU_BYTES = 80 * 10**9
_ASPECT = 128          # GPT-3: d_model / n_layer and the head width are both 128


def _shape(p):
    """(config, n_params, inferred) for the options."""
    from engine.accounting import count_params
    from engine.config import ModelConfig, preset

    if p.preset:
        config = preset(p.preset)
        return config, count_params(config).total, False
    n = int(p.params)
    # 12 L d^2 = N with L = d / 128  ->  d = (128 N / 12)^(1/3), rounded to whole heads
    d = max(_ASPECT, _ASPECT * round((_ASPECT * n / 12) ** (1 / 3) / _ASPECT))
    layers = max(1, d // _ASPECT)
    config = ModelConfig(name=f"GPT-3-shaped {_short(n)}", vocab_size=50257,
                         n_ctx=max(p.seq, 1), d_model=d, n_layer=layers, n_head=d // _ASPECT,
                         activation="gelu", norm="layernorm", positional="learned")
    return config, n, True


def compute(p, rng, progress) -> dict:
    from engine.accounting import (
        activation_memory,
        inference_memory,
        kv_cache_bytes,
        training_memory,
    )

    config, n, inferred = _shape(p)
    training = {}
    for precision in ("fp32", "mixed"):
        m = training_memory(n, precision=precision, optimizer="adam")
        training[precision] = {
            "weights": m.weights, "gradients": m.gradients,
            "master_weights": m.master_weights, "optimizer_states": m.optimizer_states,
            "total": m.total, "bytes_per_param": m.bytes_per_param,
            "gpus": math.ceil(m.total / GPU_BYTES),
        }
    full = activation_memory(config, p.batch, p.seq, bytes_per=2)
    ckpt = activation_memory(config, p.batch, p.seq, bytes_per=2, checkpointing=True)
    generates = config.arch != "encoder"
    kv = kv_cache_bytes(config, p.batch, p.seq, 2) if generates else None
    if generates:
        inf = inference_memory(config, p.batch, p.seq, weight_bytes=2, kv_bytes=2, n_params=n)
        inference = {"weights": inf.weights, "kv_cache": inf.kv_cache, "total": inf.total}
    else:
        inference = {"weights": 2 * n, "kv_cache": 0, "total": 2 * n}
    inference["gpus"] = math.ceil(inference["total"] / GPU_BYTES)
    training_total = training["mixed"]["total"] + full.total

    mixed, f32 = training["mixed"], training["fp32"]

    def parts(row):
        return "+".join(f"{row[k] // n}" for k in ("weights", "gradients", "master_weights",
                                                    "optimizer_states") if row[k])

    takeaway = (
        f"Adam state is {f32['bytes_per_param']:.0f} bytes/param in fp32 ({parts(f32)}) and "
        f"{mixed['bytes_per_param']:.0f} in mixed precision ({parts(mixed)}): "
        f"{_short(n)} x 16 = {gb(mixed['total'])}, {mixed['gpus']} x 80 GB GPUs before "
        f"activations ({gb(full.total)} at {p.batch} x {p.seq} tokens, "
        f"{gb(ckpt.total)} checkpointed). Mixed precision saves activations and time, "
        f"not state; fp16 serving needs {gb(inference['total'])}.")
    return {
        "n_params": n,
        "source": "preset" if p.preset else "params",
        "shape": {"name": config.name, "d_model": config.d_model, "n_layer": config.n_layer,
                  "n_head": config.n_head, "n_kv_head": config.kv_heads,
                  "head_dim": config.head_dim, "inferred": inferred},
        "training": training,
        "activations": {"batch": p.batch, "seq": p.seq, "full": full.total,
                        "checkpointed": ckpt.total, "quadratic": full.quadratic},
        "kv_cache": kv,
        "inference": inference,
        "training_total": training_total,
        "training_gpus": math.ceil(training_total / GPU_BYTES),
        "gpu_bytes": GPU_BYTES,
        "takeaway": takeaway,
    }


def gb(n: float) -> str:
    """Decimal units: 2.80 TB, 350 GB, 9.66 GB."""
    for div, unit in ((1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(n) >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n:.0f} B"


def _short(n: float) -> str:
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    s, n = result["shape"], result["n_params"]
    how = "shape inferred, GPT-3 proportions" if s["inferred"] else "preset"
    intro = Text(f"{n:,} parameters ({how}: d={s['d_model']:,}, L={s['n_layer']}, "
                 f"{s['n_head']} heads, {s['n_kv_head']} KV heads)", style="dim")
    f32, mix = result["training"]["fp32"], result["training"]["mixed"]

    def row(label, key):
        return (label, _cell(f32[key], n), _cell(mix[key], n))

    train = _viz.table(("training state", "fp32 Adam", "mixed Adam"), [
        row("weights", "weights"),
        row("gradients", "gradients"),
        row("fp32 master copy", "master_weights"),
        row("Adam m and v", "optimizer_states"),
        ("total", gb(f32["total"]), gb(mix["total"])),
        ("bytes / parameter", f"{f32['bytes_per_param']:.0f}", f"{mix['bytes_per_param']:.0f}"),
        ("80 GB GPUs", f"{f32['gpus']:,}", f"{mix['gpus']:,}"),
    ])
    a = result["activations"]
    acts = _viz.table((f"activations, {a['batch']} x {a['seq']} tokens", "16-bit"), [
        ("kept for backward", gb(a["full"])),
        ("  of which softmax s² terms", gb(a["quadratic"])),
        ("full checkpointing", gb(a["checkpointed"])),
        ("training: mixed state + acts", gb(result["training_total"])),
        ("  80 GB GPUs", f"{result['training_gpus']:,}"),
    ])
    i = result["inference"]
    kv = "none (encoder)" if result["kv_cache"] is None else gb(i["kv_cache"])
    infer = _viz.table(("inference, fp16", "bytes"), [
        ("weights (2 B/param)", gb(i["weights"])),
        (f"KV cache, {a['batch']} x {a['seq']} tokens", kv),
        ("total", gb(i["total"])),
        ("80 GB GPUs", f"{i['gpus']:,}"),
    ])
    return _viz.view("Memory: training and inference", intro, train, acts, infer,
                     takeaway=result["takeaway"])


def _cell(value: int, n: int) -> str:
    return f"{gb(value)} ({value / n:.0f} B)" if value else "-"
