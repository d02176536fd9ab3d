"""Turning next-token logits into a token: greedy, temperature, top-k, top-p, min-p, beams.

Filters work on logits and return logits with the removed tokens set to -inf,
so they compose (temperature, then top-k, then top-p, then min-p, as in
Hugging Face). `repetition_penalty` rescales the logits of tokens already in
the sequence before any of them. `distribution` returns the final
probabilities and `sample` returns both the token and the distribution it was
drawn from, so a demo can show the mass that each option removes. Every
function acts on the last axis; leading axes are a batch. `beam_search` keeps
the `width` most likely continuations instead of committing to one token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.functional import log_softmax, softmax


def greedy(logits: np.ndarray) -> np.ndarray:
    """The most likely token (the first one on ties).   (..., vocab) -> (...,) int"""
    return np.argmax(logits, axis=-1)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """logits / T: T < 1 sharpens the distribution, T > 1 flattens it.  T must be > 0;
    T -> 0 is greedy, which `sample` handles as temperature=0."""
    if not temperature > 0:
        raise ValueError(f"temperature={temperature} must be > 0 (use greedy for 0)")
    logits = np.asarray(logits)
    return logits / logits.dtype.type(temperature) if logits.dtype.kind == "f" \
        else logits / temperature


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest logits, set the rest to -inf.   (..., vocab) -> (..., vocab)

    Tokens tied with the k-th largest are kept too (as in Hugging Face), so a
    tie can leave more than k candidates.
    """
    logits = np.asarray(logits)
    vocab = logits.shape[-1]
    if k < 1:
        raise ValueError(f"top_k={k} must be >= 1")
    if k >= vocab:
        return logits.copy()
    kth = np.partition(logits, vocab - k, axis=-1)[..., vocab - k : vocab - k + 1]  # (..., 1)
    return np.where(logits < kth, -np.inf, logits).astype(logits.dtype, copy=False)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Keep the smallest set of most likely tokens whose probability mass is >= p.

    (..., vocab) -> (..., vocab), removed tokens at -inf. The most likely token is
    always kept, so even a tiny p leaves one candidate. Among tokens of equal
    probability at the boundary, the lower token id is kept first.
    """
    if not 0 < p <= 1:
        raise ValueError(f"top_p={p} must be in (0, 1]")
    logits = np.asarray(logits)
    if p == 1:
        return logits.copy()
    probs = softmax(logits, axis=-1)
    order = np.argsort(-probs, axis=-1, kind="stable")                 # most likely first
    sorted_probs = np.take_along_axis(probs, order, axis=-1)
    mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs        # mass of better tokens
    # a token is needed while the better tokens alone have not reached p
    keep_sorted = mass_before < p
    keep_sorted[..., 0] = True
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf).astype(logits.dtype, copy=False)


def min_p_filter(logits: np.ndarray, min_p: float) -> np.ndarray:
    """Keep tokens whose probability is at least min_p times the top token's.

    (..., vocab) -> (..., vocab), removed tokens at -inf. Unlike top-p, the cut
    scales with the model's confidence: a peaked distribution keeps few tokens,
    a flat one many (Nguyen et al. 2024). The top token is always kept.
    """
    if not 0 <= min_p <= 1:
        raise ValueError(f"min_p={min_p} must be in [0, 1]")
    logits = np.asarray(logits)
    probs = softmax(logits, axis=-1)
    keep = probs >= min_p * np.max(probs, axis=-1, keepdims=True)
    np.put_along_axis(keep, np.argmax(logits, axis=-1)[..., None], True, axis=-1)
    return np.where(keep, logits, -np.inf).astype(logits.dtype, copy=False)


def repetition_penalty(logits: np.ndarray, previous: np.ndarray, penalty: float) -> np.ndarray:
    """Discourage tokens already in the sequence, as CTRL and Hugging Face do.

    logits: (..., vocab); previous: (..., n) token ids so far. For each token
    that occurs in `previous` (once or many times), a positive logit is divided
    by `penalty` and a negative one multiplied by it, so either way it becomes
    less likely for penalty > 1. penalty=1 changes nothing.
    """
    if not penalty > 0:
        raise ValueError(f"penalty={penalty} must be > 0")
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
    previous = np.asarray(previous)
    seen = np.zeros(logits.shape, dtype=bool)
    if previous.shape[-1]:
        np.put_along_axis(seen, previous.reshape(*logits.shape[:-1], -1), True, axis=-1)
    pen = logits.dtype.type(penalty)
    penalised = np.where(logits > 0, logits / pen, logits * pen)
    return np.where(seen, penalised, logits).astype(logits.dtype, copy=False)


def _check_some_token_allowed(logits: np.ndarray) -> None:
    # softmax of a row with no finite logit is not a distribution: refuse it by name
    bad = ~np.any(logits > -np.inf, axis=-1) | np.any(np.isnan(logits), axis=-1)
    if np.any(bad):
        where = f" (row {tuple(int(i) for i in np.argwhere(bad)[0])})" if bad.ndim else ""
        raise ValueError(f"no token can be sampled{where}: every logit is -inf or some is NaN; "
                         "a mask or filter removed all tokens")


def distribution(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, min_p: float | None = None) -> np.ndarray:
    """The probabilities `sample` draws from.   (..., vocab) -> (..., vocab)

    temperature=0 is greedy: all mass on the argmax. Raises ValueError when a
    row allows no token (every logit -inf) or holds a NaN, instead of returning
    a row that is not a distribution.
    """
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
    _check_some_token_allowed(logits)
    if temperature < 0:
        raise ValueError(f"temperature={temperature} must be >= 0")
    if temperature == 0:
        one_hot = np.zeros_like(logits)
        np.put_along_axis(one_hot, greedy(logits)[..., None], 1, axis=-1)
        return one_hot
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if min_p is not None:
        logits = min_p_filter(logits, min_p)
    return softmax(logits, axis=-1)


@dataclass(frozen=True)
class Sample:
    """token: (...,) int ids drawn.  probs: (..., vocab) the distribution they came from."""

    token: np.ndarray
    probs: np.ndarray


def sample_from(probs: np.ndarray, rng: np.random.Generator,
                size: int | tuple[int, ...] | None = None) -> np.ndarray:
    """One token per row of probs by inverting the CDF with a uniform draw.  -> (...,) int

    size: draw that many tokens from one distribution probs (vocab,) -> (size) int,
    by binary search on its CDF instead of one CDF per draw.
    """
    probs = np.asarray(probs)
    cdf = np.cumsum(probs, axis=-1)                                   # (..., vocab)
    if size is not None:
        if probs.ndim != 1:
            raise ValueError(f"size= draws from one distribution; got probs of shape "
                             f"{probs.shape}")
        u = rng.random(size) * cdf[-1]
        # side="right": the number of cdf entries <= u, the same rule as below
        return np.minimum(np.searchsorted(cdf, u, side="right"), probs.shape[-1] - 1)
    u = rng.random(probs.shape[:-1])[..., None] * cdf[..., -1:]      # scaled: rows may not sum to 1
    # the first index whose cdf exceeds u; zero-probability tokens add no step, so
    # they can never be chosen
    token = np.sum(cdf <= u, axis=-1)
    return np.minimum(token, probs.shape[-1] - 1)


def sample(logits: np.ndarray, rng: np.random.Generator | None = None, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None,
           min_p: float | None = None) -> Sample:
    """Draw the next token: temperature, top-k, top-p, min-p, then a random draw.

    temperature=0 is greedy and needs no rng. A row in which no token is
    allowed (all logits -inf) raises ValueError.
    """
    probs = distribution(logits, temperature, top_k, top_p, min_p)
    if temperature == 0:
        return Sample(greedy(probs), probs)
    if rng is None:
        raise ValueError("sampling with temperature > 0 needs an rng (np.random.Generator)")
    return Sample(sample_from(probs, rng), probs)


@dataclass(frozen=True)
class Beams:
    """sequences: (width, steps) new tokens, best first.  scores: (width,) their total
    log-probability, sum_t log p(y_t | prompt, y_<t)."""

    sequences: np.ndarray
    scores: np.ndarray


def beam_search(logits_fn: Callable[[np.ndarray], np.ndarray], prompt: np.ndarray, steps: int,
                width: int) -> Beams:
    """Keep the `width` highest-scoring continuations at every step.

    logits_fn(ids (beams, n)) -> next-token logits (beams, vocab) for each row;
    for an engine model, `lambda ids: model(ids)[:, -1]`. Every beam is extended
    by every token, and the `width` best (beam, token) pairs by total
    log-probability survive (ties: earlier beam, then lower token id). width=1
    is greedy decoding; width >= vocab^(steps-1) is an exhaustive search.
    There is no end-of-sequence token, so every beam has `steps` tokens.
    """
    if width < 1 or steps < 1:
        raise ValueError(f"width={width} and steps={steps} must be >= 1")
    prompt = np.asarray(prompt).reshape(1, -1)
    beams = prompt                                                   # (beams, n)
    scores = np.zeros(1)
    for _ in range(steps):
        logp = log_softmax(np.asarray(logits_fn(beams), dtype=np.float64), axis=-1)  # (b, V)
        total = (scores[:, None] + logp).ravel()                    # (b * V,)
        best = np.argsort(-total, kind="stable")[:width]
        parent, token = np.divmod(best, logp.shape[-1])
        beams = np.concatenate([beams[parent], token[:, None]], axis=-1)
        scores = total[best]
    return Beams(sequences=beams[:, prompt.shape[-1]:], scores=scores)
