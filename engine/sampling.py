"""Turning next-token logits into a token: greedy, temperature, top-k, top-p (nucleus).

Filters work on logits and return logits with the removed tokens set to -inf,
so they compose (temperature, then top-k, then top-p, as in Hugging Face).
`distribution` returns the final probabilities and `sample` returns both the
token and the distribution it was drawn from, so a demo can show the mass that
each option removes. Every function acts on the last axis; leading axes are a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.functional import softmax


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


def distribution(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None) -> np.ndarray:
    """The probabilities `sample` draws from.   (..., vocab) -> (..., vocab)

    temperature=0 is greedy: all mass on the argmax.
    """
    logits = np.asarray(logits)
    if logits.dtype.kind != "f":
        logits = logits.astype(np.float64)
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
    return softmax(logits, axis=-1)


@dataclass(frozen=True)
class Sample:
    """token: (...,) int ids drawn.  probs: (..., vocab) the distribution they came from."""

    token: np.ndarray
    probs: np.ndarray


def sample_from(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row of probs by inverting the CDF with a uniform draw.  -> (...,) int"""
    probs = np.asarray(probs)
    cdf = np.cumsum(probs, axis=-1)                                   # (..., vocab)
    u = rng.random(probs.shape[:-1])[..., None] * cdf[..., -1:]      # scaled: rows may not sum to 1
    # the first index whose cdf exceeds u; zero-probability tokens add no step, so
    # they can never be chosen
    token = np.sum(cdf <= u, axis=-1)
    return np.minimum(token, probs.shape[-1] - 1)


def sample(logits: np.ndarray, rng: np.random.Generator | None = None, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None) -> Sample:
    """Draw the next token: temperature, then top-k, then top-p, then a random draw.

    temperature=0 is greedy and needs no rng.
    """
    probs = distribution(logits, temperature, top_k, top_p)
    if temperature == 0:
        return Sample(greedy(probs), probs)
    if rng is None:
        raise ValueError("sampling with temperature > 0 needs an rng (np.random.Generator)")
    return Sample(sample_from(probs, rng), probs)
