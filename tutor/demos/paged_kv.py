"""paged-kv: contiguous KV reservation against vLLM-style blocks, on one request stream.

A seeded stream of `--requests` requests arrives at `--rate` per step
(Poisson), each with a prompt and an output length drawn uniformly from 16 up
to `--max-prompt` and `--max-output`. engine.paged_kv.simulate_serving serves
the same stream twice on `--capacity` token slots of KV memory, FIFO with
continuous batching (one token per running request per step):

- contiguous: each admitted request reserves `--reserve` slots in one piece
  (the longest a request may become), held until it finishes;
- paged: blocks of `--block` tokens, taken one at a time as a request grows;
  when they run out, the newest requests are preempted and recomputed later.

Waste is allocated minus used slots: for contiguous, reservation waste;
for paged, the unfilled tail of each request's last block (internal
fragmentation). Bytes use the KV size per token of `--preset` at 2 bytes
(engine.accounting.kv_cache_bytes).

Prefix sharing: 8 requests with the same `--system-prompt`, each adding 16 to
64 tokens of its own, in blocks: private copies against blocks shared by
reference count, with a copy-on-write of the shared, partly filled last block.

JSON keys:
- `capacity`, `block`, `reserve`, `requests`, `bytes_per_token`, `capacity_bytes`;
- `schemes`: {contiguous, paged}, each {steps, finished, preemptions,
  mean_running, peak_running, mean_used, mean_allocated, mean_waste,
  utilisation (mean used / allocated), waste_bytes (mean), tokens_per_step};
- `series`: {step, contiguous_used, contiguous_allocated, paged_used,
  paged_allocated}: sampled every few steps for the plot;
- `sharing`: {requests, system_prompt, suffixes, blocks_private, blocks_shared,
  copies, saved_share};
- `takeaway`.
"""

from __future__ import annotations

SHARED = 8
MIN_LEN = 16
SERIES_POINTS = 60
TOKEN_BUDGET = 200_000
ARRIVAL_SPAN = 50_000        # steps over which the stream may arrive


def check(p) -> str | None:
    from engine.config import preset

    if preset(p.preset).arch == "encoder":
        return (f"--preset {p.preset} is an encoder: it keeps no KV cache; choose a decoder "
                "such as llama-2-7b")
    longest = p.max_prompt + p.max_output
    if longest > p.reserve:
        return (f"--reserve {p.reserve} is shorter than the longest request "
                f"(--max-prompt + --max-output = {longest}); raise --reserve")
    if p.reserve > p.capacity:
        return f"--reserve {p.reserve} is above --capacity {p.capacity}"
    if longest + p.block > p.capacity:
        return (f"--capacity {p.capacity} cannot hold one request of {longest} tokens plus a "
                "block; raise --capacity")
    if p.requests / p.rate > ARRIVAL_SPAN:
        return (f"--requests {p.requests} at --rate {p.rate:g} arrive over about "
                f"{p.requests / p.rate:,.0f} steps; the largest --requests allowed at this rate "
                f"is {max(1, int(ARRIVAL_SPAN * p.rate))}")
    # the simulation steps once per generated token of the slowest scheme: bound the tokens
    tokens = p.requests * (p.max_prompt + p.max_output) // 2
    if tokens > TOKEN_BUDGET:
        most = max(1, 2 * TOKEN_BUDGET // (p.max_prompt + p.max_output))
        return (f"--requests {p.requests} of up to {longest:,} tokens is about {tokens:,} "
                f"tokens to simulate; the largest --requests allowed is {most}")
    return None


def _summary(stats, bytes_per_token: int) -> dict:
    busy = stats.allocated > 0
    return {
        "steps": stats.steps, "finished": stats.finished, "preemptions": stats.preemptions,
        "mean_running": float(stats.running.mean()), "peak_running": int(stats.running.max()),
        "mean_used": float(stats.used.mean()), "mean_allocated": float(stats.allocated.mean()),
        "mean_waste": float(stats.waste.mean()),
        "utilisation": float(stats.used[busy].sum() / stats.allocated[busy].sum())
        if busy.any() else 0.0,
        "waste_bytes": float(stats.waste.mean() * bytes_per_token),
        "tokens_per_step": float(stats.used.sum() / stats.steps),
    }


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.accounting import kv_cache_bytes
    from engine.config import preset
    from engine.paged_kv import prefix_sharing, random_requests, simulate_serving

    per_token = kv_cache_bytes(preset(p.preset), 1, 1, 2)
    requests = random_requests(p.requests, rng, (MIN_LEN, p.max_prompt),
                               (MIN_LEN, p.max_output), p.rate)
    stats = {}
    for scheme in progress(("contiguous", "paged"), total=2, description="serving"):
        stats[scheme] = simulate_serving(requests, p.capacity, scheme, block_size=p.block,
                                         reserve=p.reserve)
    schemes = {k: _summary(s, per_token) for k, s in stats.items()}
    n = max(s.steps for s in stats.values())
    idx = np.unique(np.linspace(0, n - 1, SERIES_POINTS).astype(int))

    def at(s, field):
        values = getattr(s, field)
        return [int(values[i]) if i < values.size else 0 for i in idx]

    series = {"step": idx.tolist(),
              "contiguous_used": at(stats["contiguous"], "used"),
              "contiguous_allocated": at(stats["contiguous"], "allocated"),
              "paged_used": at(stats["paged"], "used"),
              "paged_allocated": at(stats["paged"], "allocated")}
    suffixes = rng.integers(16, 65, size=SHARED).tolist()
    share = prefix_sharing(SHARED, p.system_prompt, suffixes, p.block)
    sharing = {"requests": SHARED, "system_prompt": p.system_prompt, "suffixes": suffixes,
               "blocks_private": share.blocks_private, "blocks_shared": share.blocks_shared,
               "copies": share.copies,
               "saved_share": 1 - share.blocks_shared / share.blocks_private}
    result = {"capacity": p.capacity, "block": p.block, "reserve": p.reserve,
              "requests": p.requests, "bytes_per_token": per_token,
              "capacity_bytes": p.capacity * per_token, "schemes": schemes, "series": series,
              "sharing": sharing}
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    c, g = r["schemes"]["contiguous"], r["schemes"]["paged"]
    s = r["sharing"]
    if g["steps"] < c["steps"]:
        effect = (f"so at most {c['peak_running']} requests run at once; blocks of "
                  f"{r['block']} waste only the tail of each last block ({g['utilisation']:.0%} "
                  f"in use), run up to {g['peak_running']} at once and serve the stream in "
                  f"{g['steps']:,} steps instead of {c['steps']:,} ({g['preemptions']} "
                  "preemptions)")
    else:
        effect = (f"against {g['utilisation']:.0%} with blocks of {r['block']}; at this "
                  f"arrival rate memory is not the limit, and both serve the stream in "
                  f"{c['steps']:,} steps")
    return (f"Reserving {r['reserve']:,} tokens per request keeps only "
            f"{c['utilisation']:.0%} of the allocated KV memory in use, {effect}. Sharing a "
            f"{s['system_prompt']}-token system prompt across {s['requests']} requests saves "
            f"{s['saved_share']:.0%} of their blocks, with {s['copies']} copy-on-write copies.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    f = _viz.human_bytes
    intro = Text(f"{result['requests']} requests on {result['capacity']:,} token slots "
                 f"({f(result['capacity_bytes'])} of KV at {result['bytes_per_token']:,} B per "
                 f"token); contiguous reserves {result['reserve']:,}, paged blocks hold "
                 f"{result['block']}.", style="dim")
    c, g = result["schemes"]["contiguous"], result["schemes"]["paged"]
    rows = [("steps to serve all", f"{c['steps']:,}", f"{g['steps']:,}"),
            ("running, mean", f"{c['mean_running']:.1f}", f"{g['mean_running']:.1f}"),
            ("running, peak", str(c["peak_running"]), str(g["peak_running"])),
            ("allocated in use", f"{c['utilisation']:.1%}", f"{g['utilisation']:.1%}"),
            ("wasted slots, mean", f"{c['mean_waste']:,.0f}", f"{g['mean_waste']:,.0f}"),
            ("wasted, mean", f(c["waste_bytes"]), f(g["waste_bytes"])),
            ("preemptions", str(c["preemptions"]), str(g["preemptions"]))]
    table = _viz.table(("", "contiguous", "paged"), rows, title="the same stream, two schemes")
    s = result["series"]
    plot = _viz.line_plot({"contig. alloc": (s["step"], s["contiguous_allocated"]),
                           "contig. used": (s["step"], s["contiguous_used"]),
                           "paged used": (s["step"], s["paged_used"])},
                          title="KV slots over time", xlabel="step", width=54, height=12)
    sh = result["sharing"]
    sharing = _viz.table(("prefix sharing", "blocks"), [
        (f"{sh['requests']} x own copy", str(sh["blocks_private"])),
        ("shared prefix blocks", str(sh["blocks_shared"])),
        ("copy-on-write copies", str(sh["copies"]))],
        title=f"{sh['system_prompt']}-token system prompt + 16-64 own tokens each")
    return _viz.view("Paged KV cache", intro, table, plot, sharing,
                     takeaway=result["takeaway"])
