"""Any tonic dataset as a spikeflow dataset: ``sf.data.from_tonic(tonic.datasets.NMNIST(...))``.

tonic (optional: ``pip install tonic``) is not imported here: a tonic dataset is anything with
``len``, ``dataset[i] -> (events, target)`` and a ``sensor_size`` (and optionally ``classes``).
Its events are numpy structured arrays: ``x, y, t, p`` for cameras, or ``t, x, p`` with ``x`` the
channel for audio sets (tonic's SHD, sensor ``(700, 1, 1)``). They become count sequences with
the same transform settings as the built-in readers
(:class:`~spikeflow.data.transforms.EventTransform`); targets must be class indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from spikeflow.data.bundle import DataBundle
from spikeflow.data.events import EVENT_DTYPE, collate_time_major
from spikeflow.data.recordings import AUDIO_DTYPE, sort_by_time
from spikeflow.data.transforms import EventTransform, apply_transform, parse_transform, step_shape
from spikeflow.errors import UserError


def _sensor(dataset: Any) -> tuple[tuple[int, ...], bool]:
    size = getattr(dataset, "sensor_size", None)
    if size is None or len(size) != 3:
        raise UserError(f"dataset {type(dataset).__name__} has sensor_size={size!r}; expected a "
                        "tonic dataset with sensor_size (W, H, P)")  # fmt: skip
    w, h, p = (int(s) for s in size)
    audio = h == 1 and p == 1
    return ((w,) if audio else (w, h, p)), audio


def _events(raw: Any, audio: bool, index: int) -> np.ndarray:
    names = getattr(getattr(raw, "dtype", None), "names", None) or ()
    wanted = ("t", "x") if audio else ("x", "y", "t", "p")
    if not set(wanted) <= set(names):
        raise UserError(f"sample {index} has fields {names}; expected a structured event array "
                        f"with fields {', '.join(wanted)} (no frame transform)")  # fmt: skip
    out = np.empty(len(raw), AUDIO_DTYPE if audio else EVENT_DTYPE)
    if audio:
        out["t"], out["unit"] = raw["t"], raw["x"]
    else:
        out["x"], out["y"], out["t"], out["p"] = raw["x"], raw["y"], raw["t"], raw["p"]
    return sort_by_time(out)


class TonicSequences(Dataset):
    """``(counts [T, *step] float32, label)`` from a tonic dataset, transformed on access.

    Attributes:
        sensor_size: ``(W, H, P)`` or ``(units,)``; input_shape: the step shape;
        class_names: the dataset's ``classes`` (or ``"0"``, ``"1"``, ... when it has none).
    """

    def __init__(self, dataset: Any, transform: EventTransform) -> None:
        self.dataset, self.transform = dataset, transform
        self.sensor_size, self.audio = _sensor(dataset)
        self.input_shape = step_shape(transform, self.sensor_size)
        classes = getattr(dataset, "classes", None)
        self.class_names = tuple(str(c) for c in classes) if classes else ()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        raw, target = self.dataset[i]
        events = _events(raw, self.audio, i)
        frames = apply_transform(self.transform, events, self.sensor_size)
        return torch.from_numpy(frames), int(target)


def from_tonic(
    dataset: Any, *, transform: str | EventTransform = "n_time_bins=10"
) -> TonicSequences:
    """Wrap a tonic dataset: its samples become count sequences.

    Arguments:
        dataset: a tonic dataset (``len``, ``dataset[i] -> (events, target)``, ``sensor_size``).
        transform: ``"key=value,..."`` settings or an :class:`EventTransform`
            (default 10 time bins; for audio sets e.g. ``"time_window=10000"``).

    Returns:
        A :class:`TonicSequences` dataset of ``([T, *step] float32, label)``.
    """
    if not isinstance(transform, EventTransform):
        transform = parse_transform(transform, EventTransform(n_time_bins=10))
    return TonicSequences(dataset, transform)


def tonic_bundle(
    train: Any, test: Any, *, transform: str | EventTransform = "n_time_bins=10"
) -> DataBundle:
    """A :class:`DataBundle` (time-major batches) from a tonic train and test dataset.

    Arguments:
        train: the tonic training dataset.
        test: the tonic test dataset, of the same sensor.
        transform: as in :func:`from_tonic`.

    Returns:
        The bundle; ``num_classes`` from the datasets' ``classes`` (else the largest label + 1).
    """
    a, b = from_tonic(train, transform=transform), from_tonic(test, transform=transform)
    if a.sensor_size != b.sensor_size:
        raise UserError(f"train sensor_size {a.sensor_size} differs from test {b.sensor_size}")
    names = a.class_names
    if not names:
        top = max(int(train[i][1]) for i in range(len(train)))
        names = tuple(str(k) for k in range(top + 1))
    return DataBundle(train=a, test=b, num_classes=len(names), input_shape=a.input_shape,
                      class_names=names, temporal=True, collate=collate_time_major)  # fmt: skip
