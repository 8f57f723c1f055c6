"""Parameter and initial values: constants, arrays, random distributions and timed arrays.

A value given to a group (a parameter such as ``tau_m`` or an initial value such as ``v``) may be

- a number: the same for every neuron and every batch copy;
- an array of shape ``[N]`` (one per neuron) or ``[B, N]`` (one per batch copy and neuron);
- :class:`Uniform` or :class:`Normal`: drawn per neuron and per copy from the network's seeded
  generator when the network is built.

Inputs that change over time (Poisson rates, external currents) are :class:`TimedArray` s.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from spikeflow.errors import UserError, check_positive_int, check_range


def _check_finite(owner: str, **values: float) -> None:
    """Every value a finite real number (NaN and infinities pass comparisons unnoticed)."""
    for name, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            raise UserError(f"{owner}.{name}={value!r} is not valid; expected a finite number")


@dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly from ``[low, high)`` for every neuron and batch copy."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_finite("Uniform", low=self.low, high=self.high)
        if not self.high >= self.low:
            raise UserError(f"Uniform(low={self.low!r}, high={self.high!r}): expected low <= high")

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=shape)


@dataclass(frozen=True)
class Normal:
    """Values drawn from a normal distribution with ``mean`` and ``std`` (``std >= 0``)."""

    mean: float
    std: float

    def __post_init__(self) -> None:
        _check_finite("Normal", mean=self.mean, std=self.std)
        check_range("Normal.std", self.std, 0.0)

    def sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return rng.normal(self.mean, self.std, size=shape)


Value = float | int | np.ndarray | Uniform | Normal


def resolve(name: str, value: Value, n: int, batch: int, rng: np.random.Generator) -> np.ndarray:
    """Turn a value spec into a float64 array ``[batch, n]`` (see the module docstring)."""
    if isinstance(value, Uniform | Normal):
        return value.sample(rng, (batch, n)).astype(np.float64)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{name}={value!r} is not valid; expected a number or an array") from None
    if arr.ndim == 0:
        out = np.full((batch, n), float(arr))
    elif arr.shape == (n,):
        out = np.broadcast_to(arr, (batch, n)).copy()
    elif arr.shape == (batch, n):
        out = arr.copy()
    else:
        raise UserError(
            f"{name} has shape {tuple(arr.shape)}; expected a number, [N]=({n},) "
            f"or [B, N]=({batch}, {n})"
        )
    if not np.all(np.isfinite(out)):
        raise UserError(f"{name} contains non-finite values; expected finite numbers")
    return out


@dataclass(frozen=True, eq=False)
class TimedArray:
    """Values that change over time: row ``k`` holds from ``k * step`` ms to ``(k + 1) * step``.

    Arguments:
        values: ``[S, N]`` (the same for every batch copy) or ``[S, B, N]``. After the last row
            the last row holds.
        step: duration of one row in ms; a whole number of simulation steps.

    The time is the network's clock (``Network.t``), counted from its creation.
    """

    values: np.ndarray
    step: float

    def __post_init__(self) -> None:
        check_range("TimedArray.step", self.step, 0.0, low_open=True)
        arr = np.asarray(self.values, dtype=np.float64)
        if arr.ndim not in (2, 3) or arr.shape[0] == 0:
            raise UserError(
                f"TimedArray.values has shape {tuple(arr.shape)}; expected [S, N] or [S, B, N]"
            )
        object.__setattr__(self, "values", arr)

    def rows(self, name: str, n: int, batch: int) -> np.ndarray:
        """The values as ``[S, batch, n]`` float64."""
        arr = self.values
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if arr.shape[1] not in (1, batch) or arr.shape[2] != n:
            raise UserError(
                f"{name} (TimedArray) has shape {tuple(self.values.shape)}; expected [S, {n}] "
                f"or [S, {batch}, {n}]"
            )
        return np.ascontiguousarray(np.broadcast_to(arr, (arr.shape[0], batch, n)))

    def every(self, dt: float) -> int:
        """Simulation steps per row (``step / dt``, which must be a whole number)."""
        ratio = self.step / dt
        steps = round(ratio)
        if steps < 1 or abs(ratio - steps) > 1e-9 * max(1.0, ratio):
            raise UserError(
                f"TimedArray.step={self.step!r} ms is not a whole multiple of dt={dt!r} ms"
            )
        check_positive_int("TimedArray.step / dt", steps)
        return steps


Drive = Value | TimedArray


def resolve_drive(
    name: str, value: Drive, n: int, batch: int, rng: np.random.Generator, dt: float
) -> tuple[np.ndarray, int]:
    """A constant or timed input as ``([S, batch, n] float64, steps per row)``."""
    if isinstance(value, TimedArray):
        return value.rows(name, n, batch), value.every(dt)
    return resolve(name, value, n, batch, rng)[None], 1
