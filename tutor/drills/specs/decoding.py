"""Decoding: top-k and top-p filters, beam search."""

from __future__ import annotations

import numpy as np

from engine.functional import softmax
from engine.sampling import beam_search, top_k_filter, top_p_filter
from tutor.drills.specs import Case, Mistake, Spec, normal, register

F32 = np.float32


def _topk_cases(rng):
    c = [Case("values", (normal(rng, *s, scale=2.0), k)) for s, k in [((1,), 1), ((5,), 2),
                                                                    ((3, 6), 3)]]
    c.append(Case("k = 1 keeps the argmax", (normal(rng, 2, 5), 1)))
    c.append(Case("k >= vocab keeps everything", (normal(rng, 4), 4)))
    c.append(Case("k >= vocab keeps everything", (normal(rng, 2, 3), 10)))
    c.append(Case("ties with the k-th logit are kept", (np.array([1.0, 3.0, 2.0, 2.0, 0.0]), 2)))
    c.append(Case("float32 stays float32", (normal(rng, 2, 6, dtype=F32), 3)))
    return c


def _topk_exactly_k(logits, k):
    if k >= logits.shape[-1]:
        return logits.copy()
    idx = np.argsort(-logits, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(keep, idx, True, axis=-1)
    return np.where(keep, logits, -np.inf)


def _topk_strict(logits, k):
    if k >= logits.shape[-1]:
        return logits.copy()
    kth = np.sort(logits, axis=-1)[..., -k, None]
    return np.where(logits <= kth, -np.inf, logits)


register(Spec(
    name="top-k", params=("logits", "k"),
    reference=lambda logits, k: top_k_filter(logits, k),
    cases=_topk_cases,
    mistakes=(Mistake("exactly k tokens kept, dropping ties with the k-th", _topk_exactly_k),
              Mistake("the k-th largest removed too (<= instead of <)", _topk_strict)),
))


def _topp_logits(probs):
    return np.log(np.asarray(probs, dtype=np.float64))


def _topp_cases(rng):
    c = [Case("values", (normal(rng, *s, scale=2.0), p))
         for s, p in [((1,), 0.5), ((5,), 0.9), ((3, 8), 0.7), ((2, 2, 6), 0.5)]]
    c.append(Case("the token that crosses p is kept",
                  (_topp_logits([0.5, 0.3, 0.15, 0.05]), 0.6)))
    c.append(Case("the token that crosses p is kept",
                  (_topp_logits([0.05, 0.6, 0.1, 0.25]), 0.8)))
    c.append(Case("a tiny p keeps the most probable token", (normal(rng, 2, 5), 1e-6)))
    c.append(Case("p = 1 keeps everything", (normal(rng, 6), 1.0)))
    c.append(Case("unsorted logits, large values", (normal(rng, 2, 7, scale=30.0) + 500, 0.9)))
    c.append(Case("ties: the lower token id first", (_topp_logits([0.2, 0.4, 0.2, 0.2]), 0.5)))
    c.append(Case("float32 stays float32", (normal(rng, 3, 6, dtype=F32), 0.8)))
    return c


def _topp_exclusive(logits, p):
    probs = softmax(logits)
    order = np.argsort(-probs, axis=-1, kind="stable")
    cum = np.cumsum(np.take_along_axis(probs, order, -1), -1)
    keep_sorted = cum < p                                      # drops the crossing token
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, -1)
    return np.where(keep, logits, -np.inf)


def _topp_unsorted(logits, p):
    probs = softmax(logits)
    before = np.cumsum(probs, -1) - probs          # mass in token-id order, never sorted
    return np.where(before < p, logits, -np.inf)


register(Spec(
    name="top-p", params=("logits", "p"),
    reference=lambda logits, p: top_p_filter(logits, p),
    cases=_topp_cases,
    hints={"the token that crosses p is kept": "keep a token while the mass of the tokens "
           "before it is below p (cumsum - prob < p), not while the mass including it is",
           "ties: the lower token id first": "np.argsort(-probs, kind='stable')"},
    mistakes=(Mistake("the token that makes the mass reach p left out (cumsum < p)",
                      _topp_exclusive),
              Mistake("the mass summed in token-id order, without sorting by probability",
                      _topp_unsorted)),
))


def _beam_ref(table, start, steps, width):
    out = beam_search(lambda ids: table[ids[:, -1]], np.array([start]), steps, width)
    return out.sequences.astype(np.int64), out.scores


def _beam_cases(rng):
    c = [Case("values", (normal(rng, v, v, scale=2.0), s, n, w))
         for v, s, n, w in [(2, 0, 1, 1), (3, 1, 2, 2), (4, 0, 3, 3), (5, 2, 4, 2)]]
    c.append(Case("width 1 is greedy", (normal(rng, 4, 4, scale=2.0), 0, 4, 1)))
    c.append(Case("width larger than the candidates", (normal(rng, 3, 3), 0, 2, 20)))
    c.append(Case("survivors compete across beams", (normal(rng, 6, 6, scale=3.0), 0, 3, 3)))
    table = np.zeros((3, 3))
    c.append(Case("ties: earlier beam, then lower token", (table, 0, 2, 4)))
    return c


def _beam_per_beam(table, start, steps, width):
    # each beam keeps its own best continuations; the first `width` are kept
    logp = np.log(softmax(table))
    seqs, scores = np.array([[start]]), np.zeros(1)
    for _ in range(steps):
        cand = []
        for b in range(len(seqs)):
            tokens = np.argsort(-logp[seqs[b, -1]], kind="stable")[:width]
            cand += [(scores[b] + logp[seqs[b, -1], t], b, t) for t in tokens]
        cand = cand[:width]
        seqs = np.array([np.append(seqs[b], t) for _, b, t in cand])
        scores = np.array([s for s, _, _ in cand])
    return seqs[:, 1:], scores


def _beam_raw_logits(table, start, steps, width):
    # sums raw logits instead of log-probabilities: rows with a larger log-sum-exp win unfairly
    seqs, scores = np.array([[start]]), np.zeros(1)
    vocab = table.shape[-1]
    for _ in range(steps):
        total = (scores[:, None] + table[seqs[:, -1]]).ravel()
        best = np.argsort(-total, kind="stable")[:width]
        seqs = np.concatenate([seqs[best // vocab], (best % vocab)[:, None]], axis=1)
        scores = total[best]
    return seqs[:, 1:], scores


register(Spec(
    name="beam-search", params=("table", "start", "steps", "width"),
    reference=_beam_ref,
    cases=_beam_cases,
    hints={"survivors compete across beams": "collect beam_score + log p for every (beam, "
           "token) pair, flatten, and keep the `width` best overall",
           "values": "scores are sums of log softmax(table[last token]), not of raw logits"},
    mistakes=(Mistake("each beam's best continuations taken per beam, not over all beams",
                      _beam_per_beam),
              Mistake("raw logits summed instead of log-probabilities", _beam_raw_logits)),
))
