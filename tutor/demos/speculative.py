"""speculative: a draft model proposes, the target verifies, and the output is the target's.

Target: a small random GPT-2-style engine decoder (64-token vocabulary, d = 64,
2 blocks, untied head, float64), with token embeddings at 6x GPT-2's scale and
the head rescaled so its logits after the prompt have a standard deviation of
2, so its next-token distributions are peaked like a language model's (as in
the decoding demo). Draft: the same model with Gaussian noise of `--noise`
times each weight matrix's standard deviation added (`--draft noise`), or the
target's first block only, with its final norm and head (`--draft shallow`).

Generation runs engine.speculative.speculative_generate (both models keep a
KV cache, rolled back past rejected tokens, so each call runs only the new
tokens): each step the draft samples `--gamma` tokens, the target scores them
in one call, each is kept with probability min(1, p/q), the first rejection is
replaced by a draw from norm(max(0, p - q)), and a fully accepted step earns a
bonus token.

Distribution check: after the prompt, `--draws` independent first tokens come
from the acceptance rule (draft draw, accept or resample); their empirical
distribution is compared with the target's next-token distribution p by total
variation, next to the same number of direct draws from p (the sampling noise
floor) and to the draft's own distribution q.

JSON keys:
- `model`: {vocab, d_model, n_layer, draft, draft_layers, noise, prompt_len};
  `gamma`; `generated`: the new token ids;
- `target_calls`, `draft_calls`, `plain_target_calls` (one per token without a draft);
  `accepted_per_step`: drafts kept at each target call;
- `acceptance`: drafted tokens accepted / drafted tokens examined; `alpha_mean`: mean
  of sum min(p, q) over the examined positions (its expectation);
- `tokens_per_call`: tokens emitted per target call; `formula_tokens_per_call`:
  (1 - a^(gamma+1)) / (1 - a) at a = acceptance;
- `cost_ratio`: the draft's forward FLOPs per token over the target's (engine.accounting);
- `sweep`: [{gamma, tokens_per_call, speedup}]: the formula at the measured
  acceptance, and the speed-up (1 - a^(g+1)) / ((1 - a)(g c + 1)) for each c in `costs`;
  `costs`: the draft cost ratios c of the sweep;
- `draws`, `tv_distance` (target p against the speculative sampler's empirical
  distribution), `tv_direct` (p against as many direct draws from p), `tv_draft`
  (p against the draft's q), `first_acceptance` (share of the draws accepted) and
  `first_alpha` (sum min(p, q) there);
- `takeaway`.
"""

from __future__ import annotations

VOCAB, D_MODEL, N_LAYER, PROMPT_LEN = 64, 64, 2, 8
LOGIT_STD, EMBED_SCALE = 2.0, 6.0
COSTS = (0.05, 0.2)
WORK = 2400          # tokens x (gamma + 1): forward passes the generation may take


def check(p) -> str | None:
    if p.tokens * (p.gamma + 1) > WORK:
        return (f"--tokens {p.tokens} with --gamma {p.gamma} would take up to "
                f"{p.tokens * (p.gamma + 1):,} forward passes; the largest --tokens allowed "
                f"is {WORK // (p.gamma + 1)}")
    return None


def build_models(rng, draft: str, noise: float):
    """(target config, target params, draft config, draft params, prompt ids)."""
    import numpy as np

    from engine.gpt2 import gpt2_config
    from engine.model import decoder, init_params

    config = gpt2_config(vocab_size=VOCAB, n_ctx=1024, d_model=D_MODEL, n_layer=N_LAYER,
                         n_head=4).replace(tie_embeddings=False)
    params = init_params(config, rng, np.float64)
    params["tok_emb"] = params["tok_emb"] * EMBED_SCALE
    prompt = rng.integers(0, VOCAB, size=PROMPT_LEN)
    logits = decoder(prompt, params, config)[-1]
    params["lm_head"] = params["lm_head"] * (LOGIT_STD / logits.std())
    if draft == "shallow":
        d_config = config.replace(n_layer=1)
        d_params = {k: v for k, v in params.items() if not k.startswith("blocks.1.")}
    else:
        d_config = config
        d_params = {k: v + noise * v.std() * rng.standard_normal(v.shape) if v.ndim == 2
                    else v for k, v in params.items()}
    return config, params, d_config, d_params, prompt


class PrefixCached:
    """A ProbsFn for engine.speculative that reruns only what changed since the last call.

    It keeps the model's KV cache and next-token distributions for the ids it has seen;
    a call with ids that share a prefix with them rolls the cache back to that prefix
    (dropping rejected draft tokens) and runs only the rest.
    """

    def __init__(self, params, config):
        from engine.model import KVCache

        self.params, self.config = params, config
        self.cache = KVCache(config.n_layer, config.n_ctx)
        self.ids = self.probs = None

    def __call__(self, ids):
        import numpy as np

        from engine.functional import softmax
        from engine.model import decoder

        ids = np.asarray(ids)
        keep = 0
        if self.ids is not None:
            n = min(len(ids), len(self.ids))
            same = ids[:n] == self.ids[:n]
            keep = n if same.all() else int(np.argmin(same))
            keep = min(keep, len(ids) - 1)                # always run at least the last token
        self.cache.length = keep                          # later rows are overwritten
        new = softmax(decoder(ids[keep:], self.params, self.config, cache=self.cache), axis=-1)
        self.probs = new if keep == 0 else np.concatenate([self.probs[:keep], new])
        self.ids = ids.copy()
        return self.probs


def compute(p, rng, progress) -> dict:
    import numpy as np

    from engine.accounting import forward_flops_per_token
    from engine.sampling import sample_from
    from engine.speculative import (
        acceptance_rate,
        expected_speedup,
        expected_tokens_per_call,
        speculative_generate,
        speculative_sample,
        total_variation,
    )
    from tutor.demos._timing import one_blas_thread

    config, params, d_config, d_params, prompt = build_models(rng, p.draft, p.noise)
    target, draft = PrefixCached(params, config), PrefixCached(d_params, d_config)
    with one_blas_thread():
        run = speculative_generate(target, draft, prompt, p.tokens, p.gamma, rng)
        p0, q0 = target(prompt)[-1], draft(prompt)[-1]
    tokens, accepted = speculative_sample(p0, q0, p.draws, rng)
    empirical = np.bincount(tokens, minlength=VOCAB) / p.draws
    direct = np.bincount(sample_from(p0, rng, size=p.draws), minlength=VOCAB) / p.draws

    a = run.acceptance
    ctx = PROMPT_LEN + p.tokens
    cost = (forward_flops_per_token(d_config, ctx).total
            / forward_flops_per_token(config, ctx).total)
    sweep = [{"gamma": g, "tokens_per_call": expected_tokens_per_call(a, g),
              "speedup": [expected_speedup(a, g, c) for c in COSTS]} for g in range(1, 9)]
    result = {
        "model": {"vocab": VOCAB, "d_model": D_MODEL, "n_layer": N_LAYER, "draft": p.draft,
                  "draft_layers": d_config.n_layer, "noise": p.noise if p.draft == "noise"
                  else 0.0, "prompt_len": PROMPT_LEN},
        "gamma": p.gamma, "generated": run.tokens,
        "target_calls": run.target_calls, "draft_calls": run.draft_calls,
        "accepted_per_step": run.accepted,
        "plain_target_calls": p.tokens,
        "acceptance": a, "alpha_mean": float(np.mean(run.alpha)),
        "tokens_per_call": run.tokens_per_call,
        "formula_tokens_per_call": expected_tokens_per_call(a, p.gamma),
        "cost_ratio": cost, "sweep": sweep, "costs": list(COSTS),
        "draws": p.draws, "tv_distance": float(total_variation(p0, empirical)),
        "tv_direct": float(total_variation(p0, direct)),
        "tv_draft": float(total_variation(p0, q0)),
        "first_acceptance": float(accepted.mean()),
        "first_alpha": float(acceptance_rate(p0, q0)),
    }
    result["takeaway"] = _takeaway(result)
    return result


def _takeaway(r: dict) -> str:
    best = max(r["sweep"], key=lambda s: s["speedup"][0])
    return (f"The draft's tokens were accepted {r['acceptance']:.0%} of the time "
            f"(expected {r['alpha_mean']:.0%}), so each target call gave "
            f"{r['tokens_per_call']:.2f} tokens against {r['formula_tokens_per_call']:.2f} from "
            f"(1 - a^(g+1))/(1 - a): {r['target_calls']} target calls instead of "
            f"{r['plain_target_calls']}. The output is still the target's: "
            f"{r['draws']:,} speculative draws are {r['tv_distance']:.4f} from it in total "
            f"variation ({r['tv_direct']:.4f} for direct draws), the draft alone "
            f"{r['tv_draft']:.2f}. With a draft {r['costs'][0]:g}x the cost, gamma = "
            f"{best['gamma']} would be {best['speedup'][0]:.1f}x faster.")


def render(result: dict):
    from rich.text import Text

    from tutor.demos import _viz

    m = result["model"]
    kind = (f"target + noise {m['noise']:g} x std" if m["draft"] == "noise"
            else f"target's first {m['draft_layers']} block")
    intro = Text(f"Random engine decoder, vocab {m['vocab']}, d={m['d_model']}, "
                 f"{m['n_layer']} blocks; draft: {kind}. gamma = {result['gamma']}.",
                 style="dim")
    run = _viz.table(("measured", "value", "formula"), [
        ("acceptance a", f"{result['acceptance']:.3f}", f"{result['alpha_mean']:.3f}"),
        ("tokens / target call", f"{result['tokens_per_call']:.2f}",
         f"{result['formula_tokens_per_call']:.2f}"),
        ("target calls", str(result["target_calls"]), f"{result['plain_target_calls']} plain"),
        ("draft calls", str(result["draft_calls"]), ""),
    ], title=f"generating {len(result['generated'])} tokens")
    note = Text("formula: E[sum min(p, q)] for a; (1 - a^(g+1))/(1 - a) per call", style="dim")
    c = result["costs"]
    sweep = _viz.table(("gamma", "tokens/call", f"x at c={c[0]:g}", f"x at c={c[1]:g}"), [
        (s["gamma"], f"{s['tokens_per_call']:.2f}", f"{s['speedup'][0]:.2f}",
         f"{s['speedup'][1]:.2f}") for s in result["sweep"]],
        title=f"at a = {result['acceptance']:.2f}; c = draft cost / target cost")
    tv = _viz.table(("against target p", "total variation"), [
        (f"speculative, {result['draws']:,} draws", f"{result['tv_distance']:.4f}"),
        (f"direct from p, {result['draws']:,}", f"{result['tv_direct']:.4f}"),
        ("the draft's q", f"{result['tv_draft']:.4f}"),
    ], title="first token after the prompt")
    acc = Text(f"Accepted there: {result['first_acceptance']:.3f} of draws; sum min(p, q) = "
               f"{result['first_alpha']:.3f}. This draft costs {result['cost_ratio']:.2f}x "
               "the target per token.", style="dim")
    return _viz.view("Speculative decoding", intro, run, note, sweep, tv, acc,
                     takeaway=result["takeaway"])
