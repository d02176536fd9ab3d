"""Attention formulas: complexity, scaling, masks, sparse patterns."""

from __future__ import annotations

from tutor.formulas import Computed, formula
from tutor.formulas import fmt_number as _n


@formula("complexity.score_entries", "Entries of the n x n attention score matrix per head")
def score_entries(n: int, heads: int = 1, batch: int = 1) -> Computed:
    total = batch * heads * n * n
    return Computed(total, f"{batch} x {heads} x {_n(n)}^2 = {_n(total)}")
