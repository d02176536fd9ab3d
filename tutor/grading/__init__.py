"""Parsers and graders shared by the card kinds: numbers, option letters, orders, free text.

Each card kind (tutor.kinds) decides what is right; these functions read what
people type. `numbers` reads 124M, 2^30 or 4096*4097/2; `text` matches free text
against key points and known wrong claims.
"""

from __future__ import annotations

import re
import string

from tutor.format import format_number
from tutor.grading.numbers import AnswerError, parse_number, relative_error, within

__all__ = ["AnswerError", "parse_number", "within", "relative_error", "format_number",
           "parse_letters", "grade_choice", "parse_order", "kendall_distance",
           "match_keypoints", "KeypointResult", "normalise"]


def __getattr__(name: str):
    # the free-text matcher loads the stemmer; import it only when it is used
    if name in ("match_keypoints", "KeypointResult", "Flag", "sentences"):
        from tutor.grading import text

        return getattr(text, name)
    raise AttributeError(f"module 'tutor.grading' has no attribute {name!r}")


# --- choice ---------------------------------------------------------------------------------

def parse_letters(text: str, n_options: int) -> set[str]:
    """'a,c', 'CA', 'a c', 'A and C' -> {'A', 'C'}; AnswerError for a letter out of range."""
    cleaned = re.sub(r"\band\b|[\s,;/+&|.]", "", text.strip(), flags=re.IGNORECASE).upper()
    if not cleaned:
        raise AnswerError("type one or more option letters, e.g. A or A,C")
    valid = string.ascii_uppercase[:n_options]
    bad = sorted({c for c in cleaned if c not in valid})
    if bad:
        raise AnswerError(f"{''.join(bad)} is not an option; choose from {', '.join(valid)}")
    return set(cleaned)


def grade_choice(text: str, correct_letters: str, n_options: int) -> bool:
    """Exact set match: every right option and no wrong one."""
    return parse_letters(text, n_options) == set(correct_letters)


# --- order ----------------------------------------------------------------------------------

def parse_order(text: str, n_steps: int) -> list[int]:
    """'3 1 2', '3,1,2' or '312' (up to 9 steps) -> [3, 1, 2]: a permutation of 1..n."""
    s = text.strip()
    if re.fullmatch(r"\d+", s) and n_steps <= 9:
        numbers = [int(c) for c in s]
    else:
        parts = [p for p in re.split(r"[\s,;>-]+", s) if p]
        if not parts or not all(p.isdigit() for p in parts):
            raise AnswerError(f"type the step numbers in order, e.g. {_example(n_steps)}")
        numbers = [int(p) for p in parts]
    if sorted(numbers) != list(range(1, n_steps + 1)):
        raise AnswerError(f"use each step number 1-{n_steps} once, e.g. {_example(n_steps)}")
    return numbers


def _example(n: int) -> str:
    return " ".join(str(i) for i in range(n, 0, -1))


def kendall_distance(a: list[int], b: list[int]) -> int:
    """Pairs the two orders rank differently (0 = same order; n(n-1)/2 = reversed)."""
    where = {x: i for i, x in enumerate(b)}
    ranks = [where[x] for x in a]
    return sum(1 for i in range(len(ranks)) for j in range(i + 1, len(ranks))
               if ranks[i] > ranks[j])


# --- key points (the old name of the word list, kept for callers) ---------------------------

def normalise(text: str) -> list[str]:
    """The canonical words of a text, as the key-point matcher compares them."""
    from tutor.grading.text import sentences

    return [t.word for s in sentences(text) for t in s]
