"""Attention speed and memory: the NumPy engine against PyTorch on this machine.

    python benchmarks/engine.py            # n = 512 .. 4096, tiled attention at n = 16384
    python benchmarks/engine.py --quick    # smaller sizes, fewer repeats
    python benchmarks/engine.py --moe-mla  # only the MoE and MLA forward passes

Float32, batch 1, 8 heads, head dim 64. Implementations are timed round-robin
after a warm-up and the median is reported. PyTorch is optional: without it the
torch columns are skipped. The MoE and MLA forward passes are compared with
transformers' own modules (MixtralSparseMoeBlock, DeepseekV3Attention) loaded
with the same weights, when transformers is importable too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# PyTorch's OpenMP workers spin after each call and steal the cores from the
# NumPy run that follows; make them sleep instead. Must be set before import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# This file is called engine.py: drop its own folder from the path so that
# `import engine` finds the package, and import the sibling helpers via `benchmarks.`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402

from benchmarks._timing import interleaved_medians, peak_memory  # noqa: E402
from engine.attention import scaled_dot_product_attention  # noqa: E402
from engine.efficient import flash_attention  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

N_HEAD, D_HEAD = 8, 64


def matmul_gflops(repeats: int) -> float:
    """This machine's float32 square-matmul rate, the ceiling for attention's matmuls."""
    n = 2048
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    t = interleaved_medians({"mm": lambda: a @ a}, repeats=repeats)["mm"]
    return 2 * n**3 / t / 1e9


def attention_table(sizes, repeats: int, gemm: float) -> None:
    rng = np.random.default_rng(0)
    head = f"{'n':>6} {'engine ms':>10} {'causal ms':>10}"
    if torch is not None:
        head += f" {'torch ms':>9} {'ratio':>6}"
    head += f" {'GFLOP/s':>8} {'% of GEMM':>9}"
    print(head)
    for n in sizes:
        q, k, v = (rng.standard_normal((1, N_HEAD, n, D_HEAD)).astype(np.float32)
                   for _ in range(3))
        fns = {
            "engine": lambda q=q, k=k, v=v: scaled_dot_product_attention(q, k, v),
            "causal": lambda q=q, k=k, v=v: scaled_dot_product_attention(q, k, v, is_causal=True),
        }
        if torch is not None:
            tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
            fns["torch"] = lambda tq=tq, tk=tk, tv=tv: F.scaled_dot_product_attention(tq, tk, tv)
        t = interleaved_medians(fns, repeats=repeats)
        gflops = 4 * N_HEAD * n * n * D_HEAD / t["engine"] / 1e9
        row = f"{n:>6} {t['engine'] * 1e3:>10.1f} {t['causal'] * 1e3:>10.1f}"
        if torch is not None:
            row += f" {t['torch'] * 1e3:>9.1f} {t['engine'] / t['torch']:>6.2f}"
        row += f" {gflops:>8.1f} {100 * gflops / gemm:>8.0f}%"
        print(row)


def tiled_report(n_mem: int, n_time: int, repeats: int) -> None:
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((1, n_mem, D_HEAD)).astype(np.float32) for _ in range(3))
    peak = peak_memory(lambda: flash_attention(q, k, v))
    full = n_mem * n_mem * 4
    print(f"tiled attention, n={n_mem}, 1 head: peak extra memory {peak / 2**20:.1f} MiB = "
          f"{100 * peak / full:.2f}% of the {full / 2**30:.2f} GiB n x n float32 matrix")
    q, k, v = (rng.standard_normal((1, N_HEAD, n_time, D_HEAD)).astype(np.float32)
               for _ in range(3))
    t = interleaved_medians({"plain": lambda: scaled_dot_product_attention(q, k, v),
                             "tiled": lambda: flash_attention(q, k, v)}, repeats=repeats)
    print(f"tiled attention, n={n_time}, {N_HEAD} heads: {t['tiled'] * 1e3:.0f} ms vs plain "
          f"{t['plain'] * 1e3:.0f} ms (ratio {t['tiled'] / t['plain']:.2f})")


def kv_cache_report() -> None:
    try:
        from benchmarks import kv_cache
    except ImportError:
        print("KV cache: benchmarks/kv_cache.py not available, skipped")
        return
    r = kv_cache.measure()
    print(f"KV cache: cached {r['cached_s']:.2f} s, uncached {r['uncached_s']:.2f} s, "
          f"speed-up {r['speedup']:.1f}x")


# MoE layer: Mixtral-style, 8 experts, top 2; MLA: DeepSeek-V3's layout at a small width
MOE = dict(tokens=512, d_model=1024, d_expert=2048, experts=8, top_k=2)
MLA = dict(tokens=512, d_model=1024, heads=16, q_lora_rank=384, kv_lora_rank=256,
           qk_nope_dim=64, qk_rope_dim=32, v_dim=64)


def _transformers():
    if torch is None:
        return None
    try:
        import transformers
    except ImportError:
        return None
    return transformers


def _hf_to_engine(module, weight_map) -> dict:
    sd = {k: v.detach().numpy() for k, v in module.state_dict().items() if "inv_freq" not in k}
    params = {}
    for name, to_engine in weight_map.items():
        params |= {k: np.ascontiguousarray(v) for k, v in to_engine(sd[name]).items()}
    return params


def one_thread_cpu(fns: dict, repeats: int) -> dict[str, float]:
    """Median CPU seconds per call on one thread (NumPy's BLAS and torch both), round-robin.

    CPU time on one thread barely moves when other processes share the cores, so the
    ratio holds on a busy machine where wall-clock ratios at two threads drift.
    """
    import statistics
    import time

    from tutor.demos._timing import one_blas_thread

    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with one_blas_thread():
            for fn in fns.values():
                fn()
            samples = {name: [] for name in fns}
            for _ in range(repeats):
                for name, fn in fns.items():
                    t0 = time.process_time()
                    fn()
                    samples[name].append(time.process_time() - t0)
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def _cpu_line(fns: dict, repeats: int, name: str) -> str:
    c = one_thread_cpu({k: fns[k] for k in ("engine", "torch")}, repeats)
    return (f"  one thread, CPU time: engine {c['engine'] * 1e3:.1f} ms, {name} "
            f"{c['torch'] * 1e3:.1f} ms (ratio {c['engine'] / c['torch']:.2f})")


def moe_report(repeats: int) -> None:
    from engine.moe import MoEConfig, moe_ffn, moe_param_shapes, moe_weight_map

    c = MOE
    config = MoEConfig(n_experts=c["experts"], top_k=c["top_k"], d_expert=c["d_expert"])
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, c["tokens"], c["d_model"])).astype(np.float32)
    transformers = _transformers()
    fns, params = {}, None
    if transformers is not None:
        from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock

        hf = transformers.MixtralConfig(hidden_size=c["d_model"], intermediate_size=c["d_expert"],
                                        num_local_experts=c["experts"],
                                        num_experts_per_tok=c["top_k"])
        blocks = {}
        for impl in ("grouped_mm", "eager"):       # a loaded model's default, and the loop
            hf._experts_implementation = impl
            torch.manual_seed(0)
            blocks[impl] = MixtralSparseMoeBlock(hf).eval()
            with torch.no_grad():
                for p in blocks[impl].parameters():
                    p.copy_(torch.randn(p.shape) / p.shape[-1] ** 0.5)
        params = _hf_to_engine(blocks["eager"], moe_weight_map("moe", config))
        tx = torch.from_numpy(x)

        def torch_moe(block):
            with torch.no_grad():
                return block(tx)

        fns["torch"] = lambda: torch_moe(blocks["grouped_mm"])
        fns["torch eager"] = lambda: torch_moe(blocks["eager"])
    if params is None:
        params = {k: (rng.standard_normal(s) / s[-2 if len(s) > 1 else 0] ** 0.5)
                  .astype(np.float32) for k, s in moe_param_shapes("moe", c["d_model"],
                                                                  config).items()}
    fns = {"engine": lambda: moe_ffn(x, params, "moe", config), **fns}
    t = interleaved_medians(fns, repeats=repeats)
    line = (f"MoE FFN, float32, {c['tokens']} tokens, d={c['d_model']}, {c['experts']} SwiGLU "
            f"experts of {c['d_expert']}, top {c['top_k']}: engine {t['engine'] * 1e3:.1f} ms")
    if "torch" in t:
        diff = np.max(np.abs(fns["engine"]() - fns["torch"]().numpy()))
        line += (f"\n  MixtralSparseMoeBlock, grouped_mm {t['torch'] * 1e3:.1f} ms (ratio "
                 f"{t['engine'] / t['torch']:.2f}), eager loop {t['torch eager'] * 1e3:.1f} ms "
                 f"(ratio {t['engine'] / t['torch eager']:.2f}); max |diff| {diff:.1e}\n"
                 + _cpu_line(fns, repeats, "grouped_mm"))
    print(line)


def mla_report(repeats: int) -> None:
    from engine.mla import (
        MLAConfig,
        absorb,
        mla_param_shapes,
        mla_weight_map,
        multi_head_latent_attention,
    )
    from engine.positional import rope_angles

    c = MLA
    config = MLAConfig(n_head=c["heads"], kv_lora_rank=c["kv_lora_rank"],
                       qk_nope_head_dim=c["qk_nope_dim"], qk_rope_head_dim=c["qk_rope_dim"],
                       v_head_dim=c["v_dim"], q_lora_rank=c["q_lora_rank"])
    n = c["tokens"]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, n, c["d_model"])).astype(np.float32)
    positions = np.arange(n)
    cos, sin = (a.astype(np.float32) for a in rope_angles(positions, c["qk_rope_dim"]))
    transformers = _transformers()
    fns, params = {}, None
    if transformers is not None:
        from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3Attention

        hf = transformers.DeepseekV3Config(
            hidden_size=c["d_model"], num_attention_heads=c["heads"],
            num_key_value_heads=c["heads"], q_lora_rank=c["q_lora_rank"],
            kv_lora_rank=c["kv_lora_rank"], qk_nope_head_dim=c["qk_nope_dim"],
            qk_rope_head_dim=c["qk_rope_dim"], v_head_dim=c["v_dim"], rope_interleave=True)
        attns = {}
        for impl in ("sdpa", "eager"):
            hf._attn_implementation = impl
            torch.manual_seed(0)
            attns[impl] = DeepseekV3Attention(hf, layer_idx=0).eval()
            with torch.no_grad():
                for name, p in attns[impl].named_parameters():
                    p.copy_(1 + 0.1 * torch.randn(p.shape) if "norm" in name
                            else torch.randn(p.shape) / p.shape[-1] ** 0.5)
        params = _hf_to_engine(attns["eager"], mla_weight_map("attn", config))
        tx, tcos, tsin = (torch.from_numpy(a) for a in (x, cos[None], sin[None]))
        mask = torch.full((n, n), float("-inf")).triu(1)[None, None]

        def torch_mla(attn):
            with torch.no_grad():
                return attn(tx, position_embeddings=(tcos, tsin), attention_mask=mask)[0]

        fns["torch"] = lambda: torch_mla(attns["sdpa"])
        fns["torch eager"] = lambda: torch_mla(attns["eager"])
    if params is None:
        params = {k: (1 + 0.1 * rng.standard_normal(s) if k.endswith(".g") else
                      rng.standard_normal(s) / s[0] ** 0.5).astype(np.float32)
                  for k, s in mla_param_shapes("attn", c["d_model"], config).items()}
    absorbed = absorb(params, "attn", config)        # W_uk, W_uv folded in once
    fns = {"engine": lambda: multi_head_latent_attention(x, params, "attn", config,
                                                         positions=positions),
           "absorbed": lambda: multi_head_latent_attention(x, absorbed, "attn", config,
                                                           positions=positions, absorb=True),
           **fns}
    t = interleaved_medians(fns, repeats=repeats)
    print(f"MLA, float32, {n} tokens, d={c['d_model']}, {c['heads']} heads, q_lora "
          f"{c['q_lora_rank']}, kv_lora {c['kv_lora_rank']}, keys {c['qk_nope_dim']}+"
          f"{c['qk_rope_dim']}, values {c['v_dim']}, causal prefill: engine "
          f"{t['engine'] * 1e3:.1f} ms (absorbed {t['absorbed'] * 1e3:.1f} ms)")
    if "torch" in t:
        diff = np.max(np.abs(fns["engine"]() - fns["torch"]().numpy()))
        print(f"  DeepseekV3Attention, sdpa {t['torch'] * 1e3:.1f} ms (ratio "
              f"{t['engine'] / t['torch']:.2f}), eager {t['torch eager'] * 1e3:.1f} ms (ratio "
              f"{t['engine'] / t['torch eager']:.2f}); max |diff| {diff:.1e}")
        print(_cpu_line(fns, repeats, "sdpa"))
    mla_decode_report(config, params, absorbed, repeats)


def mla_decode_report(config, params, absorbed, repeats: int, context: int = 4096) -> None:
    """One new token against `context` cached latents: re-expanding them, or absorbed."""
    from engine.mla import multi_head_latent_attention
    from engine.model import KVCache

    rng = np.random.default_rng(4)
    d = params["attn.w_dkv"].shape[0]
    prefix = rng.standard_normal((1, context, d)).astype(np.float32)
    token = rng.standard_normal((1, 1, d)).astype(np.float32)
    cache = KVCache(n_layer=1, max_len=context + 1)
    multi_head_latent_attention(prefix, absorbed, "attn", config, cache=cache.layer(0),
                                absorb=True)
    cache.advance(context)

    def step(p, absorb_):
        out = multi_head_latent_attention(token, p, "attn", config, cache=cache.layer(0),
                                          absorb=absorb_)
        return out                     # the cache is not advanced: each call is the same step

    t = interleaved_medians({"expanded": lambda: step(params, False),
                             "absorbed": lambda: step(absorbed, True)}, repeats=repeats)
    diff = np.max(np.abs(step(params, False) - step(absorbed, True)))
    print(f"  decoding 1 token against {context} cached latents: re-expanding them "
          f"{t['expanded'] * 1e3:.2f} ms, absorbed {t['absorbed'] * 1e3:.2f} ms "
          f"({t['expanded'] / t['absorbed']:.1f}x); max |diff| {diff:.1e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--moe-mla", action="store_true",
                        help="only the MoE and MLA forward passes")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    sizes = [256, 512, 1024] if args.quick else [512, 1024, 2048, 4096]
    if torch is None:
        print("PyTorch is not importable: torch columns skipped.")
    else:
        torch.set_num_threads(os.cpu_count() or 1)
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    gemm = matmul_gflops(repeats)
    print(f"NumPy {np.__version__}; float32 2048^3 matmul: {gemm:.0f} GFLOP/s\n")
    if args.moe_mla:
        moe_report(repeats)
        mla_report(repeats)
        return
    print(f"Attention, float32, batch 1, {N_HEAD} heads, head dim {D_HEAD} (median ms)")
    attention_table(sizes, repeats, gemm)
    print()
    tiled_report(4096 if args.quick else 16384, 1024 if args.quick else 4096, repeats)
    print()
    kv_cache_report()
    print()
    moe_report(repeats)
    mla_report(repeats)


if __name__ == "__main__":
    main()
