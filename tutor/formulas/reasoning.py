"""Test-time compute formulas: majority voting and best-of-n coverage of independent samples."""

from __future__ import annotations

import math

from tutor.formulas import Computed, formula


def _check(p: float, n: int) -> None:
    if not 0 <= p <= 1 or n < 1:
        raise ValueError(f"p={p} must be in [0, 1] and n={n} >= 1")


@formula("reasoning.majority_vote",
         "Probability that a strict majority of n independent samples is right, each right "
         "with probability p (binary answers, n odd)")
def majority_vote(p: float, n: int) -> Computed:
    _check(p, n)
    if n % 2 == 0:
        raise ValueError(f"n={n} must be odd so that a vote cannot tie")
    need = n // 2 + 1
    total = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(need, n + 1))
    return Computed(total, f"sum over k = {need}..{n} of C({n}, k) {p:g}^k {1 - p:g}^({n} - k) "
                           f"= {total:.4g}")


@formula("reasoning.coverage",
         "Probability that at least one of n independent samples is right: 1 - (1 - p)^n")
def coverage(p: float, n: int) -> Computed:
    _check(p, n)
    total = 1 - (1 - p) ** n
    return Computed(total, f"1 - (1 - {p:g})^{n} = 1 - {(1 - p) ** n:.4g} = {total:.4g}")
