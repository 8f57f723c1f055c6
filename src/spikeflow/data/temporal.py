"""Temporal datasets: variable-length sequences batched time-major with zero padding.

- Spiking Heidelberg Digits (Cramer et al. 2020), HDF5 files read by :mod:`spikeflow.data.shd`:
  :func:`read_shd` bins one file into counts ``[N, T, 700]``; :func:`load_shd` is the registered
  dataset ``shd`` with a bin width in seconds.
- JapaneseVowels (Kudo et al. 1999; 9 speakers, 12 LPC cepstrum coefficients per frame, 7-29 frames,
  270 train / 370 test) from the optional ``sktime`` package (``pip install 'spikeflow[temporal]'``):
  :func:`load_japanese_vowels`, fed as currents or delta-encoded spikes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from spikeflow.data.bundle import DataBundle
from spikeflow.data.events import collate_time_major
from spikeflow.data.shd import UNITS as SHD_UNITS
from spikeflow.data.shd import read_audio_file
from spikeflow.data.transforms import EventTransform, apply_transform
from spikeflow.encode.delta import delta
from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.optional import require

ENCODINGS = ("current", "delta")


class SequenceDataset(Dataset):
    """``(sequence [T_i, ...], label)`` pairs; batch with :func:`collate_time_major`."""

    def __init__(self, sequences: Sequence[Tensor] | Tensor, labels: Tensor) -> None:
        if len(sequences) != len(labels):
            raise UserError(f"{len(sequences)} sequences but {len(labels)} labels; expected equal")
        self.sequences, self.labels = sequences, torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.sequences[i], int(self.labels[i])


def read_shd(
    path: str | Path, *, dt: float = 1e-2, duration: float = 1.0, n_units: int = SHD_UNITS
) -> tuple[Tensor, Tensor]:
    """Spike counts of an SHD-layout HDF5 file in bins of ``dt`` seconds up to ``duration``
    (read by :func:`spikeflow.data.shd.read_audio_file`).

    Arguments:
        path: the ``.h5`` file.
        dt: bin width in seconds.
        duration: span binned in seconds; spikes at or after it are dropped.
        n_units: number of input channels.

    Returns:
        ``(counts [N, T, n_units] float32, labels [N] int64)`` with ``T = ceil(duration / dt)``.
    """
    check_range("dt", dt, 0, low_open=True)
    check_range("duration", duration, 0, low_open=True)
    check_positive_int("n_units", n_units)
    settings = EventTransform(time_window=dt * 1e6, duration=duration * 1e6)
    counts, labels = [], []
    for events, label in read_audio_file(path, n_units):
        counts.append(apply_transform(settings, events, (n_units,)))
        labels.append(label)
    steps = int(np.ceil(duration / dt - 1e-9))
    stacked = np.stack(counts) if counts else np.zeros((0, steps, n_units), np.float32)
    return torch.from_numpy(stacked), torch.as_tensor(labels, dtype=torch.int64)


def load_shd(data_dir: str | None = None, seed: int = 0, *, dt: float = 1e-2) -> DataBundle:
    """SHD from ``data_dir`` (default ``~/data/shd``): ``shd_train.h5`` and ``shd_test.h5``,
    binned at ``dt`` seconds over 1 s: samples ``[100, 700]``, 20 classes; the registered
    dataset ``shd`` (:func:`spikeflow.data.neuromorphic.load_event_dataset`) with that bin."""
    from spikeflow.data.neuromorphic import load_event_dataset

    check_range("dt", dt, 0, low_open=True)
    return load_event_dataset("shd", data_dir, seed, transform=EventTransform(time_window=dt * 1e6))


def _sktime_vowels(split: str) -> tuple[list[np.ndarray], np.ndarray]:
    datasets = require("sktime.datasets", extra="temporal", feature="dataset 'japanese_vowels'")
    sktime_vowels = datasets.load_japanese_vowels
    frame, labels = sktime_vowels(split=split, return_X_y=True)
    seqs = [np.stack([np.asarray(frame.iloc[i, j]) for j in range(frame.shape[1])], axis=1)
            for i in range(len(frame))]  # fmt: skip
    return seqs, np.asarray([int(label) - 1 for label in labels], dtype=np.int64)


def encode_sequence(
    seq: Tensor, encoding: str, *, repeat: int = 1, threshold: float = 0.25
) -> Tensor:
    """One sequence ``[T, F]`` as network input: ``"current"`` (values as input currents,
    ``[T * repeat, F]``) or ``"delta"`` (ON/OFF threshold-crossing spikes from a zero reference,
    ``[T * repeat, 2 F]``, ON channels first); each frame is held for ``repeat`` steps."""
    check_choice("encoding", encoding, ENCODINGS)
    check_positive_int("repeat", repeat)
    seq = seq.repeat_interleave(repeat, dim=0)
    if encoding == "current":
        return seq
    spikes = delta(seq[:, None], threshold=threshold, start="zero")  # [T, 1, 2, F]
    return spikes.reshape(len(seq), -1)


def load_japanese_vowels(
    data_dir: str | None = None,
    seed: int = 0,
    *,
    encoding: str = "current",
    repeat: int = 2,
    threshold: float = 0.25,
) -> DataBundle:
    """JapaneseVowels (sktime) as variable-length sequences, 9 speakers.

    Each coefficient is standardised with the training set's mean and std; a sample is
    ``[T_i * repeat, 12]`` (currents) or ``[T_i * repeat, 24]`` (delta spikes, ``threshold`` in
    standard deviations). Batches are time-major ``[T_max, B, F]``, zero-padded. ``data_dir`` and
    ``seed`` are unused (the official 270 / 370 split).
    """
    check_choice("encoding", encoding, ENCODINGS)
    (train, train_y), (test, test_y) = _sktime_vowels("train"), _sktime_vowels("test")
    stacked = np.concatenate(train)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-8

    def prepare(seqs: list[np.ndarray]) -> list[Tensor]:
        return [encode_sequence(torch.as_tensor((s - mean) / std, dtype=torch.float32), encoding,
                                repeat=repeat, threshold=threshold) for s in seqs]  # fmt: skip

    return DataBundle(
        train=SequenceDataset(prepare(train), torch.as_tensor(train_y)),
        test=SequenceDataset(prepare(test), torch.as_tensor(test_y)),
        num_classes=9,
        input_shape=(12 if encoding == "current" else 24,),
        class_names=tuple(f"speaker {k}" for k in range(1, 10)),
        temporal=True,
        collate=collate_time_major,
    )
