"""The comparison behind every drill: tolerances, infinities, NaN, dtypes, types."""

import numpy as np
import pytest

from tutor.drills.compare import compare, to_json


def test_equal_within_the_dtype_tolerance():
    e = np.array([1.0, 2.0])
    assert compare(e, e * (1 + 1e-9)) is None
    assert compare(e, e * (1 + 1e-5)) is not None
    e32 = e.astype(np.float32)
    assert compare(e32, e32 * np.float32(1 + 5e-5)) is None
    assert compare(e32, e32 * np.float32(1 + 1e-3)) is not None


def test_an_expected_infinity_is_never_matched_by_a_finite_value():
    e = np.array([-np.inf, 1.0])
    m = compare(e, np.array([-1e300, 1.0]))
    assert m is not None and m.index == (0,)
    assert compare(e, np.array([-np.inf, 1.0])) is None
    assert compare(e, np.array([np.inf, 1.0])) is not None


def test_nan_matches_only_nan_and_is_named():
    assert compare(np.array([np.nan]), np.array([np.nan])) is None
    m = compare(np.array([0.5, 0.5]), np.array([0.5, np.nan]))
    assert m.index == (1,) and "NaN" in m.message


def test_dtype_shape_and_type_are_checked():
    e = np.zeros((2, 3), dtype=np.float32)
    assert "dtype float64" in compare(e, np.zeros((2, 3))).message
    assert "shape (3, 2)" in compare(e, np.zeros((3, 2), dtype=np.float32)).message
    assert "returned list" in compare(e, [[0.0] * 3] * 2).message
    assert "expected an int" in compare(5, 5.0).message
    assert compare(5, np.int64(5)) is None
    assert compare(np.array([True]), np.array([1.0])) is not None


def test_tuples_report_which_item_differs():
    e = (np.zeros(2), np.ones(2))
    m = compare(e, (np.zeros(2), np.array([1.0, 2.0])))
    assert m.where == "[1]" and m.index == (1,)
    assert "expected 2" in compare(e, (np.zeros(2),)).message


@pytest.mark.parametrize("value", [np.array([np.inf, -np.inf, np.nan, 1.5]), float("nan")])
def test_json_has_no_non_finite_literals(value):
    import json

    json.dumps(to_json(value), allow_nan=False)
