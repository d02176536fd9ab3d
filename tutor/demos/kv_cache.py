"""kv-cache: generation with and without a KV cache gives the same tokens for less work.

A small random GPT-2 (width `--d-model`, `--layers` blocks, 256-token
vocabulary, untied output head, float32) generates `--new-tokens` tokens greedily twice: once
recomputing the whole sequence every step, once feeding only the newest token
and reusing the cached keys and values. Both runs are timed step by step, so
the time to generate the first t tokens, and the speed-up, come from the same
two runs. The cache-size table is arithmetic for the real presets:
2 (K and V) x batch x tokens x layers x KV heads x head width x bytes.

JSON keys:
- `model`: {d_model, n_layer, n_head, vocab_size, prompt_len, new_tokens};
- `tokens`: the greedy tokens (cached run); `same_tokens`: cached == recomputed;
  `max_logit_diff`: largest |logit difference| over all steps;
- `timing`: [{tokens, cached_s, uncached_s, speedup, flop_ratio}]: cumulative seconds
  after that many new tokens (measured; varies run to run) and the ratio of matmul
  FLOPs (engine.accounting; recomputing scores all positions densely); `speedup`:
  the measured speed-up at the end;
- `cache_nbytes`: bytes the engine's cache holds for the small model;
  `cache_formula_bytes`: the formula for the same model (float32);
- `preset`, `context`, `bytes_per`, `cache_bytes`: the chosen preset's cache, and
  `chosen`: {n_layer, n_kv_head, head_dim} of that preset;
- `presets`: [{name, n_layer, n_head, n_kv_head, head_dim, bytes, mha_bytes, saving}]
  for every preset that generates (saving = mha_bytes / bytes, GQA's gain);
- `takeaway`.
"""

from __future__ import annotations

import math
import time

from tutor.demos._timing import one_blas_thread

PROMPT_LEN = 8
VOCAB = 256
BUDGET_S = 6.0          # estimated CPU seconds of both runs (the defaults: about 0.3)
BUDGET_BYTES = 700 * 2**20   # the timed model's float32 weights, with room for the caches
# measured on float32 with one BLAS thread: matmul time per FLOP, time per attention score
# (scores, mask, softmax, weights times values), the fixed cost of one block call, and the
# time to draw one weight
_NS_PER_FLOP, _NS_PER_SCORE, _NS_PER_BLOCK, _NS_PER_WEIGHT = 0.04, 35.0, 300_000.0, 30.0


def _heads(d_model: int) -> int:
    return next(h for h in (4, 2, 1) if d_model % h == 0)


def _recompute_flops(d_model: int, layers: int, new_tokens: int) -> float:
    """Matmul FLOPs of generating without a cache: every step reruns the prefix."""
    per_token = 24 * layers * d_model ** 2 + 2 * d_model * VOCAB
    return per_token * sum(PROMPT_LEN + t for t in range(new_tokens))


def _weights(d_model: int, layers: int) -> int:
    return 12 * layers * d_model**2 + 2 * VOCAB * d_model


def estimate_bytes(d_model: int, layers: int) -> int:
    """The float32 weights and one float64 tensor while it is drawn."""
    return 4 * _weights(d_model, layers) + 8 * 4 * d_model**2


def estimate_s(d_model: int, layers: int, new_tokens: int) -> float:
    """CPU seconds: drawing the weights; the recomputing run's matmuls and its n^2 attention
    scores at every step; one call per block per step for each of the two runs (the
    cached run's own matmuls and scores are a small fraction of the recomputing run's)."""
    heads = _heads(d_model)
    scores = layers * heads * sum((PROMPT_LEN + t) ** 2 for t in range(new_tokens))
    calls = 2 * (new_tokens + 2) * layers
    return (_recompute_flops(d_model, layers, new_tokens) * _NS_PER_FLOP
            + scores * _NS_PER_SCORE + calls * _NS_PER_BLOCK
            + _weights(d_model, layers) * _NS_PER_WEIGHT) * 1e-9


def check(p) -> str | None:
    from engine.config import preset

    if preset(p.preset).arch == "encoder":
        return (f"--preset {p.preset} is an encoder: it reads the whole input at once and has "
                "no KV cache; choose a decoder such as llama-2-7b")
    from tutor.demos._bounds import largest

    if estimate_bytes(p.d_model, p.layers) > BUDGET_BYTES:
        most = largest(1, p.layers, lambda n: estimate_bytes(p.d_model, n) <= BUDGET_BYTES)
        size = estimate_bytes(p.d_model, p.layers) / 2**20
        if most is None:
            return (f"--d-model {p.d_model} needs {size:,.0f} MiB of weights even for one "
                    "layer; use a smaller --d-model")
        return (f"--layers {p.layers} at --d-model {p.d_model} needs {size:,.0f} MiB of "
                f"weights; the largest --layers allowed with these is {most}")
    cost = estimate_s(p.d_model, p.layers, p.new_tokens)
    if cost <= BUDGET_S:
        return None

    most = largest(1, p.new_tokens, lambda t: estimate_s(p.d_model, p.layers, t) <= BUDGET_S)
    if most is None:
        return (f"--d-model {p.d_model} with --layers {p.layers} is too large to time "
                "here even for one token; use a smaller --d-model or fewer --layers")
    return (f"--new-tokens {p.new_tokens} at --d-model {p.d_model} and --layers {p.layers} "
            f"would take about {cost:.0f} s to time without the cache; the largest "
            f"--new-tokens allowed with these is {most}")


def _generate(model, prompt, steps: int, use_cache: bool, progress, description: str):
    """Greedy tokens, each step's last logits, the cumulative time per step, and the cache."""
    import numpy as np

    cache = model.new_cache(prompt.shape[-1] + steps) if use_cache else None
    ids, step_input = prompt, prompt
    tokens, logits, times = [], [], []
    start = time.perf_counter()
    for _ in progress(range(steps), total=steps, description=description):
        out = model(step_input if use_cache else ids, cache=cache)[0, -1]   # (vocab,)
        token = int(np.argmax(out))
        tokens.append(token)
        logits.append(out)
        ids = np.concatenate([ids, [[token]]], axis=-1)
        step_input = np.array([[token]])
        times.append(time.perf_counter() - start)
    return tokens, np.stack(logits), times, cache


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.accounting import forward_flops_per_token, kv_cache_bytes
    from engine.config import PRESETS, preset
    from engine.gpt2 import GPT2, gpt2_config

    steps = p.new_tokens
    config = gpt2_config(vocab_size=VOCAB, n_ctx=PROMPT_LEN + steps, d_model=p.d_model,
                         n_layer=p.layers, n_head=_heads(p.d_model))
    # an untied head: a random tied one mostly predicts the token it was fed, and a run of
    # one repeated token would make "same tokens" a weak check
    config = config.replace(tie_embeddings=False)
    model = GPT2.from_config(config, rng, dtype=np.float32)
    prompt = rng.integers(0, VOCAB, size=(1, PROMPT_LEN))
    with one_blas_thread():
        _generate(model, prompt, min(2, steps), True, lambda x, **_: x, "")   # warm up
        cached, cached_logits, cached_t, cache = _generate(model, prompt, steps, True,
                                                           progress, "with the cache")
        plain, plain_logits, plain_t, _ = _generate(model, prompt, steps, False, progress,
                                                    "recomputing")
    checkpoints = sorted({min(2 ** i, steps) for i in range(int(math.log2(steps)) + 1)} | {steps})
    # matmul FLOPs of step t: the cache runs one token against c = prompt + t - 1 keys; the
    # recompute runs all c tokens, each scored against all c keys (dense, masked)
    contexts = [PROMPT_LEN + t for t in range(steps)]
    cached_flops = np.cumsum([forward_flops_per_token(config, c).total for c in contexts])
    plain_flops = np.cumsum([c * forward_flops_per_token(config, c).total for c in contexts])
    timing = [{"tokens": t, "cached_s": cached_t[t - 1], "uncached_s": plain_t[t - 1],
               "speedup": plain_t[t - 1] / cached_t[t - 1],
               "flop_ratio": float(plain_flops[t - 1] / cached_flops[t - 1])}
              for t in checkpoints]

    total_len = PROMPT_LEN + steps
    chosen = preset(p.preset)
    presets = []
    for name, c in PRESETS.items():
        if c.arch == "encoder":
            continue
        size = kv_cache_bytes(c, 1, p.context, p.bytes_per)
        mha = kv_cache_bytes(c.replace(n_kv_head=None), 1, p.context, p.bytes_per)
        layers = c.decoder_layers if c.arch == "encoder-decoder" else c.n_layer
        presets.append({"name": name, "n_layer": layers, "n_head": c.n_head,
                        "n_kv_head": c.kv_heads, "head_dim": c.head_dim, "bytes": size,
                        "mha_bytes": mha, "saving": mha / size})
    cache_bytes = kv_cache_bytes(chosen, 1, p.context, p.bytes_per)
    same = cached == plain
    gqa = [r for r in presets if r["saving"] > 1]
    gqa_text = ("; grouped-query attention cuts it " + ", ".join(
        f"{r['saving']:.0f}x for {r['name']}" for r in gqa) if gqa else "")
    takeaway = (
        f"The cache {'changes no token' if same else 'CHANGED THE TOKENS'} "
        f"(max logit difference {float(np.max(np.abs(cached_logits - plain_logits))):.1e}) "
        f"and made {steps} tokens {timing[-1]['speedup']:.1f}x faster here (it saves "
        f"{timing[-1]['flop_ratio']:.0f}x the matmul FLOPs; per-step overhead eats the rest "
        f"at this size). It costs memory: "
        f"{p.preset} holds {_gib(cache_bytes)} for {p.context:,} tokens at "
        f"{p.bytes_per} bytes{gqa_text}.")
    return {
        "model": {"d_model": p.d_model, "n_layer": p.layers, "n_head": config.n_head,
                  "vocab_size": VOCAB, "prompt_len": PROMPT_LEN, "new_tokens": steps},
        "tokens": cached,
        "same_tokens": same,
        "max_logit_diff": float(np.max(np.abs(cached_logits - plain_logits))),
        "timing": timing,
        "speedup": timing[-1]["speedup"],
        "cache_nbytes": cache.nbytes,
        "cache_formula_bytes": kv_cache_bytes(config, 1, total_len, 4),
        "preset": p.preset,
        "context": p.context,
        "bytes_per": p.bytes_per,
        "cache_bytes": cache_bytes,
        "chosen": {"n_layer": chosen.decoder_layers if chosen.arch == "encoder-decoder"
                   else chosen.n_layer, "n_kv_head": chosen.kv_heads,
                   "head_dim": chosen.head_dim},
        "presets": presets,
        "takeaway": takeaway,
    }


def _gib(n: float) -> str:
    from tutor.demos._viz import human_bytes

    return human_bytes(n)


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    m = result["model"]
    same = Text(
        f"Random GPT-2: d={m['d_model']}, {m['n_layer']} layers, {m['n_head']} heads, "
        f"prompt {m['prompt_len']} + {m['new_tokens']} greedy tokens.\n"
        f"Same tokens with and without the cache: {'yes' if result['same_tokens'] else 'NO'}; "
        f"max |logit diff| = {result['max_logit_diff']:.1e}.\n"
        f"Engine cache for it: {result['cache_nbytes']:,} bytes; formula: "
        f"{result['cache_formula_bytes']:,}.")
    timing = _viz.table(("tokens", "cached", "recompute", "speed-up", "FLOPs"), [
        (f"{t['tokens']}", f"{1e3 * t['cached_s']:.1f} ms", f"{1e3 * t['uncached_s']:.1f} ms",
         f"{t['speedup']:.1f}x", f"{t['flop_ratio']:.0f}x") for t in result["timing"]],
        title="cumulative; speed-up measured, FLOPs ratio counted")
    plot = None
    if len(result["timing"]) >= 3:
        xs = [t["tokens"] for t in result["timing"]]
        plot = _viz.line_plot({"recompute": (xs, [1e3 * t["uncached_s"] for t in result["timing"]]),
                               "cached": (xs, [1e3 * t["cached_s"] for t in result["timing"]])},
                              title="ms to generate t tokens", xlabel="t", width=54, height=12)
    c = result["chosen"]
    formula = Text(
        f"{result['preset']}, {result['context']:,} tokens: 2 x {result['context']:,} x "
        f"{c['n_layer']} layers x {c['n_kv_head']} KV heads x {c['head_dim']} x "
        f"{result['bytes_per']} B = {result['cache_bytes']:,} B = "
        f"{_gib(result['cache_bytes'])}", style="bold")
    sizes = _viz.table(("model", "q/kv heads", "KV cache", "GQA saves"), [
        (r["name"], f"{r['n_head']}/{r['n_kv_head']}", _gib(r["bytes"]),
         f"{r['saving']:.0f}x" if r["saving"] > 1 else "-") for r in result["presets"]],
        title=f"batch 1, {result['context']:,} tokens, {result['bytes_per']} bytes each")
    return _viz.view("KV cache", same, timing, plot, formula, sizes,
                     takeaway=result["takeaway"])
