"""CIFAR10-DVS (Li et al. 2017) as distributed: one folder per class (``airplane/`` ...
``truck/``, from ``airplane.zip`` ...), 1,000 recordings each, ``cifar10_<class>_<i>.aedat``.

The recordings are jAER AEDAT 2.0 files from a DVS128: ``#`` header lines (the first
``#!AER-DAT2.0``), then events of 8 bytes, big-endian: int32 address and int32 timestamp (us).
The DVS128 address (jAER ``DVS128`` chip class): bit 0 polarity (1 on), bits 1-7 x, bits 8-14 y,
bit 15 an external (pin) event, which is skipped; an address with higher bits set is not a DVS128
event (an error). x, y and p are returned as stored (jAER's viewer shows the DVS128 mirrored,
``127 - x``); 128 x 128, two polarities. The dataset has no official split: the first 90% of
each class (by file number) is ``train``, the rest ``test`` (9,000 / 1,000).
"""

from __future__ import annotations

import re
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
)

SENSOR_SIZE = (128, 128, 2)
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
TRAIN_SHARE = 0.9
EVENT_BYTES = 8


def open_aedat2_dvs128(path: str | Path) -> Callable[[], np.ndarray]:
    """Map a jAER AEDAT 2.0 file, check its header and size and allocate its events; the
    returned job decodes them (:func:`read_aedat2_dvs128` in two steps, for :mod:`read_ahead`).

    Arguments:
        path: the ``.aedat`` file.

    Returns:
        A function of no arguments that returns the events, as :func:`read_aedat2_dvs128`.
    """
    path = Path(path)
    raw = read_bytes(path)
    start = header_end(path, raw, b"#!AER-DAT2")
    size = len(raw) - start
    if size % EVENT_BYTES:
        whole = start + size - size % EVENT_BYTES
        raise corrupt(path, whole, f"{size % EVENT_BYTES} bytes left over after the last "
                      f"whole {EVENT_BYTES}-byte event")  # fmt: skip
    out = np.empty(size // EVENT_BYTES, EVENT_DTYPE)

    words = raw[start:].view("<u4")  # whole-word loads decode several times faster than bytes

    def decode() -> np.ndarray:
        unsorted, seen = _decode_all(words, out)
        n, bad = len(out), -1
        if seen >> 15:  # external events to skip, or an address that is not a DVS128 event
            n, unsorted, bad = _decode(words, out)
        if bad >= 0:
            address = int(np.frombuffer(raw, ">u4", 1, start + EVENT_BYTES * bad)[0])
            what = f"address 0x{address:08x} has bits above 15 set; not a DVS128 event"
            raise corrupt(path, start + EVENT_BYTES * bad, what)
        events = out[:n]  # a view: no copy when external events were skipped
        return sort_by_time(events) if unsorted else events

    return decode


def read_aedat2_dvs128(path: str | Path) -> np.ndarray:
    """The polarity events of a jAER AEDAT 2.0 file recorded with a DVS128 (memory-mapped and
    decoded in one numba pass into the returned array).

    Arguments:
        path: the ``.aedat`` file.

    Returns:
        Events ``[N]`` (fields ``x, y, t, p``; ``t`` in microseconds), sorted by ``t``.
    """
    return open_aedat2_dvs128(path)()


@njit(nogil=True, cache=True)
def _big_endian(word: Any) -> Any:  # pragma: no cover - compiled
    """The value of a big-endian 32-bit word loaded as little-endian."""
    return (word & 0xFF) << 24 | (word & 0xFF00) << 8 | (word >> 8) & 0xFF00 | word >> 24


@njit(nogil=True, cache=True)
def _decode_all(words: Any, out: Any) -> Any:  # pragma: no cover - compiled
    """Copy every event into ``out`` without a branch per event (the common case: no external
    events, no bad address). Returns ``(unsorted, the OR of every address)``: when that has a
    bit above 14 set, :func:`_decode` must redo the file."""
    unsorted, last, seen = False, np.int64(-(1 << 40)), 0
    for i in range(len(out)):
        address = _big_endian(words[2 * i])
        t = np.int64(_big_endian(words[2 * i + 1]))
        t -= (t >> 31) << 32  # a signed 32-bit timestamp
        e = out[i]
        e.x, e.y, e.p, e.t = (address >> 1) & 0x7F, (address >> 8) & 0x7F, address & 1, t
        seen |= address
        unsorted |= t < last
        last = t
    return unsorted, seen


@njit(nogil=True, cache=True)
def _decode(words: Any, out: Any) -> Any:  # pragma: no cover - compiled
    """Copy the DVS128 polarity events (``words``: the events as little-endian 32-bit words,
    each event a big-endian address and timestamp) into ``out``, skipping external events.
    Returns ``(events, unsorted, first bad event or -1)``."""
    n, unsorted, last = 0, False, np.int64(-(1 << 40))
    for i in range(len(out)):
        address = _big_endian(words[2 * i])
        if address >> 16:
            return n, unsorted, i
        if address & 0x8000:
            continue
        t = np.int64(_big_endian(words[2 * i + 1]))
        if t >= 1 << 31:  # a signed 32-bit timestamp
            t -= 1 << 32
        e = out[n]
        e.x, e.y, e.p, e.t = (address >> 1) & 0x7F, (address >> 8) & 0x7F, address & 1, t
        unsorted |= t < last
        last = t
        n += 1
    return n, unsorted, -1


def _number(path: Path) -> int:
    found = re.findall(r"\d+", path.stem)
    return int(found[-1]) if found else -1


def cifar_files(root: Path, split: str) -> list[Path]:
    """The recordings of ``split``: per class, the first (train) or last (test) files by number."""
    missing = [f"{c}/" for c in CLASS_NAMES if not (root / c).is_dir()]
    if missing:
        raise DATASET.missing(root, missing)
    out = []
    for c in CLASS_NAMES:
        files = sorted((root / c).glob("*.aedat"), key=lambda f: (_number(f), f.name))
        cut = round(TRAIN_SHARE * len(files))
        out += files[:cut] if split == "train" else files[cut:]
    return out


def cifar_samples(root: Path, split: str, workers: int = 1) -> Samples:
    """``(events, class)`` for every recording of ``split``, read by ``workers`` threads in order.

    Arguments:
        root: the dataset folder (one sub-folder per class).
        split: ``"train"`` or ``"test"``.
        workers: reading threads (see :func:`~spikeflow.data.read_ahead.read_ahead`); more
            than 1 helps only where cores are idle; memory holds at most ``workers + 1``
            recordings' events.

    Returns:
        An iterator of ``(events [N], class 0..9)``.
    """
    for f, events in read_ahead(open_aedat2_dvs128, cifar_files(root, split), workers):
        yield events, CLASS_NAMES.index(f.parent.name)


DATASET = EventFolder(
    name="cifar10_dvs",
    sensor_size=SENSOR_SIZE,
    class_names=CLASS_NAMES,
    splits=("train", "test"),
    layout="  airplane/cifar10_airplane_0.aedat ... airplane/cifar10_airplane_999.aedat\n"
    "  ... one folder per class: " + ", ".join(CLASS_NAMES) + " (the class .zip files unpacked)",
    source="https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671 (one .zip per class)",
    files=cifar_files,
    samples=cifar_samples,
)
