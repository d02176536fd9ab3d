"""tokenization formulas."""

from __future__ import annotations

from tutor.formulas import Computed, formula  # noqa: F401
from tutor.formulas import fmt_number as _n  # noqa: F401
