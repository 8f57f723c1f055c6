"""Errors a user can act on, and the argument and tensor checks that raise them.

Every message names the argument, the value received and what was expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, TypeGuard

import numpy as np
import torch


class UserError(ValueError):
    """Bad input from a user: printed by the CLI as one line, without a traceback."""


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise :class:`UserError` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise UserError(f"{name}={value!r} is not valid; expected one of {valid}")


def check_range(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Require a real number with ``low <= value <= high`` (open ends when asked); return it as a float.

    NaN is always refused (every comparison with NaN is false, so a plain range test lets it
    through); ``inf`` and ``-inf`` are refused unless ``allow_inf``, even where the range has no bound.

    Arguments:
        name: the argument's name, as the user wrote it (``"lr"``, ``"--dt"``).
        value: the value received.
        low: the lower bound (``None``: unbounded).
        high: the upper bound (``None``: unbounded).
        low_open: exclude ``low`` itself.
        high_open: exclude ``high`` itself.
        allow_inf: accept an infinite value that lies in the range.

    Returns:
        ``value`` as a float.
    """
    lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
    hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
    if not is_real(value) or math.isnan(value) or (math.isinf(value) and not allow_inf):
        what = "a number" if allow_inf else "a finite number"
        raise UserError(f"{name}={value!r} is not valid; expected {what} in {lo}, {hi}")
    v = float(value)
    bad_low = low is not None and (v <= low if low_open else v < low)
    bad_high = high is not None and (v >= high if high_open else v > high)
    if bad_low or bad_high:
        raise UserError(f"{name}={value!r} is out of range; expected a value in {lo}, {hi}")
    return v


def is_real(value: object) -> TypeGuard[numbers.Real]:
    """Whether ``value`` is a real number (a Python or numpy scalar, not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """Raise :class:`UserError` unless ``value`` is an int > 0 (or >= 0 with ``allow_zero``); return it."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "a non-negative integer" if allow_zero else "a positive integer"
        raise UserError(f"{name}={value!r} is not valid; expected {what}")
    return int(value)


def check_floating(name: str, x: object) -> None:
    """Require a floating-point :class:`torch.Tensor`."""
    if not isinstance(x, torch.Tensor):
        raise UserError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if not x.is_floating_point():
        raise UserError(
            f"{name} has dtype {x.dtype}; expected a floating dtype "
            "(float16, bfloat16, float32 or float64); convert it with .float()"
        )


def check_min_dims(name: str, x: torch.Tensor, ndim: int, layout: str) -> None:
    """Require at least ``ndim`` dimensions, naming the expected ``layout``."""
    if x.dim() < ndim:
        raise UserError(
            f"{name} has shape {tuple(x.shape)}; expected at least {ndim} dims laid out as {layout}"
        )


def check_finite(name: str, x: torch.Tensor) -> None:
    """Reject NaN and infinite values."""
    if not bool(torch.isfinite(x).all()):
        raise UserError(f"{name} contains NaN or infinite values; expected finite numbers")


def check_values_in(name: str, x: torch.Tensor, low: float, high: float) -> None:
    """Require every element of ``x`` to lie in ``[low, high]`` (NaN is rejected too)."""
    check_finite(name, x)
    if x.numel() == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    if lo < low or hi > high:
        raise UserError(
            f"{name} has values in [{lo:g}, {hi:g}]; expected values in [{low:g}, {high:g}]"
        )


def check_number(name: str, value: object, *, positive: bool = False) -> float:
    """Require a finite real number (strictly positive when asked); return it as a float."""
    if not is_real(value) or not math.isfinite(value) or (positive and value <= 0):
        what = "a finite positive number" if positive else "a finite number"
        raise UserError(f"{name}={value!r} is not valid; expected {what}")
    return float(value)


def check_num_steps(value: object) -> int:
    """Require a positive integer number of time steps."""
    return check_positive_int("num_steps", value)
