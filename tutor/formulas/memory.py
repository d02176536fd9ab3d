"""Memory formulas: KV cache, weights, optimizer states, activations."""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("memory.kv_cache_bytes",
         "KV cache size: 2 x batch x seq x layers x kv_heads x d_head x bytes")
def kv_cache_bytes(seq: int, layers: int, kv_heads: int, d_head: int, batch: int = 1,
                   bytes_per: int = 2) -> Computed:
    total = 2 * batch * seq * layers * kv_heads * d_head * bytes_per
    return Computed(total, f"2 x {batch} x {_n(seq)} x {layers} x {kv_heads} x {d_head} x "
                           f"{bytes_per} B = {_n(total)} B")
