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
from pathlib import Path

import numpy as np

from spikeflow.data.events import EVENT_DTYPE
from spikeflow.data.recordings import (
    EventFolder,
    Samples,
    check_range,
    corrupt,
    header_end,
    read_bytes,
    sort_by_time,
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
POLARITY_TYPE = 1
POLARITY_EVENT = np.dtype([("data", "<u4"), ("t", "<i4")])


def read_aedat31(path: str | Path) -> np.ndarray:
    """The valid polarity events of an AEDAT 3.1 file.

    Arguments:
        path: the ``.aedat`` file.

    Returns:
        Events ``[N]`` (fields ``x, y, t, p``; ``t`` in microseconds), sorted by ``t``.
    """
    path = Path(path)
    raw = read_bytes(path)
    pos = header_end(path, raw, b"#!AER-DAT3")
    chunks, starts = [], []
    while pos < len(raw):
        if pos + PACKET_HEADER.itemsize > len(raw):
            raise corrupt(path, pos, f"packet header of {len(raw) - pos} bytes, expected 28")
        head = np.frombuffer(raw, PACKET_HEADER, 1, pos)[0]
        size, capacity = int(head["size"]), int(head["capacity"])
        if size <= 0 or capacity < 0 or head["number"] > capacity:
            raise corrupt(path, pos, f"packet header with eventSize={size}, "
                          f"eventCapacity={capacity}, eventNumber={int(head['number'])}")  # fmt: skip
        body, end = pos + PACKET_HEADER.itemsize, pos + PACKET_HEADER.itemsize + size * capacity
        if end > len(raw):
            raise corrupt(path, pos, f"packet of {size * capacity} bytes of events, only "
                          f"{len(raw) - body} left")  # fmt: skip
        if head["type"] == POLARITY_TYPE:
            if size != POLARITY_EVENT.itemsize:
                raise corrupt(path, pos, f"polarity packet with eventSize={size}, expected 8")
            ev = np.frombuffer(raw, POLARITY_EVENT, int(head["number"]), body)
            chunks.append((ev, np.int64(head["ts_overflow"]) << 31))
            starts.append(body)
        pos = end
    return _decode(path, chunks, starts)


def _decode(path: Path, chunks: list, starts: list[int]) -> np.ndarray:
    if not chunks:
        return np.empty(0, EVENT_DTYPE)
    data = np.concatenate([c["data"] for c, _ in chunks])
    t = np.concatenate([c["t"].astype(np.int64) | high for c, high in chunks])
    offsets = np.concatenate(
        [s + 8 * np.arange(len(c)) for (c, _), s in zip(chunks, starts, strict=True)]
    )
    keep = (data & 1).astype(bool)
    data, t, offsets = data[keep], t[keep], offsets[keep]
    events = np.empty(len(data), EVENT_DTYPE)
    events["x"], events["y"] = (data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF
    events["p"], events["t"] = (data >> 1) & 1, t
    for field, high in (("x", SENSOR_SIZE[0]), ("y", SENSOR_SIZE[1])):
        bad = np.flatnonzero(events[field] >= high)
        if len(bad):
            check_range(path, events[bad[:1]], field, high, int(offsets[bad[0]]), 8)
    return sort_by_time(events)


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


def gesture_samples(root: Path, split: str) -> Samples:
    """``(events, class)`` of every labelled gesture (events with ``start <= t < end``), one
    recording at a time."""
    for f in gesture_files(root, split):
        events, labels = read_aedat31(f), read_gesture_labels(_labels(f))
        bounds = np.searchsorted(events["t"], labels[:, 1:])
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
