"""decoding: greedy, temperature, top-k, top-p, min-p, repetition penalty and beam search.

The model is a small random GPT-2 (engine.gpt2, untied output head) over a
32-character vocabulary. Two changes to the random initialisation make its
logits behave like a language model's: the output head is rescaled so the
logits after the prompt have a standard deviation of 2 (a random head gives
about 0.1, a near-uniform distribution), and the token embeddings are 6x
GPT-2's initial scale, so each token's identity dominates the residual stream
and the model leans on recent tokens, as an n-gram model does. Each method's
next-token distribution after the prompt comes from engine.sampling, and each
continuation from GPT2.generate; min-p (keep tokens with p >= min_p x the top
p) and greedy decoding with a repetition penalty (seen tokens' positive logits
divided by it, negative ones multiplied) run the same model token by token
with its KV cache, and beam search (engine.sampling.beam_search) keeps the
`--beam-width` most likely continuations (each step runs only the beams'
newest tokens, their cached keys and values reordered to follow the beams).
Log-probabilities of continuations are scored afterwards by one forward pass
over prompt + continuation.

Repetition: the share of 4-grams in a continuation that already appeared
earlier in it, and the loop period when the continuation ends in a cycle
repeated at least twice.

JSON keys:
- `vocab`: the characters (token id = index); `prompt`, `prompt_ids`;
  `logits`: next-token logits after the prompt;
- `methods`: {greedy, temperature, top_k, top_p, min_p}, each {label, temperature,
  top_k, top_p, min_p, probs (next-token distribution), kept (tokens with p > 0),
  entropy_bits, top: [[token, prob]] (up to 8), continuation_ids,
  continuation, repeat_rate, loop_period, loop_start};
- `penalty`: greedy with the repetition penalty: {penalty, continuation_ids,
  continuation, repeat_rate, loop_period, loop_start, logprob};
- `beam`: {width, continuation_ids, continuation, repeat_rate, loop_period,
  loop_start, logprob (scored again), score (beam search's own total)};
  `greedy_logprob`: the greedy continuation's log-probability;
- `temperature_sweep`: [{temperature, top_prob, entropy_bits, argmax}] for T -> 0;
- `greedy_token`: the argmax after the prompt; `takeaway`.
"""

from __future__ import annotations

import math

VOCAB = " abcdefghijklmnopqrstuvwxyz.,'?!"
PROMPT = "the cat sat on the"
LOGIT_STD = 2.0
EMBED_SCALE = 6.0
NGRAM = 4
SWEEP = (2.0, 1.0, 0.5, 0.1, 0.01)
BEAM_BUDGET = 2_000      # beam-token steps (width x steps) a demo may run


def check(p) -> str | None:
    if p.beam_width * p.steps > BEAM_BUDGET:
        return (f"--beam-width {p.beam_width} with --steps {p.steps} would take too long; the "
                f"largest --beam-width allowed is {BEAM_BUDGET // p.steps}")
    return None


def repeat_rate(ids: list[int], n: int = NGRAM) -> float:
    """Share of the n-grams of `ids` that already occurred earlier in `ids`."""
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    if not grams:
        return 0.0
    seen: set[tuple[int, ...]] = set()
    repeats = 0
    for g in grams:
        repeats += g in seen
        seen.add(g)
    return repeats / len(grams)


def loop(ids: list[int]) -> tuple[int | None, int | None]:
    """(period, start) of the shortest cycle the sequence ends in, repeated at least twice."""
    n = len(ids)
    for period in range(1, n // 2 + 1):
        start = n - period
        while start > 0 and ids[start - 1] == ids[start - 1 + period]:
            start -= 1
        if n - start >= 2 * period:
            return period, start
    return None, None


def _entropy_bits(probs) -> float:
    import numpy as np

    p = probs[probs > 0]
    return max(0.0, float(-(p * np.log2(p)).sum()))


def build_model(rng, steps: int):
    """The random GPT-2 and prompt ids described in the module docstring."""
    import numpy as np

    from engine.gpt2 import GPT2, gpt2_config

    prompt = np.array([[VOCAB.index(c) for c in PROMPT]])
    config = gpt2_config(vocab_size=len(VOCAB), n_ctx=prompt.shape[-1] + steps, d_model=64,
                         n_layer=2, n_head=4).replace(tie_embeddings=False)
    model = GPT2.from_config(config, rng, dtype=np.float32)
    model.params["tok_emb"] *= np.float32(EMBED_SCALE)
    logits = model(prompt)[0, -1]
    model.params["lm_head"] *= np.float32(LOGIT_STD / logits.std())
    return model, prompt


def continue_tokens(model, prompt, steps: int, rng=None, penalty: float = 1.0,
                    **filters) -> list[int]:
    """Token by token with the KV cache: greedy when rng is None, else engine.sampling.sample
    with `filters` (temperature, top_k, top_p, min_p); seen tokens penalised first."""
    import numpy as np

    from engine.sampling import repetition_penalty, sample

    cache = model.new_cache(prompt.shape[-1] + steps)
    logits = model(prompt, cache=cache)[0, -1]
    ids = prompt[0].tolist()
    new = []
    for _ in range(steps):
        scores = logits.astype(np.float64)
        if penalty != 1.0:
            scores = repetition_penalty(scores, np.array(ids), penalty)
        token = int(np.argmax(scores)) if rng is None else int(sample(scores, rng,
                                                                       **filters).token)
        ids.append(token)
        new.append(token)
        logits = model(np.array([[token]]), cache=cache)[0, -1]
    return new


class CachedBeams:
    """A logits function for engine.sampling.beam_search that runs only each beam's newest
    token, with a KV cache whose rows follow the beams as they are reordered."""

    def __init__(self, model, max_len: int):
        self.model, self.max_len = model, max_len
        self.cache, self.previous = None, None

    def __call__(self, ids):
        import numpy as np

        if self.cache is None:                                   # the prompt, once
            self.cache, self.previous = self.model.new_cache(self.max_len), ids
            return self.model(ids, cache=self.cache)[:, -1]
        # each beam extends one of the previous rows: find which, and move its cache rows
        prefix = ids[:, :-1]
        parent = np.array([int(np.flatnonzero((self.previous == row).all(axis=1))[0])
                           for row in prefix])
        c = self.cache
        c.keys = [k[parent] if k is not None else k for k in c.keys]
        c.values = [v[parent] if v is not None else v for v in c.values]
        self.previous = ids
        return self.model(ids[:, -1:], cache=c)[:, -1]


def logprob(model, prompt, continuation: list[int]) -> float:
    """log p(continuation | prompt) under the model, from one forward pass."""
    import numpy as np

    from engine.functional import log_softmax

    ids = np.concatenate([prompt[0], continuation])[None]
    lp = log_softmax(model(ids)[0, :-1].astype(np.float64), axis=-1)       # (n - 1, vocab)
    n = prompt.shape[-1]
    return float(lp[np.arange(n - 1, ids.shape[-1] - 1), ids[0, n:]].sum())


def _continuation(ids: list[int]) -> dict:
    period, start = loop(ids)
    return {"continuation_ids": ids, "continuation": "".join(VOCAB[j] for j in ids),
            "repeat_rate": repeat_rate(ids), "loop_period": period, "loop_start": start}


def compute(p, rng, progress) -> dict:
    from tutor.demos._timing import one_blas_thread

    with one_blas_thread():            # many small matmuls: a second BLAS thread only waits
        return _compute(p, rng)


def _compute(p, rng) -> dict:
    import numpy as np

    from engine.sampling import beam_search, distribution, greedy

    model, prompt = build_model(rng, p.steps)
    logits = model(prompt)[0, -1].astype(np.float64)                 # (vocab,)
    settings = {
        "greedy": ("greedy", 0.0, None, None, None),
        "temperature": (f"T={p.temperature:g}", p.temperature, None, None, None),
        "top_k": (f"k={p.top_k}", 1.0, p.top_k, None, None),
        "top_p": (f"p={p.top_p:g}", 1.0, None, p.top_p, None),
        "min_p": (f"m={p.min_p:g}", 1.0, None, None, p.min_p),
    }
    methods = {}
    for i, (key, (label, t, k, top_p, min_p)) in enumerate(settings.items()):
        probs = distribution(logits, temperature=t, top_k=k, top_p=top_p, min_p=min_p)
        order = np.argsort(-probs, kind="stable")[:8]
        sample_rng = np.random.default_rng([p.seed, i])
        if key == "min_p":
            ids = continue_tokens(model, prompt, p.steps, sample_rng, min_p=min_p)
        else:
            ids = model.generate(prompt, p.steps, temperature=t, top_k=k, top_p=top_p,
                                 rng=None if key == "greedy" else sample_rng)[0].tolist()
        methods[key] = {
            "label": label, "temperature": t, "top_k": k, "top_p": top_p, "min_p": min_p,
            "probs": probs, "kept": int((probs > 0).sum()),
            "entropy_bits": _entropy_bits(probs),
            "top": [[int(j), float(probs[j])] for j in order if probs[j] > 0],
            **_continuation(ids),
        }
    sweep = []
    for t in SWEEP:
        probs = distribution(logits, temperature=t)
        sweep.append({"temperature": t, "top_prob": float(probs.max()),
                      "entropy_bits": _entropy_bits(probs), "argmax": int(probs.argmax())})
    penalised = continue_tokens(model, prompt, p.steps, penalty=p.repetition_penalty)
    penalty = {"penalty": p.repetition_penalty, **_continuation(penalised),
               "logprob": logprob(model, prompt, penalised)}
    beams = beam_search(CachedBeams(model, prompt.shape[-1] + p.steps), prompt[0], p.steps,
                        p.beam_width)
    best = beams.sequences[0].tolist()
    beam = {"width": p.beam_width, **_continuation(best),
            "logprob": logprob(model, prompt, best), "score": float(beams.scores[0])}
    greedy_lp = logprob(model, prompt, methods["greedy"]["continuation_ids"])

    g = methods["greedy"]
    sampled = [m for k, m in methods.items() if k != "greedy"]
    loop_text = (f" and ends in a loop of period {g['loop_period']}" if g["loop_period"]
                 else "")
    takeaway = (
        f"Top-k={p.top_k} keeps {methods['top_k']['kept']} of {len(VOCAB)} tokens, "
        f"top-p={p.top_p:g} keeps {methods['top_p']['kept']} and min-p={p.min_p:g} "
        f"{methods['min_p']['kept']}, renormalised; as T -> 0 the "
        f"top probability goes to {sweep[-1]['top_prob']:.2f} (greedy). "
        f"Greedy repeats itself{loop_text}: "
        f"{g['repeat_rate']:.0%} of its {NGRAM}-grams occurred before, against "
        f"{max(m['repeat_rate'] for m in sampled):.0%} at most when sampling and "
        f"{penalty['repeat_rate']:.0%} with a repetition penalty of {p.repetition_penalty:g}. "
        f"Beam search ({p.beam_width} beams) finds a continuation of log-probability "
        f"{beam['logprob']:.1f} against greedy's {greedy_lp:.1f}.")
    return {
        "vocab": VOCAB,
        "prompt": PROMPT,
        "prompt_ids": prompt[0].tolist(),
        "logits": logits,
        "methods": methods,
        "temperature_sweep": sweep,
        "greedy_token": int(greedy(logits)),
        "penalty": penalty,
        "beam": beam,
        "greedy_logprob": greedy_lp,
        "takeaway": takeaway,
    }


def _tok(i: int) -> str:
    return repr(VOCAB[i])


def render(result: dict):
    from rich.console import Group
    from rich.text import Text

    from tutor.demos import _viz

    methods = result["methods"]
    base = _softmax(result["logits"])
    order = sorted(range(len(base)), key=lambda j: -base[j])[:8]
    intro = Text(f"Next token after {result['prompt']!r} (random GPT-2, "
                 f"{len(result['vocab'])} characters)", style="dim")
    raw = _viz.bars([(_tok(j), base[j], f"{base[j]:.3f}") for j in order],
                    title="softmax(logits), T=1: top 8", width=30)
    cols = ("tok", "T=1") + tuple(m["label"] for m in methods.values())
    rows = [(_tok(j), f"{base[j]:.2f}") + tuple(
        f"{m['probs'][j]:.2f}" if m["probs"][j] > 0 else "-" for m in methods.values())
        for j in order]
    rows.append(("kept", str(len(base))) + tuple(str(m["kept"]) for m in methods.values()))
    rows.append(("bits", f"{_entropy(base):.2f}") + tuple(
        f"{m['entropy_bits']:.2f}" for m in methods.values()))
    table = _viz.table(cols, rows, title="distribution each method samples from")
    sweep = _viz.table(("T", "top prob", "entropy"), [
        (f"{s['temperature']:g}", f"{s['top_prob']:.3f}", f"{s['entropy_bits']:.2f}")
        for s in result["temperature_sweep"]], title="temperature -> 0 is greedy")
    lines = [_viz.heading("continuations")]
    for m in methods.values():
        loop = (f"loop period {m['loop_period']}" if m["loop_period"] else "no loop")
        lines.append(Text(f"{m['label']:<8}", style="bold") + Text(repr(m["continuation"])))
        lines.append(Text(f"{'':<8}{m['repeat_rate']:.0%} of {NGRAM}-grams seen before, {loop}",
                          style="dim"))
    pen, beam = result["penalty"], result["beam"]
    for label, c in ((f"rep {pen['penalty']:g}", pen), (f"beam {beam['width']}", beam)):
        loop = f"loop period {c['loop_period']}" if c["loop_period"] else "no loop"
        lines.append(Text(f"{label:<8}", style="bold") + Text(repr(c["continuation"])))
        lines.append(Text(f"{'':<8}{c['repeat_rate']:.0%} of {NGRAM}-grams seen before, {loop}",
                          style="dim"))
    lines.append(Text("rep = greedy with a repetition penalty; beam = beam search", style="dim"))
    scores = Text(f"log p(continuation): greedy {result['greedy_logprob']:.2f}, beam "
                  f"{beam['logprob']:.2f}, greedy + penalty {pen['logprob']:.2f}", style="dim")
    return _viz.view("Decoding", intro, raw, table, sweep, Group(*lines), scores,
                     takeaway=result["takeaway"])


def _softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    e = [math.exp(x - top) for x in logits]
    s = sum(e)
    return [x / s for x in e]


def _entropy(probs: list[float]) -> float:
    return max(0.0, -sum(p * math.log2(p) for p in probs if p > 0))
