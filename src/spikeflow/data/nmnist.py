"""N-MNIST (Orchard et al. 2015) as distributed: ``Train/`` and ``Test/`` folders (``Train.zip``,
``Test.zip``), one sub-folder per digit ``0``..``9``, one ``.bin`` file per sample.

Each event is 40 bits (5 bytes): bits 39-32 x address, bits 31-24 y address, bit 23 polarity
(1 on, 0 off), bits 22-0 timestamp in microseconds; sensor 34 x 34, two polarities.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikeflow._numba_cache import njit
from spikeflow.data.events import EVENT_DTYPE
from spikeflow.data.recordings import (
    EventFolder,
    Samples,
    check_range,
    corrupt,
    read_bytes,
    sort_by_time,
)

SENSOR_SIZE = (34, 34, 2)
CLASS_NAMES = tuple(str(d) for d in range(10))
FOLDERS = {"train": "Train", "test": "Test"}
EVENT_BYTES = 5


@njit(nogil=True, cache=True)
def _decode(raw: Any, out: Any, w: int, h: int) -> Any:  # pragma: no cover - compiled
    """Fill ``out`` from 5-byte events in one pass; the first event outside ``w x h`` (or -1)
    and whether the timestamps ever decrease."""
    bad, unsorted, last = -1, False, -1
    for i in range(len(out)):
        b = EVENT_BYTES * i
        x, y, c = raw[b], raw[b + 1], raw[b + 2]
        t = (np.int64(c & 0x7F) << 16) | (np.int64(raw[b + 3]) << 8) | np.int64(raw[b + 4])
        out[i].x, out[i].y, out[i].p, out[i].t = x, y, c >> 7, t
        if bad < 0 and (x >= w or y >= h):
            bad = i
        unsorted = unsorted or t < last
        last = t
    return bad, unsorted


def read_nmnist_file(path: str | Path) -> np.ndarray:
    """The events of one N-MNIST ``.bin`` file.

    Arguments:
        path: the file.

    Returns:
        Events ``[N]`` (fields ``x, y, t, p``; ``t`` in microseconds), sorted by ``t``.
    """
    raw = read_bytes(path)
    whole = len(raw) - len(raw) % EVENT_BYTES
    if whole != len(raw):
        raise corrupt(Path(path), whole, f"{len(raw) % EVENT_BYTES} bytes left over after the last "
                      f"whole {EVENT_BYTES}-byte event of {len(raw)} bytes")  # fmt: skip
    events = np.empty(whole // EVENT_BYTES, EVENT_DTYPE)
    bad, unsorted = _decode(raw, events, SENSOR_SIZE[0], SENSOR_SIZE[1])
    if bad >= 0:
        check_range(Path(path), events, "x", SENSOR_SIZE[0], 0, EVENT_BYTES)
        check_range(Path(path), events, "y", SENSOR_SIZE[1], 0, EVENT_BYTES)
    return sort_by_time(events) if unsorted else events


def _split_dir(root: Path, split: str) -> Path | None:
    for name in (FOLDERS[split], FOLDERS[split].lower()):
        if (root / name).is_dir():
            return root / name
    return None


def _listing(root: Path, split: str) -> list[tuple[str, int]]:
    """``(path, digit)`` of every ``.bin`` file of ``split`` under ``root``, sorted by digit then
    name. Paths stay strings: for 60,000 small files, building and sorting ``Path`` objects took
    longer than decoding the events."""
    where = _split_dir(root, split)
    if where is None:
        raise DATASET.missing(root, f"folder {FOLDERS[split]}/")
    missing = [d for d in CLASS_NAMES if not (where / d).is_dir()]
    if missing:
        raise DATASET.missing(root, [f"{where.name}/{d}/" for d in missing])
    found = []
    for digit, name in enumerate(CLASS_NAMES):
        folder = os.path.join(where, name)
        with os.scandir(folder) as entries:
            names = sorted(
                e.name
                for e in entries
                if e.name.endswith(".bin") and not e.name.startswith(".") and e.is_file()
            )
        found += [(os.path.join(folder, n), digit) for n in names]
    return found


def nmnist_files(root: Path, split: str) -> list[Path]:
    """The ``.bin`` files of ``split`` under ``root``, sorted by digit then name."""
    return [Path(f) for f, _ in _listing(root, split)]


def nmnist_samples(root: Path, split: str) -> Samples:
    """``(events, digit)`` for every file of ``split``, one file at a time."""
    for f, digit in _listing(root, split):
        yield read_nmnist_file(f), digit


DATASET = EventFolder(
    name="nmnist",
    sensor_size=SENSOR_SIZE,
    class_names=CLASS_NAMES,
    splits=("train", "test"),
    layout="  Train/0/*.bin ... Train/9/*.bin   (60,000 files, from Train.zip)\n"
    "  Test/0/*.bin ... Test/9/*.bin     (10,000 files, from Test.zip)",
    source="https://www.garrickorchard.com/datasets/n-mnist "
    "(Mendeley Data doi:10.17632/468j46mzdv.1: Train.zip, Test.zip)",
    files=nmnist_files,
    samples=nmnist_samples,
)
