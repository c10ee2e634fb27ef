"""The validation layer: every invalid input raises ValueError naming the parameter.

The property tests run hypothesis' default number of examples (the profile's: ten times
more under ``pytest -m fuzz``). Their domain is the whole input space of each strategy: the
contract holds for every value.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from symrep.validation import (
    PARAMETER_RANGES,
    check_parameter,
    check_parameters,
    check_positive_int,
    check_seed,
)

NAMES = sorted(PARAMETER_RANGES)


def valid_value(name):
    low = 0.0 if PARAMETER_RANGES[name].closed else 5e-324
    return st.floats(min_value=low, max_value=1e300, allow_nan=False, allow_infinity=False)


def invalid_value(name):
    """Non-finite numbers, numbers below the range, and values that are not numbers."""
    below = (
        st.floats(max_value=-5e-324, allow_nan=False, allow_infinity=False)
        if PARAMETER_RANGES[name].closed
        else st.floats(max_value=0.0, allow_nan=False, allow_infinity=False)
    )
    return st.one_of(
        below,
        st.sampled_from([math.nan, math.inf, -math.inf, np.nan]),
        st.integers(max_value=-1),
        st.text(max_size=5),
        st.none(),
        st.booleans(),
        st.complex_numbers(allow_nan=False),
        st.lists(st.floats(), max_size=3),
    )


@pytest.mark.fuzz
@given(st.data())
def test_valid_scalars_pass_through_unchanged(data):
    name = data.draw(st.sampled_from(NAMES))
    value = data.draw(valid_value(name))
    out = check_parameter(name, value)
    assert isinstance(out, float)
    assert out == value


@pytest.mark.fuzz
@given(st.data())
def test_invalid_scalars_raise_value_error_naming_the_parameter(data):
    name = data.draw(st.sampled_from(NAMES))
    value = data.draw(invalid_value(name))
    with pytest.raises(ValueError) as info:
        check_parameter(name, value)
    assert name in str(info.value)


@pytest.mark.fuzz
@given(st.data())
def test_arrays_valid_pass_unchanged_and_one_bad_element_is_reported(data):
    name = data.draw(st.sampled_from(NAMES))
    values = data.draw(st.lists(valid_value(name), min_size=1, max_size=20))
    out = check_parameter(name, values, allow_array=True)
    np.testing.assert_array_equal(out, np.asarray(values, dtype=float))
    bad_index = data.draw(st.integers(0, len(values) - 1))
    bad = data.draw(st.sampled_from([math.nan, math.inf, -1.0]))
    values[bad_index] = bad
    with pytest.raises(ValueError, match=rf"{name} = .* at index {bad_index}"):
        check_parameter(name, values, allow_array=True)


def test_arrays_are_rejected_unless_allowed():
    with pytest.raises(ValueError, match="alpha"):
        check_parameter("alpha", [1.0, 2.0])
    with pytest.raises(ValueError, match="alpha"):
        check_parameter("alpha", [], allow_array=True)


def test_message_names_value_and_range():
    with pytest.raises(ValueError) as info:
        check_parameter("lam", -0.5)
    msg = str(info.value)
    assert "lam = -0.5" in msg and "[0, inf)" in msg
    with pytest.raises(ValueError, match=r"beta = nan .*\(0, inf\)"):
        check_parameter("beta", float("nan"))


def test_boundaries():
    assert check_parameter("lam", 0.0) == 0.0
    for name in ["alpha", "beta", "rho", "eta"]:
        with pytest.raises(ValueError, match=name):
            check_parameter(name, 0.0)


def test_unknown_parameter_name():
    with pytest.raises(ValueError, match="unknown parameter"):
        check_parameter("gamma", 1.0)


def test_check_parameters_returns_all():
    assert check_parameters(alpha=2, beta=0.5, lam=0) == {"alpha": 2.0, "beta": 0.5, "lam": 0.0}


@pytest.mark.fuzz
@given(st.integers(min_value=1, max_value=10**12))
def test_positive_int_valid(n):
    assert check_positive_int("N", n) == n


@pytest.mark.fuzz
@given(
    st.one_of(
        st.integers(max_value=0),
        st.floats(),
        st.text(max_size=3),
        st.none(),
        st.booleans(),
    )
)
def test_positive_int_invalid(value):
    with pytest.raises(ValueError, match="N = .* positive integer"):
        check_positive_int("N", value)


def test_seed():
    assert check_seed(None) is None
    assert check_seed(0) == 0
    assert check_seed(np.int64(7)) == 7
    for bad in (-1, 1.5, "1", True):
        with pytest.raises(ValueError, match="seed"):
            check_seed(bad)
