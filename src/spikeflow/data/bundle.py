"""What every dataset loader returns: train/validation/test splits plus the layout of one sample."""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from spikeflow.errors import UserError, check_range


@dataclass(frozen=True)
class DataBundle:
    """A dataset split for training, with the layout of its samples.

    Attributes:
        train, test: torch Datasets of ``(x, y)`` pairs, ``y`` an int class index.
        val: a held-out part of ``train`` for per-epoch validation (``None`` when not split).
        num_classes: number of classes ``C``.
        input_shape: shape of one sample ``x`` without batch (and without time for static data),
            e.g. ``(1, 28, 28)`` for images with values in ``[0, 1]``.
        class_names: one readable name per class.
        temporal: ``False`` for static samples, which are encoded into spikes ``[T, B, ...]`` by the
            trainer's encoder; ``True`` when samples are already sequences ``[T, ...]`` (events,
            speech), batched time-major by ``collate``.
        collate: batching function for temporal data (``None``: stack along a new batch dim).
    """

    train: Dataset
    test: Dataset
    num_classes: int
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    val: Dataset | None = None
    temporal: bool = False
    collate: Callable | None = None

    def with_splits(self, **splits: Dataset | None) -> DataBundle:
        """A copy with some of ``train``, ``val`` and ``test`` replaced."""
        changes: dict[str, Any] = dict(splits)  # replace() refuses an unknown name at run time
        return replace(self, **changes)


def num_samples(dataset: Dataset) -> int:
    """The number of samples of a map-style ``dataset`` (every split of a bundle has a length).

    Arguments:
        dataset: a torch Dataset with ``__len__``.

    Returns:
        ``len(dataset)``.
    """
    if not isinstance(dataset, Sized):
        raise TypeError(f"{type(dataset).__name__} has no len(); expected a map-style dataset")
    return len(dataset)


def tensor_bundle(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    class_names: tuple[str, ...],
) -> DataBundle:
    """A static-image bundle from tensors ``x: [N, ...]`` (float) and ``y: [N]`` (int64)."""
    return DataBundle(
        train=TensorDataset(train_x, train_y),
        test=TensorDataset(test_x, test_y),
        num_classes=len(class_names),
        input_shape=tuple(train_x.shape[1:]),
        class_names=class_names,
    )


def labels_of(dataset: Dataset) -> torch.Tensor:
    """The label of every sample of ``dataset`` as an int64 tensor ``[N]``."""
    if isinstance(dataset, TensorDataset):
        return dataset.tensors[1]
    stored = getattr(dataset, "labels", None)
    if isinstance(stored, torch.Tensor) and len(stored) == num_samples(dataset):
        return stored
    if isinstance(dataset, Subset):
        return labels_of(dataset.dataset)[torch.as_tensor(dataset.indices)]
    return torch.as_tensor([int(dataset[i][1]) for i in range(num_samples(dataset))])


def stratified_indices(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Indices of a seeded, class-stratified ``fraction`` of ``labels`` (at least one per class)."""
    g = torch.Generator().manual_seed(seed)
    picked = []
    for c in torch.unique(labels):
        members = torch.nonzero(labels == c).flatten()
        members = members[torch.randperm(len(members), generator=g)]
        picked.append(members[: max(1, round(fraction * len(members)))])
    return torch.sort(torch.cat(picked)).values


def subset(dataset: Dataset, indices: torch.Tensor) -> Dataset:
    """``dataset`` restricted to ``indices`` (tensor datasets stay tensor datasets: fast)."""
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(t[indices] for t in dataset.tensors))
    return Subset(dataset, indices.tolist())


def split_validation(bundle: DataBundle, fraction: float, seed: int) -> DataBundle:
    """Move a stratified ``fraction`` of ``bundle.train`` into ``bundle.val`` (0 leaves no val)."""
    check_range("val_fraction", fraction, 0, 1, high_open=True)
    if fraction == 0:
        return bundle
    labels = labels_of(bundle.train)
    val_idx = stratified_indices(labels, fraction, seed)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[val_idx] = False
    train_idx = torch.nonzero(keep).flatten()
    if len(train_idx) == 0:
        raise UserError(f"val_fraction={fraction!r} leaves no training samples; expected less")
    return bundle.with_splits(
        train=subset(bundle.train, train_idx), val=subset(bundle.train, val_idx)
    )


def limit(dataset: Dataset, n: int | None, seed: int, name: str) -> Dataset:
    """A seeded random subset of ``n`` samples in their original order (``None``: all)."""
    if n is None or n >= num_samples(dataset):
        return dataset
    if n <= 0:
        raise UserError(f"{name}={n!r} is not valid; expected a positive integer")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(num_samples(dataset), generator=g)
    return subset(dataset, torch.sort(order[:n]).values)
