"""Attention speed and memory: the NumPy engine against PyTorch on this machine.

    python benchmarks/engine.py            # n = 512 .. 4096, tiled attention at n = 16384
    python benchmarks/engine.py --quick    # smaller sizes, fewer repeats

Float32, batch 1, 8 heads, head dim 64. Implementations are timed round-robin
after a warm-up and the median is reported. PyTorch is optional: without it the
torch columns are skipped.
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
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
    print(f"Attention, float32, batch 1, {N_HEAD} heads, head dim {D_HEAD} (median ms)")
    attention_table(sizes, repeats, gemm)
    print()
    tiled_report(4096 if args.quick else 16384, 1024 if args.quick else 4096, repeats)
    print()
    kv_cache_report()


if __name__ == "__main__":
    main()
