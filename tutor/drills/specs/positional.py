"""Positions: RoPE, the sinusoidal table, ALiBi."""

from __future__ import annotations

import numpy as np

from engine.positional import alibi_bias, rope, sinusoidal_positions
from tutor.drills.specs import Case, Mistake, Spec, in_dtype, normal, register

F32 = np.float32


def _rope_ref(x, positions, base=10000.0):
    return rope(x, positions, theta=base)


def _rope_cases(rng):
    c = [Case("values, positions 0..n-1", (normal(rng, n, d), np.arange(n)))
         for n, d in [(1, 2), (3, 4), (5, 8)]]
    c.append(Case("positions not starting at 0", (normal(rng, 3, 6), np.array([100, 101, 102]))))
    c.append(Case("positions not starting at 0", (normal(rng, 4, 4), np.array([7, 0, 3, 3]))))
    c.append(Case("large positions", (normal(rng, 2, 8), np.array([4095, 65536]))))
    c.append(Case("batch and head dimensions", (normal(rng, 2, 3, 4, 6), np.arange(4))))
    c.append(Case("the base argument", (normal(rng, 3, 8), np.arange(3) * 50),
                  {"base": 500000.0}))
    c.append(Case("float32 stays float32", (normal(rng, 2, 5, 8, dtype=F32), np.arange(5))))
    return c


def _rope_interleaved(x, positions, base=10000.0):
    # GPT-J / the paper's pairing: (x0, x1), (x2, x3), ...
    d = x.shape[-1]
    inv = base ** (-np.arange(0, d, 2) / d)
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv
    cos, sin = np.cos(ang), np.sin(ang)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x2 * cos + x1 * sin
    return out


def _rope_freq_i_over_d(x, positions, base=10000.0):
    d = x.shape[-1]
    h = d // 2
    inv = base ** (-np.arange(h) / d)                       # i/d instead of 2i/d
    ang = np.asarray(positions, dtype=np.float64)[:, None] * inv
    cos, sin = np.concatenate([np.cos(ang)] * 2, -1), np.concatenate([np.sin(ang)] * 2, -1)
    rot = np.concatenate([-x[..., h:], x[..., :h]], -1)
    return x * cos + rot * sin


register(Spec(
    name="rope", params=("x", "positions", "base"),
    reference=in_dtype(_rope_ref),
    cases=_rope_cases,
    hints={"values, positions 0..n-1": "pair dimension i with i + d/2 (rotate half), not "
           "with i + 1 (interleaved, as GPT-J)",
           "positions not starting at 0": "use the positions you are given, not arange(n)"},
    mistakes=(Mistake("interleaved pairs (x0, x1), (x2, x3) as in GPT-J, not rotate-half",
                      _rope_interleaved),
              Mistake("frequencies base^(-i/d) instead of base^(-2i/d)", _rope_freq_i_over_d),
              Mistake("positions ignored (0..n-1 assumed)",
                      lambda x, positions, base=10000.0:
                      rope(x, np.arange(x.shape[-2]), theta=base))),
))


def _sin_cases(rng):
    c = [Case("values", a) for a in [(1, 2), (3, 4), (6, 8), (2, 16)]]
    c.append(Case("long sequences", (2048, 6)))
    c.append(Case("the base argument", (5, 6), {"base": 500.0}))
    return c


def _sin_halves(n, d, base=10000.0):
    freqs = base ** (-np.arange(0, d, 2) / d)
    ang = np.arange(n)[:, None] * freqs
    return np.concatenate([np.sin(ang), np.cos(ang)], axis=-1)


def _sin_i_over_d(n, d, base=10000.0):
    freqs = base ** (-np.arange(d // 2) / d)
    ang = np.arange(n)[:, None] * freqs
    pe = np.empty((n, d))
    pe[:, 0::2], pe[:, 1::2] = np.sin(ang), np.cos(ang)
    return pe


register(Spec(
    name="sinusoidal-positions", params=("n", "d", "base"),
    reference=lambda n, d, base=10000.0: sinusoidal_positions(n, d, base),
    cases=_sin_cases,
    mistakes=(Mistake("sines and cosines in two halves instead of interleaved", _sin_halves),
              Mistake("exponent i/d instead of 2i/d", _sin_i_over_d)),
))


def _alibi_cases(rng):
    c = [Case("a power-of-two number of heads", a) for a in [(1, 1, 1), (2, 3, 3), (8, 4, 4)]]
    c += [Case("any number of heads", a) for a in [(3, 2, 2), (6, 3, 3), (12, 2, 2)]]
    c.append(Case("n_q < n_k: queries at the end", (4, 2, 5)))
    return c


def _alibi_naive_slopes(n_head, n_q, n_k):
    slopes = 2.0 ** (-8.0 * np.arange(1, n_head + 1) / n_head)
    dist = np.abs(np.arange(n_k - n_q, n_k)[:, None] - np.arange(n_k))
    return -slopes[:, None, None] * dist


def _alibi_top_left(n_head, n_q, n_k):
    return alibi_bias(n_head, n_k, n_k)[:, :n_q, :]


register(Spec(
    name="alibi", params=("n_head", "n_q", "n_k"),
    reference=lambda n_head, n_q, n_k: alibi_bias(n_head, n_q, n_k),
    cases=_alibi_cases,
    hints={"any number of heads": "for n_head not a power of two, the geometric rule "
           "2^(-8 i / n_head) is not what ALiBi uses: see the docstring"},
    mistakes=(Mistake("the geometric rule 2^(-8 i / n) for every n_head", _alibi_naive_slopes),
              Mistake("queries aligned to the first keys instead of the last", _alibi_top_left),
              Mistake("a positive bias (+slope * distance)",
                      lambda n_head, n_q, n_k: -alibi_bias(n_head, n_q, n_k))),
))
