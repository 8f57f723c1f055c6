"""Input checks shared by the encoders and decoders: each raises :class:`UserError`."""

from __future__ import annotations

import math

import torch

from spikeflow.errors import UserError, check_positive_int


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
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0):
        what = "a finite positive number" if positive else "a finite number"
        raise UserError(f"{name}={value!r} is not valid; expected {what}")
    return float(value)


def check_num_steps(value: object) -> int:
    """Require a positive integer number of time steps."""
    check_positive_int("num_steps", value)
    return int(value)  # type: ignore[call-overload]
