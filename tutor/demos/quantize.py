"""quantize: int8 and int4 weights of an engine model, and what outlier features do.

The model is a small random GPT-2-style engine decoder (engine.model,
d = 64, 2 blocks, GELU FFN of 256, 256-token vocabulary, float64) run on 4 x 32
random tokens. Every 2-D weight of its blocks and its output head is replaced
by its quantized-then-dequantized copy (engine.quantize.fake_quantize; weights
are grouped along their input axis, as GPTQ and AWQ do), and the logits are
compared with the float model's: the relative RMS error, the mean KL from the
float next-token distribution, and how often the top token stays the same.
NF4 (QLoRA's 4-bit type, one absmax per 64 weights) is the last row.

One-sided values: the model's own FFN activations after GELU (block 0, computed
through its attention sublayer and norm), quantized per tensor with absmax and
with a zero point.

Outliers: the same FFN inputs x (normed, about unit scale) with one feature
multiplied by `--outlier`, as the emergent features of large models are
(Dettmers et al. 2022), through the up-projection y = x W_up:
- W8A8 int8 with one scale per tensor, and vector-wise (per row of x, per column of W);
- LLM.int8: vector-wise, plus the feature columns with |x| > `--threshold` in fp16;
- W4 weight-only, groups of `--group-size`, without and with AWQ's per-channel
  scaling (alpha chosen by AWQ's grid search on the same x).

JSON keys:
- `model`: {d_model, n_layer, d_ff, vocab, tokens};
- `weights`: [{label, bits, scheme, group_size, bits_per_weight, logit_rel_error,
  kl, top1_agreement}];
- `one_sided`: [{bits, scheme, rel_error}] for the post-GELU activations, and
  `activation_min` (their most negative value);
- `outlier`: {channel, factor, threshold, outlier_columns, methods: [{name,
  rel_error}], clean_rel_error (per-tensor int8 without the outlier),
  awq_alpha, awq_errors (relative, one per alpha in awq_alphas), awq_alphas};
- `takeaway`.
"""

from __future__ import annotations

D_MODEL, N_LAYER, VOCAB = 64, 2, 256
TOKENS = (4, 32)
NF4_BLOCK = 64


def check(p) -> str | None:
    if D_MODEL % p.group_size:
        ok = [g for g in range(2, D_MODEL + 1) if D_MODEL % g == 0]
        return (f"--group-size {p.group_size} must divide the model width {D_MODEL}: one of "
                f"{', '.join(map(str, ok))}")
    return None


def _model(rng):
    import numpy as np

    from engine.config import ModelConfig
    from engine.model import init_params

    config = ModelConfig(name="tiny-gpt", vocab_size=VOCAB, n_ctx=TOKENS[1], d_model=D_MODEL,
                         n_layer=N_LAYER, n_head=4, activation="gelu", tie_embeddings=False)
    return config, init_params(config, rng, np.float64)


def _quantized(params, fn):
    # every 2-D weight of the blocks and the head through fn; embeddings and norms stay
    out = dict(params)
    sizes = bits = 0
    for name, w in params.items():
        if w.ndim == 2 and (name.startswith("blocks.") or name == "lm_head"):
            out[name], b = fn(w)
            sizes += w.size
            bits += b
    return out, bits / sizes


def _compare(logits, ref) -> tuple[float, float, float]:
    import numpy as np

    from engine.functional import log_softmax

    centred = ref - ref.mean(-1, keepdims=True)
    rel = float(np.linalg.norm(logits - ref) / np.linalg.norm(centred))
    lp, lq = log_softmax(ref), log_softmax(logits)
    kl = float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=-1)))
    top1 = float(np.mean(np.argmax(logits, -1) == np.argmax(ref, -1)))
    return rel, kl, top1


def _ffn_inputs(config, params, ids):
    """Block 0's FFN input (normed residual after attention) and its post-GELU hidden layer."""
    from engine.functional import gelu, linear
    from engine.model import decoder, multi_head_attention, norm

    h = decoder(ids, params, config, return_hidden=True).hidden_states[0]      # (b, n, d)
    attn = multi_head_attention(norm(h, params, "blocks.0.attn_norm", config), params,
                                "blocks.0.attn", config.n_head, is_causal=True)
    x = norm(h + attn, params, "blocks.0.ffn_norm", config)                    # (b, n, d)
    act = gelu(linear(x, params["blocks.0.ffn.w_up"], params.get("blocks.0.ffn.b_up")))
    return x.reshape(-1, config.d_model), act.reshape(-1, config.ffn_dim)


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.model import decoder
    from engine.quantize import (
        awq_matmul,
        awq_search,
        dequantize,
        fake_quantize,
        int8_matmul,
        nf4_dequantize,
        nf4_quantize,
        quantize,
    )
    from tutor.demos._timing import one_blas_thread

    config, params = _model(rng)
    ids = rng.integers(0, VOCAB, size=TOKENS)
    names = {"absmax": "absmax", "zeropoint": "zero-pt"}
    settings = [(f"int{b} {names[s]}, {'tensor' if g is None else f'g{g}'}", b, s, g)
                for b in (8, 4) for s in ("absmax", "zeropoint") for g in (None, p.group_size)]
    with one_blas_thread():
        ref = decoder(ids, params, config)
        weights = []
        for label, b, scheme, g in progress(settings, total=len(settings) + 1,
                                            description="quantized models"):
            def fn(w, b=b, scheme=scheme, g=g):
                q = quantize(w, b, scheme, g, axis=0)
                return dequantize(q), q.nbits
            qp, bpw = _quantized(params, fn)
            rel, kl, top1 = _compare(decoder(ids, qp, config), ref)
            weights.append({"label": label, "bits": b, "scheme": scheme, "group_size": g,
                            "bits_per_weight": bpw, "logit_rel_error": rel, "kl": kl,
                            "top1_agreement": top1})

        def nf4(w):
            t = nf4_quantize(w, block=NF4_BLOCK)
            return nf4_dequantize(t), t.nbits
        qp, bpw = _quantized(params, nf4)
        rel, kl, top1 = _compare(decoder(ids, qp, config), ref)
        weights.append({"label": f"NF4, block {NF4_BLOCK}", "bits": 4, "scheme": "nf4",
                        "group_size": NF4_BLOCK, "bits_per_weight": bpw,
                        "logit_rel_error": rel, "kl": kl, "top1_agreement": top1})

        x, act = _ffn_inputs(config, params, ids)
        one_sided = []
        for b in (8, 4):
            for scheme in ("absmax", "zeropoint"):
                err = np.linalg.norm(fake_quantize(act, b, scheme, None) - act)
                one_sided.append({"bits": b, "scheme": scheme,
                                  "rel_error": float(err / np.linalg.norm(act))})

        w_up = params["blocks.0.ffn.w_up"]
        channel = int(np.argmax(np.mean(np.abs(x), axis=0)))
        xo = x.copy()
        xo[:, channel] *= p.outlier
        y = xo @ w_up

        def rel(out, target=y):
            return float(np.linalg.norm(out - target) / np.linalg.norm(target))

        alpha, errors = awq_search(xo, w_up, bits=4, group_size=p.group_size)
        methods = [
            ("W8A8 int8, per tensor", rel(int8_matmul(xo, w_up, per_tensor=True))),
            ("W8A8 int8, vector-wise", rel(int8_matmul(xo, w_up))),
            (f"LLM.int8 (|x| > {p.threshold:g} in fp16)",
             rel(int8_matmul(xo, w_up, threshold=p.threshold))),
            (f"W4 g{p.group_size}, weight-only",
             rel(xo @ fake_quantize(w_up, 4, "absmax", p.group_size))),
            (f"W4 g{p.group_size} + AWQ (alpha {alpha:g})",
             rel(awq_matmul(xo, w_up, alpha, 4, p.group_size))),
        ]
        outliers = np.any(np.abs(xo) > p.threshold, axis=0)
        clean = rel(int8_matmul(x, w_up, per_tensor=True), x @ w_up)
    outlier = {"channel": channel, "factor": p.outlier, "threshold": p.threshold,
               "outlier_columns": np.flatnonzero(outliers).tolist(),
               "methods": [{"name": n, "rel_error": e} for n, e in methods],
               "clean_rel_error": clean, "awq_alpha": alpha,
               "awq_errors": (errors / np.linalg.norm(y)).tolist(),
               "awq_alphas": (np.arange(errors.size) / (errors.size - 1)).tolist()}
    result = {
        "model": {"d_model": D_MODEL, "n_layer": N_LAYER, "d_ff": config.ffn_dim,
                  "vocab": VOCAB, "tokens": int(np.prod(TOKENS))},
        "weights": weights, "one_sided": one_sided, "activation_min": float(act.min()),
        "outlier": outlier,
    }
    result["takeaway"] = _takeaway(result, p.group_size)
    return result


def _takeaway(r: dict, g: int) -> str:
    w = {(x["bits"], x["scheme"], x["group_size"]): x for x in r["weights"]}
    t4, g4 = w[4, "absmax", None], w[4, "absmax", g]
    m = {x["name"]: x["rel_error"] for x in r["outlier"]["methods"]}
    names = list(m)
    o = r["outlier"]
    return (f"int8 barely moves the logits ({w[8, 'absmax', None]['logit_rel_error']:.1%}); int4 "
            f"with one scale per tensor errs {t4['logit_rel_error']:.1%}, with groups of {g} "
            f"{g4['logit_rel_error']:.1%}. A feature {o['factor']:g}x larger than the rest "
            f"takes per-tensor int8 from {o['clean_rel_error']:.1%} to "
            f"{m[names[0]]:.1%} error; LLM.int8 keeps it in fp16 ({m[names[2]]:.2%}), and AWQ "
            f"scaling takes int4 from {m[names[3]]:.1%} to {m[names[4]]:.1%}.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    m = result["model"]
    intro = Text(f"Random engine decoder: d={m['d_model']}, {m['n_layer']} blocks, FFN "
                 f"{m['d_ff']}, {m['tokens']} tokens; all block weights and the head "
                 "quantized, logits against float64.", style="dim")
    weights = _viz.table(("weights", "bits/w", "logit err", "top-1"), [
        (w["label"], f"{w['bits_per_weight']:.2f}", f"{w['logit_rel_error']:.2%}",
         f"{w['top1_agreement']:.0%}") for w in result["weights"]],
        title="every weight quantized: logits against float")
    one = _viz.table(("post-GELU", "absmax", "zero-point"), [
        (f"int{b}", *(f"{r['rel_error']:.2%}" for r in result["one_sided"] if r["bits"] == b))
        for b in (8, 4)], title="post-GELU activations, one scale")
    o = result["outlier"]
    outlier = _viz.bars([(x["name"], x["rel_error"], f"{x['rel_error']:.2%}")
                         for x in o["methods"]], width=14,
                        title=f"x W_up with feature {o['channel']} x {o['factor']:g}: error")
    note = Text(f"Without the outlier, per-tensor int8 errs {o['clean_rel_error']:.2%}. "
                f"Columns over the threshold: {o['outlier_columns']}. Post-GELU values "
                f"reach down only to {result['activation_min']:.2f}: absmax wastes its "
                "negative half.", style="dim")
    return _viz.view("Quantization", intro, weights, one, outlier, note,
                     takeaway=result["takeaway"])
