"""On-disk cache of transformed samples: a dataset's files are parsed once per transform setting;
later epochs and runs read the cache.

An entry is two files in the cache folder, named by the dataset, the split and a key (a hash of
the reader version, the transform settings and the name, size and modification time of every
source file): ``<entry>.frames`` (every sample's counts ``[T_i, *step]``, uint16, back to back)
and ``<entry>.index.npz`` (``offsets [N+1]`` in time steps, ``labels [N]``, ``step``). Both are
written atomically (temporary file, fsync, rename) and the index last, so an interrupted build
leaves no entry that looks complete. Building holds one sample's events at a time; reading maps
the frames file (``numpy.memmap``) and holds only the index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from spikeflow.atomic import write_atomic
from spikeflow.data.recordings import EventFolder
from spikeflow.data.transforms import EventTransform, apply_transform, step_shape
from spikeflow.errors import UserError

#: Bump when a reader or the transform changes what it returns: old entries are then ignored.
CACHE_VERSION = 1
COUNT_DTYPE = np.uint16


class CachedFrames(Dataset):
    """``(counts [T_i, *step] float32, label)`` pairs read from a cache entry (memory-mapped).

    Attributes:
        labels: ``[N]`` int64 class of every sample.
        lengths: ``[N]`` int64 number of time steps of every sample.
    """

    def __init__(self, frames: Path, offsets: np.ndarray, labels: np.ndarray, step: tuple) -> None:
        self.path, self.offsets, self.step = frames, offsets, tuple(int(s) for s in step)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.lengths = torch.as_tensor(np.diff(offsets), dtype=torch.int64)
        self._frames: np.ndarray | None = None

    def _mapped(self) -> np.ndarray:
        if self._frames is None:  # opened lazily: DataLoader workers each map their own
            total = int(self.offsets[-1])
            self._frames = (
                np.memmap(self.path, COUNT_DTYPE, "r", shape=(total, *self.step))
                if total else np.zeros((0, *self.step), COUNT_DTYPE)
            )  # fmt: skip
        return self._frames

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_frames": None}

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return torch.from_numpy(self._mapped()[a:b].astype(np.float32)), int(self.labels[i])


def cache_key(folder: EventFolder, split: str, transform: EventTransform, files: list[Path]) -> str:
    """Hash of everything the cached tensors depend on."""
    stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    text = json.dumps(
        [CACHE_VERSION, folder.name, split, transform.as_dict(), stats], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _build(folder: EventFolder, root: Path, split: str, transform: EventTransform,
           frames_path: Path, progress: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    offsets, labels = [0], []

    def write(handle: IO[bytes]) -> None:
        samples: Iterable[tuple[np.ndarray, int]] = folder.samples(root, split)
        if progress:
            from tqdm import tqdm

            samples = tqdm(samples, desc=f"{folder.name} {split}: parsing once", unit="sample")
        for events, label in samples:
            counts = apply_transform(transform, events, folder.sensor_size)
            if counts.size and counts.max() > np.iinfo(COUNT_DTYPE).max:
                raise UserError(f"{folder.name}: a sample has {int(counts.max())} events in one "
                                "bin and pixel; expected at most 65535 (use more, shorter bins)")  # fmt: skip
            handle.write(counts.astype(COUNT_DTYPE).tobytes())
            offsets.append(offsets[-1] + len(counts))
            labels.append(label)

    write_atomic(frames_path, write)
    return np.asarray(offsets, np.int64), np.asarray(labels, np.int64)


def cached_split(
    folder: EventFolder,
    root: Path,
    split: str,
    transform: EventTransform,
    cache_dir: Path,
    *,
    progress: bool = False,
) -> CachedFrames:
    """The transformed samples of ``split``, from the cache when an entry matches, else parsed
    once and cached.

    Arguments:
        folder: the dataset description (its reader).
        root: the folder with the dataset's files.
        split: one of ``folder.splits``.
        transform: the events-to-tensor settings.
        cache_dir: where the entries are kept (created when missing).
        progress: show a progress bar while parsing.

    Returns:
        A :class:`CachedFrames` dataset.
    """
    files = folder.files(root, split)
    entry = cache_dir / f"{folder.name}-{split}-{cache_key(folder, split, transform, files)}"
    frames_path, index_path = entry.with_suffix(".frames"), entry.with_suffix(".index.npz")
    step = step_shape(transform, folder.sensor_size)
    if index_path.is_file() and frames_path.is_file():
        with np.load(index_path) as index:
            offsets, labels = index["offsets"], index["labels"]
        expected = int(offsets[-1]) * int(np.prod(step)) * np.dtype(COUNT_DTYPE).itemsize
        if frames_path.stat().st_size == expected:
            return CachedFrames(frames_path, offsets, labels, step)
    offsets, labels = _build(folder, root, split, transform, frames_path, progress)
    write_atomic(index_path, lambda h: np.savez(h, offsets=offsets, labels=labels, step=step))
    return CachedFrames(frames_path, offsets, labels, step)
