"""Event-camera data in tonic's layout, its transforms, and time-major batching.

An event stream is a numpy structured array with fields ``x, y`` (pixel column and row), ``t``
(timestamp in microseconds, non-decreasing) and ``p`` (polarity, ``0`` off / ``1`` on), plus a
``sensor_size = (W, H, P)``, as the ``tonic`` package uses. Frames are ``[T, P, H, W]`` per sample and
batches come out time-major, ``[T, B, P, H, W]``.

The filters (:func:`denoise`, :func:`refractory_filter`) run in numba; the random transforms take
a ``numpy.random.Generator`` so they are reproducible.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

from spikeflow._numba_cache import njit
from spikeflow.errors import UserError, check_positive_int, check_range

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])


def make_events(x: ArrayLike, y: ArrayLike, t: ArrayLike, p: ArrayLike) -> np.ndarray:
    """A structured event array from four equal-length sequences, sorted by time (stable)."""
    x, y, t, p = (np.asarray(a) for a in (x, y, t, p))
    if not x.shape == y.shape == t.shape == p.shape or x.ndim != 1:
        raise UserError(
            f"x, y, t, p have shapes {x.shape}, {y.shape}, {t.shape}, {p.shape}; "
            "expected four 1-D arrays of one length"
        )
    events = np.empty(len(x), EVENT_DTYPE)
    for name, a in (("x", x), ("y", y), ("t", t), ("p", p)):
        events[name] = _integral(name, a, EVENT_DTYPE[name])
    return events[np.argsort(events["t"], kind="stable")]


def _integral(name: str, a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as ``dtype``, refusing non-integral or non-finite values and values outside the
    dtype's range (which a cast would wrap: ``x=65541`` would become 5)."""
    if a.size == 0:
        return a.astype(dtype)
    if a.dtype.kind not in "biuf":
        raise UserError(f"{name} has dtype {a.dtype}; expected integers")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
        bad = a[~(np.isfinite(a) & (a == np.round(a)))].flat[0]
        raise UserError(f"{name} holds {float(bad)!r}; expected whole numbers")
    info = np.iinfo(dtype)
    lo, hi = int(a.min()), int(a.max())  # whole and finite here
    if lo < info.min or hi > info.max:
        raise UserError(
            f"{name} spans [{lo}, {hi}]; expected values in [{info.min}, {info.max}] ({dtype})"
        )
    return a.astype(dtype)


def check_events(events: np.ndarray, sensor_size: tuple[int, int, int]) -> None:
    """Raise :class:`UserError` unless ``events`` fits ``sensor_size = (W, H, P)``."""
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    if not {"x", "y", "t", "p"} <= set(names):
        raise UserError(
            f"events has fields {names}; expected a numpy structured array with fields x, y, t, p"
        )
    if len(sensor_size) != 3 or any(
        not isinstance(s, int | np.integer) or s <= 0 for s in sensor_size
    ):
        raise UserError(
            f"sensor_size={sensor_size!r} is not valid; expected (W, H, P) positive ints"
        )
    if len(events) == 0:
        return
    w, h, p = sensor_size
    for name, high in (("x", w), ("y", h), ("p", p)):
        lo, hi = int(events[name].min()), int(events[name].max())
        if lo < 0 or hi >= high:
            raise UserError(
                f"events[{name!r}] spans [{lo}, {hi}]; expected values in [0, {high - 1}] "
                f"for sensor_size={tuple(sensor_size)}"
            )
    if np.any(np.diff(events["t"]) < 0):
        raise UserError("events['t'] is not sorted; expected non-decreasing timestamps (us)")


def _slices(
    events: np.ndarray,
    time_window: float | None,
    event_count: int | None,
    n_time_bins: int | None,
    start: float | None,
) -> np.ndarray:
    """Frame index of every event for the one slicing rule given."""
    given = [k for k, v in (("time_window", time_window), ("event_count", event_count),
                            ("n_time_bins", n_time_bins)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise UserError(
            f"{' and '.join(given) or 'none'} given; expected exactly one of time_window (us), "
            "event_count or n_time_bins"
        )
    t = events["t"]
    if time_window is not None:
        check_range("time_window", time_window, 0, low_open=True)
        t0 = (t[0] if len(t) else 0) if start is None else start
        if len(t) and t[0] < t0:
            raise UserError(f"start={start!r} is after the first event (t={t[0]}); expected <= it")
        return ((t - t0) // time_window).astype(np.int64)
    if event_count is not None:
        check_positive_int("event_count", event_count)
        return np.arange(len(t)) // event_count
    n_time_bins = check_positive_int("n_time_bins", n_time_bins)
    span = max(int(t[-1] - t[0]), 1) if len(t) else 1
    return np.minimum((t - (t[0] if len(t) else 0)) * n_time_bins // span, n_time_bins - 1)


def to_frames(
    events: np.ndarray,
    sensor_size: tuple[int, int, int],
    *,
    time_window: float | None = None,
    event_count: int | None = None,
    n_time_bins: int | None = None,
    start: float | None = None,
) -> np.ndarray:
    """Event counts per pixel and polarity in consecutive slices: ``[T, P, H, W]`` float32.

    Give exactly one rule: ``time_window`` (us; slice ``k`` holds ``t0 + k w <= t < t0 + (k+1) w``
    with ``t0 = start``, default the first timestamp), ``event_count`` (``n`` consecutive events
    per slice, the last may hold fewer) or ``n_time_bins`` (``[t0, t_last]`` cut into ``n`` equal
    bins; always ``n`` frames). An empty stream gives ``n_time_bins`` empty frames, or one.
    """
    check_events(events, sensor_size)
    w, h, p = sensor_size
    idx = _slices(events, time_window, event_count, n_time_bins, start)
    n = n_time_bins if n_time_bins is not None else (int(idx[-1]) + 1 if len(idx) else 1)
    frames = np.zeros((n, p, h, w), np.float32)
    np.add.at(frames, (idx, events["p"].astype(np.int64), events["y"], events["x"]), 1.0)
    return frames


@njit(cache=True)
def _denoise(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, w: int, h: int, filter_time: float
) -> np.ndarray:  # pragma: no cover - compiled
    last = np.full((w + 2, h + 2), -(1 << 62), np.int64)
    keep = np.zeros(len(t), np.bool_)
    for i in range(len(t)):
        xi, yi = x[i] + 1, y[i] + 1
        recent = -(1 << 62)
        for dx in range(-1, 2):
            for dy in range(-1, 2):
                if (dx != 0 or dy != 0) and last[xi + dx, yi + dy] > recent:
                    recent = last[xi + dx, yi + dy]
        keep[i] = t[i] - recent <= filter_time
        last[xi, yi] = t[i]
    return keep


def denoise(
    events: np.ndarray, sensor_size: tuple[int, int, int], filter_time: float
) -> np.ndarray:
    """Drop isolated events: keep one only if one of its 8 neighbouring pixels had an event (any
    polarity) at most ``filter_time`` us earlier (tonic's ``Denoise`` rule)."""
    check_events(events, sensor_size)
    check_range("filter_time", filter_time, 0, low_open=True)
    keep = _denoise(events["x"].astype(np.int64), events["y"].astype(np.int64), events["t"],
                    sensor_size[0], sensor_size[1], np.int64(filter_time))  # fmt: skip
    return events[keep]


@njit(cache=True)
def _refractory(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, w: int, h: int, period: float
) -> np.ndarray:  # pragma: no cover - compiled
    last = np.full((w, h), -(1 << 62), np.int64)
    keep = np.zeros(len(t), np.bool_)
    for i in range(len(t)):
        if t[i] - last[x[i], y[i]] >= period:
            keep[i] = True
            last[x[i], y[i]] = t[i]
    return keep


def refractory_filter(
    events: np.ndarray, sensor_size: tuple[int, int, int], period: float
) -> np.ndarray:
    """Drop every event that follows the last *kept* event of the same pixel (either polarity) by
    less than ``period`` us."""
    check_events(events, sensor_size)
    check_range("period", period, 0)
    keep = _refractory(events["x"].astype(np.int64), events["y"].astype(np.int64), events["t"],
                       sensor_size[0], sensor_size[1], np.int64(period))  # fmt: skip
    return events[keep]


def downsample(
    events: np.ndarray, sensor_size: tuple[int, int, int], factor: int
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Pool ``factor x factor`` pixels into one: ``x // factor``, ``y // factor``.

    Returns ``(events, new_sensor_size)`` with ``W' = ceil(W / factor)`` (and ``H'`` alike).
    """
    check_events(events, sensor_size)
    check_positive_int("factor", factor)
    out = events.copy()
    out["x"] //= factor
    out["y"] //= factor
    w, h, p = sensor_size
    return out, (-(-w // factor), -(-h // factor), p)


def time_jitter(events: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian noise of ``std`` us to every timestamp (rounded, clipped at 0), then re-sort."""
    check_range("std", std, 0, 1e15)  # 1e15 us (31 years): noise beyond would overflow int64 t
    out = events.copy()
    out["t"] = np.maximum(np.round(out["t"] + rng.normal(0.0, std, len(out))), 0).astype(np.int64)
    return out[np.argsort(out["t"], kind="stable")]


def drop_events(events: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Remove a random ``fraction`` of the events (each dropped independently), keeping order."""
    check_range("fraction", fraction, 0, 1)
    return events[rng.random(len(events)) >= fraction]


def pad_sequences(seqs: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Stack sequences ``[T_i, ...]`` time-major, zero-padded at the end: ``([T_max, B, ...],
    lengths [B])``."""
    if not seqs:
        raise UserError("seqs=[] is not valid; expected at least one sequence")
    lengths = torch.as_tensor([len(s) for s in seqs], dtype=torch.int64)
    out = seqs[0].new_zeros((int(lengths.max()), len(seqs), *seqs[0].shape[1:]))
    for b, s in enumerate(seqs):
        if s.shape[1:] != seqs[0].shape[1:]:
            raise UserError(
                f"sequence {b} has step shape {tuple(s.shape[1:])}; expected "
                f"{tuple(seqs[0].shape[1:])} like sequence 0"
            )
        out[: len(s), b] = s
    return out, lengths


def collate_time_major(batch: list[tuple[Tensor, int]]) -> tuple[Tensor, Tensor]:
    """Collate ``(sequence [T_i, ...], label)`` pairs into ``(x [T_max, B, ...], y [B])``.

    Shorter sequences are zero-padded at the end (use :func:`pad_sequences` for the lengths).
    """
    x, _ = pad_sequences([torch.as_tensor(s) for s, _ in batch])
    return x, torch.as_tensor([int(label) for _, label in batch], dtype=torch.int64)
