"""Errors a user can act on, and the argument checks that raise them.

Every message names the argument, the value received and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


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
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise :class:`UserError` unless ``low <= value <= high`` (open ends when asked)."""
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise UserError(f"{name}={value!r} is out of range; expected a value in {lo}, {hi}")


def check_positive_int(name: str, value: Any, *, allow_zero: bool = False) -> None:
    """Raise :class:`UserError` unless ``value`` is an int > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "a non-negative integer" if allow_zero else "a positive integer"
        raise UserError(f"{name}={value!r} is not valid; expected {what}")
