"""DVS128 Gesture (Amir et al. 2017) as distributed: ``DvsGesture/`` with one AEDAT 3.1 recording
per user and lighting (``user01_fluorescent.aedat``), its ``*_labels.csv`` (``class,
startTime_usec, endTime_usec``, classes 1..11) and the trial lists ``trials_to_train.txt`` and
``trials_to_test.txt``; sensor 128 x 128, two polarities, 11 classes.

AEDAT 3.1 (iniVation): ``#`` header lines ending in ``\\r\\n``, the first ``#!AER-DAT3.1``, the
last ``#!END-HEADER``; then event packets, little-endian: a 28-byte header (int16 eventType,
int16 eventSource, int32 eventSize, eventTSOffset, eventTSOverflow, eventCapacity, eventNumber,
eventValid) and ``eventCapacity * eventSize`` bytes of events. Polarity events (type 1) are 8
bytes: uint32 data (bit 0 valid, bit 1 polarity, bits 2-16 y, bits 17-31 x) and int32 timestamp
(us), extended to 64 bits by ``eventTSOverflow << 31``. Other event types are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikeflow._numba_cache import njit
from spikeflow.data.events import EVENT_DTYPE
from spikeflow.data.read_ahead import read_ahead
from spikeflow.data.recordings import (
    EventFolder,
    Samples,
    corrupt,
    header_end,
    read_bytes,
    sort_by_time,
    word_views,
)
from spikeflow.errors import UserError

SENSOR_SIZE = (128, 128, 2)
CLASS_NAMES = (
    "hand clap", "right hand wave", "left hand wave", "right arm clockwise",
    "right arm counter clockwise", "left arm clockwise", "left arm counter clockwise",
    "arm roll", "air drums", "air guitar", "other gestures",
)  # fmt: skip
TRIAL_LISTS = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}
PACKET_HEADER = np.dtype([
    ("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
    ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4"),
])  # fmt: skip


@njit(nogil=True, cache=True)
def _walk(words: Any, pos: int, end: int) -> Any:  # pragma: no cover - compiled
    """Check the packet headers from byte ``pos`` to ``end`` without reading any event
    (``words``: :func:`~spikeflow.data.recordings.word_views` of the file). Returns ``(bound,
    error, offset)``: ``bound`` the polarity events the packets hold (valid or not); error 0
    none, 1 short packet header, 2 bad header, 3 packet past the end, 4 polarity size not 8."""
    bound = 0
    while pos < end:
        if pos + 28 > end:
            return bound, 1, pos
        head, j = words[pos % 4], pos // 4
        kind, size = head[j] & 0xFFFF, np.int64(head[j + 1])
        capacity, number = np.int64(head[j + 4]), np.int64(head[j + 5])
        if size == 0 or size >= 1 << 31 or capacity >= 1 << 31 or number > capacity:
            return bound, 2, pos
        if pos + 28 + size * capacity > end:
            return bound, 3, pos
        if kind == 1:
            if size != 8:
                return bound, 4, pos
            bound += number
        pos += 28 + size * capacity
    return bound, 0, pos


@njit(nogil=True, cache=True)
def _decode(  # pragma: no cover - compiled
    words: Any, pos: int, end: int, out: Any, w: int, h: int
) -> Any:
    """Copy the valid polarity events of the packets from byte ``pos`` to ``end`` (checked by
    :func:`_walk`) into ``out``, reading whole 32-bit words. Returns ``(events, unsorted,
    bad)``: ``bad`` the offset of the first event with an address outside ``w x h``, or -1."""
    n, unsorted, last = 0, False, np.int64(-1)
    while pos < end:
        head, j = words[pos % 4], pos // 4
        size, overflow = np.int64(head[j + 1]), np.int64(head[j + 3]) << 31
        capacity, number = np.int64(head[j + 4]), np.int64(head[j + 5])
        body = pos + 28
        if head[j] & 0xFFFF == 1:
            events, first = words[body % 4], body // 4
            for k in range(first, first + 2 * number, 2):
                data = events[k]
                if data & 1 == 0:
                    continue
                x, y = (data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF
                if x >= w or y >= h:
                    return n, unsorted, 4 * k + body % 4
                t = overflow | np.int64(events[k + 1] & 0x7FFFFFFF)
                e = out[n]
                e.x, e.y, e.p, e.t = x, y, (data >> 1) & 1, t
                unsorted |= t < last
                last = t
                n += 1
        pos = body + size * capacity
    return n, unsorted, -1


def open_aedat31(path: str | Path) -> Callable[[], np.ndarray]:
    """Map an AEDAT 3.1 file, check its header and packet headers and allocate its events; the
    returned job decodes them (:func:`read_aedat31` in two steps, for :mod:`read_ahead`).

    Arguments:
        path: the ``.aedat`` file.

    Returns:
        A function of no arguments that returns the events, as :func:`read_aedat31`.
    """
    path = Path(path)
    raw = read_bytes(path)
    pos = header_end(path, raw, b"#!AER-DAT3")
    words = word_views(raw)
    bound, error, offset = _walk(words, pos, len(raw))
    if error:
        raise corrupt(path, offset, _problem(raw, error, offset))
    out = np.empty(bound, EVENT_DTYPE)

    def decode() -> np.ndarray:
        n, unsorted, bad = _decode(words, pos, len(raw), out, SENSOR_SIZE[0], SENSOR_SIZE[1])
        if bad >= 0:
            raise corrupt(path, bad, _problem(raw, 5, bad))
        events = out[:n]  # a view: the pages of the unused tail (invalid events) are never touched
        return sort_by_time(events) if unsorted else events

    return decode


def read_aedat31(path: str | Path) -> np.ndarray:
    """The valid polarity events of an AEDAT 3.1 file: the file memory-mapped, its packet headers
    checked, then its events decoded in one numba pass into the returned array (no copy).

    Arguments:
        path: the ``.aedat`` file.

    Returns:
        Events ``[N]`` (fields ``x, y, t, p``; ``t`` in microseconds), sorted by ``t``.
    """
    return open_aedat31(path)()


def _problem(raw: np.ndarray, error: int, offset: int) -> str:
    """What is wrong at ``offset`` for an error code of :func:`_walk` (5: an event address
    outside the sensor, found by :func:`_decode`)."""
    if error == 1:
        return f"packet header of {len(raw) - offset} bytes, expected 28"
    if error == 5:
        data = int(np.frombuffer(raw, "<u4", 1, offset)[0])
        x, y = (data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF
        return f"polarity event at x={x}, y={y}, expected both < 128"
    head = np.frombuffer(raw, PACKET_HEADER, 1, offset)[0]
    size, capacity, number = int(head["size"]), int(head["capacity"]), int(head["number"])
    if error == 2:
        return (
            f"packet header with eventSize={size}, eventCapacity={capacity}, eventNumber={number}"
        )
    if error == 3:
        left = len(raw) - offset - PACKET_HEADER.itemsize
        return f"packet of {size * capacity} bytes of events, only {left} left"
    return f"polarity packet with eventSize={size}, expected 8"


def read_gesture_labels(path: str | Path) -> np.ndarray:
    """The gestures of a ``*_labels.csv`` file: ``int64 [G, 3]`` rows ``(class 0..10, start_us,
    end_us)``."""
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from err
    if not rows or [c.strip() for c in rows[0]] != ["class", "startTime_usec", "endTime_usec"]:
        raise UserError(f"{path}: first line {rows[0] if rows else ''}; expected the header "
                        "class,startTime_usec,endTime_usec")  # fmt: skip
    out = np.zeros((len(rows) - 1, 3), np.int64)
    for i, row in enumerate(rows[1:]):
        try:
            out[i] = [int(c) for c in row]
        except ValueError as err:
            raise UserError(
                f"{path}: line {i + 2} is {','.join(row)!r}; expected three integers"
            ) from err
        if not 1 <= out[i, 0] <= len(CLASS_NAMES) or out[i, 2] < out[i, 1]:
            raise UserError(f"{path}: line {i + 2} is {','.join(row)!r}; expected a class in "
                            f"1..{len(CLASS_NAMES)} and start <= end")  # fmt: skip
    out[:, 0] -= 1
    return out


def _folder(root: Path) -> Path:
    return root / "DvsGesture" if (root / "DvsGesture").is_dir() else root


def gesture_files(root: Path, split: str) -> list[Path]:
    """The recordings of ``split`` (from its trial list), each with its ``*_labels.csv``."""
    where = _folder(root)
    listing = where / TRIAL_LISTS[split]
    if not listing.is_file():
        raise DATASET.missing(root, f"DvsGesture/{TRIAL_LISTS[split]}")
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    files = [where / n for n in names]
    missing = [str(p.relative_to(root)) for f in files for p in (f, _labels(f)) if not p.is_file()]
    if missing:
        raise DATASET.missing(root, missing)
    return files


def _labels(recording: Path) -> Path:
    return recording.with_name(recording.stem + "_labels.csv")


@njit(nogil=True, cache=True)
def _first_at_or_after(events: Any, times: Any) -> Any:  # pragma: no cover - compiled
    """``np.searchsorted(events["t"], times)`` (left) without copying the strided field."""
    out = np.empty(times.shape, np.int64)
    flat, found = times.ravel(), out.ravel()
    for i in range(len(flat)):
        lo, hi = 0, len(events)
        while lo < hi:
            mid = (lo + hi) // 2
            if events[mid].t < flat[i]:
                lo = mid + 1
            else:
                hi = mid
        found[i] = lo
    return out


def _open_recording(recording: Path) -> Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Start reading a recording: its labels now; the job decodes its events and finds where
    each gesture starts and ends (``[G, 2]`` event indices)."""
    labels, decode = read_gesture_labels(_labels(recording)), open_aedat31(recording)

    def job() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        events = decode()
        return events, labels, _first_at_or_after(events, np.ascontiguousarray(labels[:, 1:]))

    return job


def gesture_samples(root: Path, split: str, workers: int = 1) -> Samples:
    """``(events, class)`` of every labelled gesture (events with ``start <= t < end``, views of
    their recording's events), the recordings read by ``workers`` threads in order.

    Arguments:
        root: the dataset folder (``DvsGesture/`` or the folder above it).
        split: ``"train"`` or ``"test"``.
        workers: reading threads (see :func:`~spikeflow.data.read_ahead.read_ahead`); more
            than 1 helps only where cores are idle; memory holds at most ``workers + 1``
            recordings' events.

    Returns:
        An iterator of ``(events [N], class 0..10)``.
    """
    for _, (events, labels, bounds) in read_ahead(
        _open_recording, gesture_files(root, split), workers
    ):
        for (label, _, _), (a, b) in zip(labels, bounds, strict=True):
            yield events[a:b], int(label)


DATASET = EventFolder(
    name="dvs_gesture",
    sensor_size=SENSOR_SIZE,
    class_names=CLASS_NAMES,
    splits=("train", "test"),
    layout="  DvsGesture/trials_to_train.txt, DvsGesture/trials_to_test.txt\n"
    "  DvsGesture/userNN_<lighting>.aedat and userNN_<lighting>_labels.csv for every trial listed"
    "\n  (DvsGesture.tar.gz unpacked; the folder itself may also be given)",
    source="https://research.ibm.com/interactive/dvsgesture/ (DvsGesture.tar.gz)",
    files=gesture_files,
    samples=gesture_samples,
)
