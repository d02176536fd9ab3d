"""mla: multi-head latent attention caches a small latent per token, and absorption is exact.

KV cache per generated token (one sequence, every layer), from
engine.mla.kv_bytes_per_token, at one model shape: `--layers` layers, `--heads`
query heads whose keys are `--qk-nope-dim` + `--qk-rope-dim` wide and values
`--v-dim` wide (DeepSeek-V3 by default: 61 layers, 128 heads, keys 128 + 64 =
192, values 128), at `--bytes-per` bytes per number:

- MHA caches every head's key and value: heads x (d_k + d_v) numbers per layer;
- GQA caches `--kv-heads` groups of them, MQA one;
- MLA caches the latent c_kv (`--kv-lora-rank` wide, 512) and the one rotary key
  shared by all heads (`--qk-rope-dim`, 64): kv_lora_rank + qk_rope_dim numbers,
  from which every head's key and value are re-expanded.

For DeepSeek-V3's published config (engine.hf_configs) the same cache comes
from engine.accounting.hf_kv_cache_bytes, latent and expanded (every head's
key and value re-expanded from the latent, as a cache of them would hold).

Absorption: a small random MLA layer (d = 64, 4 heads, q_lora_rank 32,
kv_lora_rank 32, keys 16 + 8, values 16, interleaved RoPE, float64, weights
N(0, 1/fan_in)) runs on `--tokens` random inputs twice through
engine.mla.multi_head_latent_attention: expanding the latent into per-head keys
and values, and with W_uk folded into the query and W_uv into W_o, attending
over the cached latents directly. Then the absorbed layer decodes the same
inputs one token at a time from an engine KVCache holding only latents.

JSON keys:
- `shape`: {layers, heads, kv_heads, qk_nope_dim, qk_rope_dim, v_dim, d_k,
  kv_lora_rank, bytes_per};
- `context`; `rows`: [{attention, numbers_per_layer, bytes_per_token, cache_bytes
  (at `context` tokens), vs_mha (MHA's bytes over these), kv_heads_equivalent
  (numbers per layer over d_k + d_v)}] for mha, gqa, mqa, mla;
- `deepseek_v3`: {context, latent_bytes, expanded_bytes} from engine.accounting;
- `layer`: {d_model, heads, q_lora_rank, kv_lora_rank, qk_nope_dim, qk_rope_dim,
  v_dim, tokens}; `max_abs_diff`: max |absorbed - expanded| output;
  `max_abs_output`: max |expanded output| (for scale); `decode_max_abs_diff`:
  token-by-token absorbed decoding against the expanded full pass;
  `cache_nbytes`: bytes the engine's cache holds after decoding;
  `cache_formula_bytes`: kv_bytes_per_token for that layer x tokens (float64);
- `takeaway`.
"""

from __future__ import annotations

LAYER = dict(d_model=64, heads=4, q_lora_rank=32, kv_lora_rank=32, qk_nope_dim=16,
             qk_rope_dim=8, v_dim=16)


def check(p) -> str | None:
    if p.qk_rope_dim % 2:
        return f"--qk-rope-dim {p.qk_rope_dim} must be even (RoPE rotates pairs of dims)"
    if p.kv_heads > p.heads or p.heads % p.kv_heads:
        return (f"--kv-heads {p.kv_heads} must divide --heads {p.heads} (each key/value "
                "head serves a whole group of query heads)")
    return None


def _cache_rows(p) -> list[dict]:
    from engine.mla import kv_bytes_per_token

    d_k = p.qk_nope_dim + p.qk_rope_dim
    common = dict(d_k=d_k, d_v=p.v_dim, bytes_per=p.bytes_per)
    per_token = {
        "mha": kv_bytes_per_token("mha", p.layers, n_head=p.heads, **common),
        "gqa": kv_bytes_per_token("gqa", p.layers, n_kv_head=p.kv_heads, **common),
        "mqa": kv_bytes_per_token("mqa", p.layers, **common),
        "mla": kv_bytes_per_token("mla", p.layers, kv_lora_rank=p.kv_lora_rank,
                                  d_rope=p.qk_rope_dim, bytes_per=p.bytes_per),
    }
    rows = []
    for name, b in per_token.items():
        numbers = b // (p.layers * p.bytes_per)
        rows.append({"attention": name, "numbers_per_layer": numbers, "bytes_per_token": b,
                     "cache_bytes": b * p.context, "vs_mha": per_token["mha"] / b,
                     "kv_heads_equivalent": numbers / (d_k + p.v_dim)})
    return rows


def small_layer(rng):
    """A random MLA layer at LAYER's shape: (MLAConfig, params), O(1) activations."""
    import numpy as np

    from engine.mla import MLAConfig, mla_param_shapes

    s = LAYER
    config = MLAConfig(n_head=s["heads"], kv_lora_rank=s["kv_lora_rank"],
                       qk_nope_head_dim=s["qk_nope_dim"], qk_rope_head_dim=s["qk_rope_dim"],
                       v_head_dim=s["v_dim"], q_lora_rank=s["q_lora_rank"])
    params = {}
    for name, shape in mla_param_shapes("attn", s["d_model"], config).items():
        if name.endswith(".g"):              # norm gains near 1, not exactly (a stronger test)
            params[name] = 1 + 0.1 * rng.standard_normal(shape)
        else:
            params[name] = rng.standard_normal(shape) / np.sqrt(shape[0])
    return config, params


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.accounting import hf_kv_cache_bytes
    from engine.hf_configs import hf_config
    from engine.mla import absorb, kv_bytes_per_token, multi_head_latent_attention
    from engine.model import KVCache

    rows = _cache_rows(p)
    ds = hf_config("deepseek-v3")
    deepseek = {"context": p.context,
                "latent_bytes": hf_kv_cache_bytes(ds, 1, p.context, p.bytes_per),
                "expanded_bytes": hf_kv_cache_bytes(ds, 1, p.context, p.bytes_per,
                                                    latent=False)}

    config, params = small_layer(rng)
    x = rng.standard_normal((1, p.tokens, LAYER["d_model"]))
    expanded = multi_head_latent_attention(x, params, "attn", config)
    absorbed_params = absorb(params, "attn", config)
    absorbed = multi_head_latent_attention(x, absorbed_params, "attn", config, absorb=True)
    cache = KVCache(n_layer=1, max_len=p.tokens)
    steps = []
    for t in progress(range(p.tokens), total=p.tokens, description="decoding"):
        steps.append(multi_head_latent_attention(x[:, t:t + 1], absorbed_params, "attn",
                                                 config, cache=cache.layer(0), absorb=True))
        cache.advance(1)
    decoded = np.concatenate(steps, axis=1)
    layer_bytes = kv_bytes_per_token("mla", 1, kv_lora_rank=config.kv_lora_rank,
                                     d_rope=config.qk_rope_head_dim, bytes_per=8)
    d_k = p.qk_nope_dim + p.qk_rope_dim
    result = {
        "shape": {"layers": p.layers, "heads": p.heads, "kv_heads": p.kv_heads,
                  "qk_nope_dim": p.qk_nope_dim, "qk_rope_dim": p.qk_rope_dim,
                  "v_dim": p.v_dim, "d_k": d_k, "kv_lora_rank": p.kv_lora_rank,
                  "bytes_per": p.bytes_per},
        "context": p.context, "rows": rows, "deepseek_v3": deepseek,
        "layer": {**LAYER, "tokens": p.tokens},
        "max_abs_diff": float(np.max(np.abs(absorbed - expanded))),
        "max_abs_output": float(np.max(np.abs(expanded))),
        "decode_max_abs_diff": float(np.max(np.abs(decoded - expanded))),
        "cache_nbytes": cache.nbytes,
        "cache_formula_bytes": layer_bytes * p.tokens,
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    from tutor.demos._viz import human_bytes

    by = {row["attention"]: row for row in r["rows"]}
    mla, mha, gqa = by["mla"], by["mha"], by["gqa"]
    s = r["shape"]
    return (f"MLA caches {mla['numbers_per_layer']} numbers per token and layer (latent "
            f"{s['kv_lora_rank']} + rotary key {s['qk_rope_dim']}) where MHA caches "
            f"{mha['numbers_per_layer']:,}: {mla['vs_mha']:.0f}x less, "
            f"{human_bytes(mla['cache_bytes'])} against {human_bytes(mha['cache_bytes'])} at "
            f"{r['context']:,} tokens, about as much as GQA with "
            f"{mla['kv_heads_equivalent']:.1f} KV heads ({s['kv_heads']} heads: "
            f"{human_bytes(gqa['cache_bytes'])}). Folding W_uk and W_uv into the query and "
            f"output changes the output by at most {r['max_abs_diff']:.1e}, so attention can "
            "run on the cached latents directly.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    s = result["shape"]
    shapes = Text(
        f"{s['layers']} layers, {s['heads']} query heads; per head keys "
        f"{s['qk_nope_dim']} + {s['qk_rope_dim']} (RoPE) = {s['d_k']}, values {s['v_dim']}.\n"
        f"MHA: {s['heads']} x ({s['d_k']} + {s['v_dim']}); GQA: {s['kv_heads']} x; MQA: 1 x; "
        f"MLA: latent {s['kv_lora_rank']} + shared RoPE key {s['qk_rope_dim']}. "
        f"{s['bytes_per']} bytes each.", style="dim")
    names = {"mha": "MHA", "gqa": f"GQA ({s['kv_heads']})", "mqa": "MQA", "mla": "MLA"}
    table = _viz.table(("cache", "per layer", "per token", f"{result['context']:,} tok",
                        "saving"), [
        (names[r["attention"]], f"{r['numbers_per_layer']:,}",
         _viz.human_bytes(r["bytes_per_token"]), _viz.human_bytes(r["cache_bytes"]),
         f"{r['vs_mha']:.1f}x") for r in result["rows"]],
        title="KV cache of one sequence")
    mla = next(r for r in result["rows"] if r["attention"] == "mla")
    ds = result["deepseek_v3"]
    formula = Text(
        f"MLA: ({s['kv_lora_rank']} + {s['qk_rope_dim']}) x {s['layers']} x {s['bytes_per']} "
        f"B = {mla['bytes_per_token']:,} B per token, as much as GQA with "
        f"{mla['kv_heads_equivalent']:.2f} KV heads.\nDeepSeek-V3's config.json "
        f"(engine.accounting): latent {_viz.human_bytes(ds['latent_bytes'])}, expanded per "
        f"head {_viz.human_bytes(ds['expanded_bytes'])} at {ds['context']:,} tokens.",
        style="bold")
    lay = result["layer"]
    exact = Text(
        f"Small MLA layer (d={lay['d_model']}, {lay['heads']} heads, latent "
        f"{lay['kv_lora_rank']}, keys {lay['qk_nope_dim']}+{lay['qk_rope_dim']}, float64), "
        f"{lay['tokens']} tokens:\n"
        f"absorbed vs expanded: max |diff| = {result['max_abs_diff']:.1e} "
        f"(outputs up to {result['max_abs_output']:.2f})\n"
        f"decoded one token at a time from latents: {result['decode_max_abs_diff']:.1e}\n"
        f"cache held {result['cache_nbytes']:,} B; formula "
        f"{result['cache_formula_bytes']:,} B.")
    return _viz.view("multi-head latent attention", shapes, table, formula, exact,
                     takeaway=result["takeaway"])
