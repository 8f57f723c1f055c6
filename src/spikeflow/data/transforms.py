"""How a neuromorphic sample's events become network input: the settings a user configures
(``"n_time_bins=10,downsample=2"``) and the one function that applies them.

Vision events ``(x, y, t, p)`` on ``(W, H, P)``: optional denoise (tonic's rule,
:func:`~spikeflow.data.events.denoise`), spatial downsampling by an integer factor, then frames
``[T, P, H', W']`` by time window, event count or number of bins
(:func:`~spikeflow.data.events.to_frames`). Audio events ``(t, unit)`` on ``(units,)``: counts
``[T, units']`` in time bins over ``[0, duration)`` (window or number of bins) or by event count,
channels pooled by ``downsample``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from spikeflow.data.events import denoise, downsample, to_frames
from spikeflow.errors import UserError, check_positive_int, check_range

SLICINGS = ("n_time_bins", "time_window", "event_count")


@dataclass(frozen=True)
class EventTransform:
    """Settings of the events-to-tensor transform (one slicing rule).

    Attributes:
        n_time_bins: ``T`` equal bins (vision: first to last event; audio: ``[0, duration)``).
        time_window: bin width in microseconds.
        event_count: events per frame.
        downsample: pool ``f x f`` pixels (vision) or ``f`` channels (audio) into one.
        denoise: drop vision events with no neighbour event in the last ``denoise`` us (0: off).
        duration: audio only: the span binned, in microseconds (spikes after it are dropped).
    """

    n_time_bins: int | None = None
    time_window: float | None = None
    event_count: int | None = None
    downsample: int = 1
    denoise: float = 0.0
    duration: float = 1_000_000.0

    def __post_init__(self) -> None:
        given = [k for k in SLICINGS if getattr(self, k) is not None]
        if len(given) != 1:
            raise UserError(f"transform sets {' and '.join(given) or 'no slicing'}; expected "
                            f"exactly one of {', '.join(SLICINGS)}")  # fmt: skip
        for name in ("n_time_bins", "event_count"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        if self.time_window is not None:
            check_range("time_window", self.time_window, 0, low_open=True)
        check_positive_int("downsample", self.downsample)
        check_range("denoise", self.denoise, 0)
        check_range("duration", self.duration, 0, low_open=True)

    def as_dict(self) -> dict:
        """The settings as plain values (the cache key is built from them)."""
        return asdict(self)


def parse_transform(text: str, default: EventTransform) -> EventTransform:
    """Settings from ``"key=value,key=value"`` over ``default``; a slicing rule given replaces
    the default one. An empty string gives ``default``."""
    values = default.as_dict()
    names = {f.name: f for f in fields(EventTransform)}
    items = [i for i in (text or "").split(",") if i.strip()]
    if any(i.split("=")[0].strip() in SLICINGS for i in items):
        values.update(dict.fromkeys(SLICINGS))
    for item in items:
        key, sep, raw = (s.strip() for s in item.partition("="))
        if not sep or key not in names:
            raise UserError(f"transform item {item.strip()!r} is not valid; expected key=value "
                            f"with key one of {', '.join(names)}")  # fmt: skip
        try:
            number = float(raw)
        except ValueError as err:
            raise UserError(f"transform {key}={raw!r} is not valid; expected a number") from err
        whole = key in ("n_time_bins", "event_count", "downsample")
        if whole and not (math.isfinite(number) and number == int(number)):
            raise UserError(f"transform {key}={raw!r} is not valid; expected an integer")
        values[key] = int(number) if whole else number
    return EventTransform(**values)


def step_shape(transform: EventTransform, sensor_size: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of one time step of the output: ``(P, H', W')`` or ``(units',)``."""
    f = transform.downsample
    if len(sensor_size) == 1:
        return (math.ceil(sensor_size[0] / f),)
    w, h, p = sensor_size
    return (p, math.ceil(h / f), math.ceil(w / f))


def apply_transform(
    transform: EventTransform, events: np.ndarray, sensor_size: tuple[int, ...]
) -> np.ndarray:
    """One sample's events as counts ``[T, *step_shape]`` float32.

    Arguments:
        transform: the settings.
        events: vision ``(x, y, t, p)`` or audio ``(t, unit)`` events, sorted by ``t`` (us).
        sensor_size: ``(W, H, P)`` or ``(units,)``.

    Returns:
        ``[T, P, H', W']`` (vision) or ``[T, units']`` (audio) float32 counts.
    """
    if len(sensor_size) == 1:
        return _audio_frames(transform, events, sensor_size[0])
    w, h, p = sensor_size
    vision = (w, h, p)
    if transform.denoise > 0:
        events = denoise(events, vision, transform.denoise)
    if transform.downsample > 1:
        events, vision = downsample(events, vision, transform.downsample)
    return to_frames(events, vision, time_window=transform.time_window,
                     event_count=transform.event_count, n_time_bins=transform.n_time_bins)  # fmt: skip


def _audio_frames(transform: EventTransform, events: np.ndarray, units: int) -> np.ndarray:
    if transform.denoise > 0:
        raise UserError(f"transform denoise={transform.denoise!r} is not valid for audio events; "
                        "expected 0")  # fmt: skip
    t, unit = events["t"], events["unit"].astype(np.int64) // transform.downsample
    if transform.event_count is not None:
        step = np.arange(len(t)) // transform.event_count
        steps = int(step[-1]) + 1 if len(t) else 1
    else:
        keep = t < transform.duration
        t, unit = t[keep], unit[keep]
        if transform.n_time_bins is not None:
            steps = transform.n_time_bins
            width = transform.duration / steps
        else:  # a time_window: the one slicing set that is not a count
            width = check_range("time_window", transform.time_window, 0, low_open=True)
            steps = math.ceil(transform.duration / width - 1e-9)
        step = np.minimum((t / width).astype(np.int64), steps - 1)
    width_out = math.ceil(units / transform.downsample)
    counts = np.bincount(step * width_out + unit, minlength=steps * width_out)
    return counts.astype(np.float32).reshape(steps, width_out)
