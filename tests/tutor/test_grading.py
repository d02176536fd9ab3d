"""Grading: numbers as people write them (property tests), letters, orders, key points."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutor.grading import (
    AnswerError,
    format_number,
    grade_choice,
    normalise,
    parse_letters,
    parse_number,
    parse_order,
    within,
)


@pytest.mark.parametrize("text, value", [
    ("124M", 124e6), ("1.2e8", 1.2e8), ("124,439,808", 124_439_808), ("7B", 7e9),
    ("2 GiB", 2 * 1024**3), ("350 GB", 350e9), ("1.5k", 1500), ("3T", 3e12),
    ("2^30", 1024**3), ("2**30", 1024**3), ("45%", 0.45), ("1.5 billion", 1.5e9),
    ("7 Billion", 7e9), ("124M params", 124e6), ("-3.5e-2", -0.035), (".5", 0.5),
    ("16 KiB", 16384), ("1 MB", 1e6), ("4 TiB", 4 * 2**40), ("1.2x10^8", 1.2e8),
    ("  42  ", 42), ("124 439 808", 124_439_808), ("6G", 6e9), ("10 bytes", 10),
])
def test_parse_number_examples(text, value):
    assert parse_number(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["", "abc", "12 34", "1,23", "M", "1.2.3", "5 GiBs extra"])
def test_unreadable_numbers_are_refused(text):
    with pytest.raises(AnswerError):
        parse_number(text)


_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, " KB": 1e3, " MB": 1e6, " GB": 1e9,
           " KiB": 2.0**10, " MiB": 2.0**20, " GiB": 2.0**30, " TiB": 2.0**40}


@given(st.floats(min_value=1e-3, max_value=1e15), st.sampled_from(sorted(_SUFFIX)))
def test_a_number_written_several_ways_reads_back(x, suffix):
    forms = [repr(x), f"{x:.16e}", f"{x:.17g}", f"{x / _SUFFIX[suffix]!r}{suffix}"]
    if x == int(x) and x < 1e15:
        forms.append(f"{int(x):,}")
    for form in forms:
        assert math.isclose(parse_number(form), x, rel_tol=1e-12), form


@given(st.integers(min_value=1, max_value=10**15))
def test_integers_with_thousands_separators(n):
    assert parse_number(f"{n:,}") == n
    assert parse_number(f"-{n:,}") == -n


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=2, max_value=10))
def test_powers(e, base):
    assert parse_number(f"{base}^{e}") == float(base) ** e


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_format_number_reads_back(x):
    shown = format_number(x).split(" (")[0]
    assert math.isclose(parse_number(shown), x, rel_tol=1e-3, abs_tol=1e-12)


def test_relative_tolerance():
    assert within(102, 100, 0.02) and within(98, 100, 0.02)
    assert not within(102.1, 100, 0.02) and not within(-100, 100, 0.5)
    assert within(0.001, 0, 0.02) and not within(0.1, 0, 0.02)


@pytest.mark.parametrize("text", ["a,c", "CA", "a c", "C and A", " c;a ", "A/C", "AC."])
def test_letters_any_order_case_and_separator(text):
    assert parse_letters(text, 4) == {"A", "C"}
    assert grade_choice(text, "AC", 4)


def test_choice_needs_the_exact_set():
    assert not grade_choice("A", "AC", 4)
    assert not grade_choice("ABC", "AC", 4)
    with pytest.raises(AnswerError, match="E is not an option"):
        parse_letters("a,e", 4)
    with pytest.raises(AnswerError):
        parse_letters(" , ", 4)


@pytest.mark.parametrize("text, n, order", [
    ("3 1 2", 3, [3, 1, 2]), ("312", 3, [3, 1, 2]), ("3,1,2", 3, [3, 1, 2]),
    ("3 > 1 > 2", 3, [3, 1, 2]), ("10 9 8 7 6 5 4 3 2 1", 10, list(range(10, 0, -1))),
])
def test_order_forms(text, n, order):
    assert parse_order(text, n) == order


@pytest.mark.parametrize("text", ["1 2", "1 1 2", "1 2 4", "abc", "3 1 2 4"])
def test_order_must_be_a_permutation(text):
    with pytest.raises(AnswerError):
        parse_order(text, 3)


def test_normalise_case_punctuation_plurals_and_stop_words():
    assert normalise("The Heads' LOGITS, softmaxes!") == ["head", "logit", "softmax"]
    assert normalise("class loss bus basis") == ["class", "loss", "bus", "basi"]
