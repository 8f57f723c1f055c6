"""The shared checks of :mod:`spikeflow.errors` refuse NaN always and infinities unless allowed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikeflow.errors import UserError, check_number, check_range

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "bounds",
    [{}, {"low": 0}, {"low": 0, "low_open": True}, {"high": 1}, {"low": 0, "high": 1}],
)
def test_check_range_refuses_nan_for_every_range(bounds):
    with pytest.raises(UserError, match=r"^lr=nan is not valid; expected a finite number in"):
        check_range("lr", NAN, **bounds)


@pytest.mark.parametrize("value", [INF, -INF])
def test_check_range_refuses_infinity_even_without_a_bound(value):
    with pytest.raises(UserError, match="expected a finite number in"):
        check_range("w_total", value)
    with pytest.raises(UserError, match="expected a finite number"):
        check_range("w_total", value, 0)


def test_check_range_allows_infinity_in_range_when_asked():
    assert check_range("timeout", INF, 0, allow_inf=True) == INF
    with pytest.raises(UserError, match="out of range"):
        check_range("timeout", -INF, 0, allow_inf=True)
    with pytest.raises(UserError, match="not valid"):
        check_range("timeout", NAN, 0, allow_inf=True)


@pytest.mark.parametrize("value", ["0.5", None, True, np.bool_(True), [0.5]])
def test_check_range_refuses_non_numbers(value):
    with pytest.raises(UserError, match="not valid"):
        check_range("p", value, 0, 1)


def test_check_range_accepts_and_returns_real_numbers():
    assert check_range("p", 1, 0, 1) == 1.0
    assert check_range("p", np.float32(0.25), 0, 1) == 0.25
    assert math.isclose(check_range("x", 1e300), 1e300)
    with pytest.raises(UserError, match=r"^p=0 is out of range; expected a value in \(0, 1\]"):
        check_range("p", 0, 0, 1, low_open=True)


@pytest.mark.parametrize("value", [NAN, INF, -INF, True])
def test_check_number_refuses_non_finite(value):
    with pytest.raises(UserError, match="expected a finite"):
        check_number("x", value)
