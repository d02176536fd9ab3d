"""Grading answers: numbers with units, option letters, step orders and key points.

Numbers are read the way people write them in interviews:

    124M  1.2e8  124,439,808  7B  1.5k  3T  2^30  45%  2 GiB  350 GB  1.5 billion

- K, M, B (or G) and T after a number are thousand, million, billion and trillion.
- KB, MB, GB and TB are decimal bytes (1e3 ... 1e12); KiB, MiB, GiB and TiB are
  binary bytes (2^10 ... 2^40). So `7B` is seven billion, and `7 GB` is 7e9 bytes.
- A percentage is a fraction: `45%` is 0.45.
- A trailing plain word such as `params`, `bytes` or `FLOPs` is ignored.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

_SCALE = {
    "": 1.0, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "b": 1e9, "B": 1e9, "G": 1e9, "T": 1e12,
    "KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
    "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40, "PiB": 2.0**50,
    "%": 0.01,
}
_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}

_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.\d+(?:[eE][-+]?\d+)?"
_FORM = re.compile(
    rf"^(?P<num>{_NUMBER})"
    rf"(?:\s*(?:\^|\*\*)\s*(?P<exp>[-+]?\d+(?:\.\d+)?))?"
    r"\s*(?P<unit>[KMGTP]i?B|kB|(?i:thousand|million|billion|trillion)|[kKmMbBGT%])?"
    r"(?:\s+(?P<word>[A-Za-z][A-Za-z-]*))?$")


class AnswerError(ValueError):
    """An answer that cannot be read (not a wrong answer: it is asked again)."""


def parse_number(text: str) -> float:
    """A number as people write it (see the module docstring) -> float."""
    s = text.strip().replace("_", "")
    s = re.sub(r"(?<=\d) (?=\d{3}\b)", "", s)  # 124 439 808
    s = s.replace("×10^", "e").replace("x10^", "e").replace("*10^", "e")
    m = _FORM.match(s)
    if not m:
        raise AnswerError(f"{text.strip()!r} is not a number (try 124M, 1.2e8, 2^30 or 2 GiB)")
    value = float(m["num"].replace(",", ""))
    if m["exp"] is not None:
        try:
            value = value ** float(m["exp"])
        except OverflowError:
            raise AnswerError(f"{text.strip()!r} is too large") from None
    unit = m["unit"] or ""
    value *= _WORDS.get(unit.lower(), _SCALE.get(unit, 1.0))
    return value


def within(given: float, truth: float, tolerance: float) -> bool:
    """Relative tolerance: |given - truth| <= tolerance * |truth| (absolute when truth is 0)."""
    return abs(given - truth) <= tolerance * (abs(truth) if truth else 1.0)


def format_number(x: float) -> str:
    """A number for people: 124,439,808 (124.4M), or 3.2e-05."""
    if float(x).is_integer() and abs(x) < 1e18:
        n = f"{int(x):,}"
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if abs(x) >= scale * 10:
                return f"{n} ({x / scale:.4g}{suffix})"
        return n
    return f"{x:.4g}"


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


# --- key points -----------------------------------------------------------------------------

def normalise(text: str) -> list[str]:
    """Lower case, punctuation gone, simple plurals singular: the words compared."""
    words = re.sub(r"[^\w\s]", " ", text.lower().replace("'", "")).split()
    return [_singular(w) for w in words]


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _covers(answer: list[str], phrase: list[str]) -> bool:
    """The phrase's words appear in the answer in order (gaps allowed), or as a substring."""
    if not phrase:
        return False
    if " ".join(phrase) in " ".join(answer):
        return True
    it = iter(answer)
    return all(word in it for word in phrase)


@dataclass(frozen=True)
class KeypointResult:
    covered: list[str]
    missed: list[str]


def match_keypoints(answer: str, points) -> KeypointResult:
    """Which key points an answer covers: any accepted phrasing counts.

    `points` are KeyPoint models (`.point`, `.phrasings`).
    """
    words = normalise(answer)
    covered, missed = [], []
    for kp in points:
        hit = any(_covers(words, normalise(p)) for p in kp.phrasings)
        (covered if hit else missed).append(kp.point)
    return KeypointResult(covered, missed)
