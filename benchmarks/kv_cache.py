"""KV cache speed-up: greedy generation with and without a cache on a small random GPT-2.

Without a cache every step recomputes the whole sequence, O(n^2) token-passes in
total; with one, each step runs only the new token through the model.

    python benchmarks/kv_cache.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

# benchmarks/engine.py would shadow the engine package when this file runs as a script
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402

from engine.gpt2 import GPT2, gpt2_config  # noqa: E402


def measure(n_new: int = 256, n_layer: int = 4, d_model: int = 256, n_head: int = 4,
            seed: int = 0, prompt_len: int = 8, vocab_size: int = 1000) -> dict:
    """Seconds for greedy generation of n_new tokens, cached and uncached, and their ratio."""
    rng = np.random.default_rng(seed)
    config = gpt2_config(vocab_size=vocab_size, n_ctx=prompt_len + n_new, d_model=d_model,
                         n_layer=n_layer, n_head=n_head)
    model = GPT2.from_config(config, rng, dtype=np.float32)
    prompt = rng.integers(0, vocab_size, size=(1, prompt_len))
    model.generate(prompt, 4)                                   # warm up BLAS and caches

    t0 = time.perf_counter()
    cached = model.generate(prompt, n_new, use_cache=True)
    t1 = time.perf_counter()
    uncached = model.generate(prompt, n_new, use_cache=False)
    t2 = time.perf_counter()
    return {
        "n_new": n_new, "n_layer": n_layer, "d_model": d_model, "n_head": n_head,
        "cached_s": t1 - t0, "uncached_s": t2 - t1, "speedup": (t2 - t1) / (t1 - t0),
        "same_tokens": bool(np.array_equal(cached, uncached)),
    }


if __name__ == "__main__":
    result = measure()
    print(f"greedy generation of {result['n_new']} tokens, {result['n_layer']} layers, "
          f"d_model={result['d_model']}, {result['n_head']} heads")
    print(f"  with KV cache:    {result['cached_s']:.3f} s")
    print(f"  without KV cache: {result['uncached_s']:.3f} s")
    print(f"  speed-up:         {result['speedup']:.1f}x  (same tokens: {result['same_tokens']})")
