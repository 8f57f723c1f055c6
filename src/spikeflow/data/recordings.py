"""What the readers of the neuromorphic benchmarks share: the description of a dataset folder as
distributed, the event layouts, and the errors for missing or damaged files.

A reader yields ``(events, label)`` one sample at a time and holds at most one file's events per
reading thread (DVS128 Gesture and CIFAR10-DVS read their recordings with
:func:`~spikeflow.data.read_ahead.read_ahead`: one file per worker plus the one being used):

- vision sets (N-MNIST, DVS128 Gesture, CIFAR10-DVS): tonic's layout, fields ``x, y, t, p``
  (:data:`~spikeflow.data.events.EVENT_DTYPE`, ``t`` in microseconds, ``p`` 0 off / 1 on) on a
  sensor ``(W, H, P)``;
- audio sets (SHD, SSC): fields ``t`` (microseconds) and ``unit`` (input channel), sensor
  ``(units,)``.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikeflow.errors import UserError

AUDIO_DTYPE = np.dtype([("t", np.int64), ("unit", np.int16)])

Samples = Iterator[tuple[np.ndarray, int]]


@dataclass(frozen=True)
class EventFolder:
    """A neuromorphic dataset as distributed: where its files are and how to read them.

    Attributes:
        name: registry name, e.g. ``"nmnist"``.
        sensor_size: ``(W, H, P)`` for vision sets, ``(units,)`` for audio sets.
        class_names: one name per class index.
        splits: the splits the files hold, e.g. ``("train", "test")``.
        layout: the folder layout expected under the data directory (for error messages).
        source: where to get the files (for error messages).
        files: ``files(root, split)``: the files of a split, sorted; a :class:`UserError` naming
            the missing ones (and ``layout`` and ``source``) when the folder is incomplete.
        samples: ``samples(root, split)``: ``(events, label)`` pairs read file by file.
    """

    name: str
    sensor_size: tuple[int, ...]
    class_names: tuple[str, ...]
    splits: tuple[str, ...]
    layout: str
    source: str
    files: Callable[[Path, str], list[Path]]
    samples: Callable[[Path, str], Samples]

    @property
    def audio(self) -> bool:
        """``True`` for the ``(t, unit)`` layout."""
        return len(self.sensor_size) == 1

    def missing(self, root: Path, what: list[str] | str) -> UserError:
        """The error for files or folders not found under ``root``."""
        what = ", ".join(what) if isinstance(what, list) else what
        layout = "; ".join(line.strip() for line in self.layout.splitlines())
        return UserError(
            f"{self.name}: {what} not found under data_dir={str(root)!r}; expected the files "
            f"as distributed: {layout}. Get them from {self.source} (or pass --download where "
            "the machine has internet), and point --data-dir at that folder"
        )


def data_root(data_dir: str | os.PathLike | None, name: str) -> Path:
    """The folder of dataset ``name``: ``data_dir``, or ``~/data/<name>`` when ``None``."""
    return Path(os.path.expanduser(str(data_dir) if data_dir is not None else f"~/data/{name}"))


#: Files of at least this many bytes are memory-mapped rather than read into memory.
MAP_MIN_BYTES = 1 << 20


def read_bytes(path: str | Path) -> np.ndarray:
    """The bytes of ``path`` as read-only ``uint8 [n]``: memory-mapped for files of at least
    :data:`MAP_MIN_BYTES` (no copy; pages come from the page cache as they are read), read into
    memory for smaller ones; a :class:`UserError` when it cannot be read."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < MAP_MIN_BYTES:
                return np.frombuffer(f.read(), np.uint8)
            return np.frombuffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), np.uint8)
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from err


def word_views(raw: np.ndarray) -> tuple[np.ndarray, ...]:
    """``raw`` as little-endian 32-bit words at each of the four byte alignments, without a copy:
    view ``k`` holds the word at byte offset ``k + 4 * i`` at index ``i``, so the word at any
    offset ``b`` is ``views[b % 4][b // 4]``. Whole-word loads decode several times faster than
    assembling bytes; numba accepts these views only on a little-endian machine (elsewhere it
    refuses them rather than read wrong values).

    Arguments:
        raw: ``uint8 [n]`` bytes of a file.

    Returns:
        Four ``<u4`` arrays, view ``k`` of length ``(n - k) // 4``.
    """
    return tuple(raw[k : k + (len(raw) - k) // 4 * 4].view("<u4") for k in range(4))


def corrupt(path: Path, offset: int, what: str) -> UserError:
    """The error for a damaged binary file: the file, the byte offset and what is wrong."""
    return UserError(f"{path}: {what} at byte offset {offset}; the file is truncated or corrupt")


def check_range(
    path: Path, events: np.ndarray, field: str, high: int, start: int, size: int
) -> None:
    """Raise :func:`corrupt` at the first event whose ``field`` is outside ``[0, high)``;
    event ``i`` starts at byte ``start + i * size``."""
    bad = np.flatnonzero(events[field] >= high)
    if len(bad):
        i = int(bad[0])
        raise corrupt(
            path,
            start + i * size,
            f"event {i} has {field}={int(events[field][i])}, expected < {high}",
        )


def sort_by_time(events: np.ndarray) -> np.ndarray:
    """``events`` in non-decreasing ``t`` (stable; no copy when already sorted)."""
    t = events["t"]
    if len(t) > 1 and bool(np.any(t[1:] < t[:-1])):
        return events[np.argsort(t, kind="stable")]
    return events


def header_end(path: Path, raw: np.ndarray, first_line: bytes) -> int:
    """Offset of the first byte after the header of an AEDAT file: lines that start with ``#``
    and end with a line feed, the last one ``#!END-HEADER`` where the format has it.

    ``first_line``: the prefix the version line must start with, e.g. ``b"#!AER-DAT3"``.
    """
    if bytes(raw[: len(first_line)]) != first_line:
        got = bytes(raw[: len(first_line)])
        raise UserError(
            f"{path}: starts with {got!r}; expected an AEDAT file starting with {first_line!r}"
        )
    pos, window = 0, 1 << 12
    while raw[pos : pos + 1].tobytes() == b"#":
        end = raw[pos : pos + window].tobytes().find(b"\n")
        if end < 0:
            if pos + window >= len(raw):
                raise corrupt(path, pos, "header line without an end of line")
            window *= 2
            continue
        line, pos = raw[pos : pos + end].tobytes(), pos + end + 1
        if line.startswith(b"#!END-HEADER"):
            break
    return pos
