"""Speculative decoding: a cheap draft proposes, the target verifies, the output is unchanged.

One step (Leviathan et al. 2023; Chen et al. 2023): the draft samples gamma
tokens x_1..x_gamma from its distributions q_i, one cheap call each; the target
scores all of them in one call, giving p_1..p_(gamma+1). Token x_i is accepted
with probability min(1, p_i(x_i) / q_i(x_i)); at the first rejection the step
emits a token from the residual norm(max(0, p_i - q_i)) and stops; if all gamma
are accepted it emits a bonus token from p_(gamma+1). Every emitted token is
then distributed exactly as the target would have sampled it:
P(x) = q(x) min(1, p/q) + (1 - sum_y min(p, q)) * norm(max(0, p - q))(x) = p(x).

The chance of accepting a draft token is alpha = sum_x min(p(x), q(x)) =
1 - TV(p, q). If every position has the same alpha, one target call yields
(1 - alpha^(gamma+1)) / (1 - alpha) tokens on average.

Distributions are callables `probs_fn(ids (n,)) -> (n, vocab)`: the next-token
distribution after every prefix, as one forward pass of a model gives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.sampling import sample_from

ProbsFn = Callable[[np.ndarray], np.ndarray]


def total_variation(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """TV(p, q) = 1/2 sum |p - q|.   (..., vocab) -> (...)"""
    return 0.5 * np.sum(np.abs(np.asarray(p) - np.asarray(q)), axis=-1)


def acceptance_rate(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """alpha = sum min(p, q): the chance a token drawn from q is accepted.  (..., V) -> (...)"""
    return np.sum(np.minimum(p, q), axis=-1)


def residual_distribution(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """norm(max(0, p - q)): what to sample after a rejection.   (..., V) -> (..., V)

    Where p == q nothing is ever rejected; p itself is returned there.
    """
    r = np.maximum(np.asarray(p, dtype=np.float64) - q, 0.0)
    total = np.sum(r, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, r / np.where(total > 0, total, 1.0), p)


def expected_tokens_per_call(alpha: float, gamma: int) -> float:
    """(1 - alpha^(gamma+1)) / (1 - alpha): tokens per target call at a constant alpha."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha={alpha} must be in [0, 1]")
    if alpha == 1:
        return float(gamma + 1)
    return (1 - alpha ** (gamma + 1)) / (1 - alpha)


def expected_speedup(alpha: float, gamma: int, cost_ratio: float) -> float:
    """Walltime gain over plain decoding when a draft call costs `cost_ratio` target calls:
    (1 - alpha^(gamma+1)) / ((1 - alpha) (gamma c + 1))  (Leviathan et al., Theorem 3.8)."""
    return expected_tokens_per_call(alpha, gamma) / (gamma * cost_ratio + 1)


def _at(probs: np.ndarray, x: np.ndarray) -> np.ndarray:
    # probs[..., x]: one distribution shared by every draw, or one per draw
    if probs.ndim == 1:
        return probs[x]
    return np.take_along_axis(probs, x[..., None], axis=-1)[..., 0]


def verify(p: np.ndarray, q: np.ndarray, drafted: np.ndarray, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray]:
    """The acceptance rule on drafted tokens.   p, q: (..., V) or (V,)  drafted: (...,) int

    -> (accepted (...,) bool, replacement (...,) int): each drafted token is kept
    with probability min(1, p(x)/q(x)); `replacement` is a draw from the residual,
    used where it was not. 1-D p and q are one distribution shared by all drafts.
    """
    drafted = np.asarray(drafted)
    u = rng.random(drafted.shape)
    accepted = u * _at(q, drafted) < _at(p, drafted)          # u < p/q without dividing by q
    residual = residual_distribution(p, q)
    replacement = sample_from(residual, rng, size=drafted.shape if p.ndim == 1 else None)
    return accepted, replacement


def speculative_sample(p: np.ndarray, q: np.ndarray, n: int, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
    """n independent first tokens of a speculative step with fixed p and q.   -> tokens, accepted

    p, q: (V,). Draw from q, apply `verify`; the emitted token is the draft where
    accepted, else the residual draw. Its distribution should be p exactly.
    """
    drafted = sample_from(q, rng, size=n)
    accepted, replacement = verify(p, q, drafted, rng)
    return np.where(accepted, drafted, replacement), accepted


@dataclass(frozen=True)
class SpeculativeStep:
    """tokens: emitted (accepted drafts, then one residual or bonus token).
    accepted: drafts kept, out of `gamma`. alpha: sum min(p, q) at each drafted position."""

    tokens: np.ndarray
    accepted: int
    gamma: int
    alpha: np.ndarray


def speculative_step(target: ProbsFn, draft: ProbsFn, ids: np.ndarray, gamma: int,
                     rng: np.random.Generator) -> SpeculativeStep:
    """One draft-then-verify step after ids (n,): gamma draft calls and one target call."""
    if gamma < 1:
        raise ValueError(f"gamma={gamma} must be >= 1")
    ids = np.asarray(ids)
    seq = ids
    drafted, qs = [], []
    for _ in range(gamma):
        q = draft(seq)[-1]                                           # (V,)
        x = int(sample_from(q, rng))
        drafted.append(x)
        qs.append(q)
        seq = np.append(seq, x)
    p = target(seq)[len(ids) - 1:]                                   # (gamma + 1, V)
    q = np.stack(qs)                                                 # (gamma, V)
    x = np.array(drafted)
    accepted, replacement = verify(p[:gamma], q, x, rng)
    n_ok = int(np.argmin(accepted)) if not accepted.all() else gamma
    # the residual draw at the first rejection, or, with all kept, a bonus token from p_(gamma+1)
    last = replacement[n_ok] if n_ok < gamma else int(sample_from(p[gamma], rng))
    tokens = np.append(x[:n_ok], last).astype(np.int64)
    return SpeculativeStep(tokens=tokens, accepted=n_ok, gamma=gamma,
                           alpha=acceptance_rate(p[:gamma], q))


@dataclass(frozen=True)
class SpeculativeRun:
    """A whole generation: the new tokens, and per step the drafts kept and alphas seen."""

    tokens: np.ndarray
    target_calls: int
    draft_calls: int
    accepted: np.ndarray       # (steps,) drafts kept per step
    alpha: np.ndarray          # sum min(p, q) at every drafted position that was examined
    gamma: int

    @property
    def acceptance(self) -> float:
        """Share of drafted tokens accepted (a draft after a rejection counts as not drafted)."""
        drafted = np.minimum(self.accepted + 1, self.gamma).sum()
        return float(self.accepted.sum() / drafted)

    @property
    def tokens_per_call(self) -> float:
        return float((self.accepted + 1).sum() / self.target_calls)


def speculative_generate(target: ProbsFn, draft: ProbsFn, prompt: np.ndarray, n_tokens: int,
                         gamma: int, rng: np.random.Generator) -> SpeculativeRun:
    """Speculative steps until n_tokens new tokens exist (the last step may be cut short)."""
    ids = np.asarray(prompt)
    new: list[int] = []
    accepted, alphas = [], []
    while len(new) < n_tokens:
        step = speculative_step(target, draft, np.append(ids, new).astype(np.int64), gamma, rng)
        new.extend(int(t) for t in step.tokens)
        accepted.append(step.accepted)
        alphas.append(step.alpha[:min(step.accepted + 1, gamma)])    # the positions examined
    steps = len(accepted)
    return SpeculativeRun(tokens=np.array(new[:n_tokens]), target_calls=steps,
                          draft_calls=steps * gamma, accepted=np.array(accepted),
                          alpha=np.concatenate(alphas), gamma=gamma)
