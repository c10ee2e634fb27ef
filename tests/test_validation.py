"""The validation layer: every invalid input raises ValueError naming the parameter.

The property tests run hypothesis' default number of examples (the profile's: ten times
more under ``pytest -m fuzz``). Their domain is the whole input space of each strategy: the
contract holds for every value.
"""

import math
import re

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
    rule = PARAMETER_RANGES[name]
    return st.floats(min_value=rule.low, max_value=rule.high, allow_nan=False,
                     allow_infinity=False, exclude_min=not rule.closed,
                     exclude_max=not rule.high_closed)


def invalid_value(name):
    """Non-finite numbers, numbers outside the range (finite floats and Python ints too
    large for a float), and values that are not numbers."""
    rule = PARAMETER_RANGES[name]
    below = st.floats(max_value=rule.low, allow_nan=False, allow_infinity=False,
                      exclude_max=rule.closed)
    above = st.floats(min_value=rule.high, allow_nan=False, allow_infinity=False,
                      exclude_min=rule.high_closed)
    return st.one_of(
        below,
        above,
        st.integers(min_value=10**309, max_value=10**400),
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


def test_zero_dimensional_arrays_are_the_numbers_they_hold():
    # np.array(2.0) is a number to NumPy (and to the solvers): accepted as 2.0
    assert check_parameter("rho", np.array(2.0)) == 2.0
    assert type(check_parameter("rho", np.array(2.0))) is float
    assert check_parameter("alpha", np.array(3)) == 3.0
    assert check_parameters(rho=np.array(2.0), allow_array=True)["rho"] == 2.0
    for bad in (np.array(-1.0), np.array(np.nan), np.array(True), np.array("2")):
        with pytest.raises(ValueError, match="rho"):
            check_parameter("rho", bad)


def test_non_numbers_are_a_value_error_naming_the_parameter():
    import datetime
    import fractions

    import symrep

    for value in (datetime.timedelta(1), np.timedelta64(1, "D"), 1j, object(),
                  np.array(datetime.timedelta(1)), fractions.Fraction(10**400, 3)):
        with pytest.raises(ValueError, match="alpha"):
            check_parameter("alpha", value)
    with pytest.raises(ValueError, match="^alpha"):
        symrep.solve(alpha=datetime.timedelta(1), beta=0.5, lam=1.0)
    assert symrep.solve(alpha=1.0, beta=0.5, lam=1.0, rho=np.array(2.0)) == \
        symrep.solve(alpha=1.0, beta=0.5, lam=1.0, rho=2.0)


def test_message_names_value_and_range():
    with pytest.raises(ValueError) as info:
        check_parameter("lam", -0.5)
    msg = str(info.value)
    assert "lam = -0.5" in msg and "[0, 1e6]" in msg
    with pytest.raises(ValueError, match=r"beta = nan .*\[1e-6, 1e6\]"):
        check_parameter("beta", float("nan"))


def test_ranges_are_finite_and_documented():
    """Every range is bounded (a value too large to compute is bad input), and the table
    in the module docstring states the same bounds as PARAMETER_RANGES."""
    import symrep.validation as validation

    for name, rule in PARAMETER_RANGES.items():
        assert math.isfinite(rule.high), name
        assert f"{name:<9}  {str(rule):<14}  " in validation.__doc__, name
        with pytest.raises(ValueError, match=rf"{name} = .*{re.escape(str(rule))}"):
            check_parameter(name, rule.high * 1.0001)


def test_integers_too_large_for_a_float_are_a_value_error():
    with pytest.raises(ValueError, match=r"alpha = 100000\.\.\.000 \(401 digits\)"):
        check_parameter("alpha", 10**400)
    with pytest.raises(ValueError, match="lam"):
        check_parameters(lam=-(10**400))


def test_boundaries():
    assert check_parameter("lam", 0.0) == 0.0
    for name in ["alpha", "beta", "rho", "eta"]:
        with pytest.raises(ValueError, match=name):
            check_parameter(name, 0.0)
    for name, rule in PARAMETER_RANGES.items():  # both ends are allowed values
        assert check_parameter(name, rule.low) == rule.low
        assert check_parameter(name, rule.high) == rule.high


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
    assert check_seed(2**63 - 1) == 2**63 - 1
    for bad in (-1, 1.5, "1", True, 2**63):
        with pytest.raises(ValueError, match="seed"):
            check_seed(bad)
