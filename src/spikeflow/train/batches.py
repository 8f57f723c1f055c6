"""Seed mixing, the seeded sample order of an epoch, and batching of tensor or general datasets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset, default_collate


def derive_seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (``numpy.random.SeedSequence``): nearby inputs give
    unrelated seeds, and the same inputs always give the same seed."""
    return int(np.random.SeedSequence(list(parts)).generate_state(2, np.uint64)[0] >> np.uint64(1))


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """The shuffled sample order of ``epoch`` ``[n]``: a function of ``(seed, epoch)`` only, so a
    resumed run replays the same order."""
    g = torch.Generator().manual_seed(derive_seed(seed, epoch, 0x5EED))
    return torch.randperm(n, generator=g)


def to_device(dataset: Dataset, device: torch.device) -> Dataset:
    """Tensor datasets are moved to ``device`` whole (they fit: images are small); others stay."""
    if isinstance(dataset, TensorDataset) and dataset.tensors[0].device != device:
        return TensorDataset(*(t.to(device) for t in dataset.tensors))
    return dataset


def take(dataset: Dataset, idx: Tensor, collate: Callable | None = None) -> tuple[Tensor, Tensor]:
    """The samples ``idx`` ``[B]`` of ``dataset`` as one ``(x, y)`` batch."""
    if isinstance(dataset, TensorDataset):
        x, y = dataset.tensors
        return x[idx.to(x.device)], y[idx.to(y.device)]
    return (collate or default_collate)([dataset[int(i)] for i in idx])


def batches(
    dataset: Dataset,
    indices: Tensor,
    batch_size: int,
    collate: Callable | None = None,
    start: int = 0,
) -> Iterator[tuple[Tensor, Tensor]]:
    """``(x, y)`` batches of ``dataset`` in the order ``indices``, from batch number ``start``."""
    for lo in range(start * batch_size, len(indices), batch_size):
        yield take(dataset, indices[lo : lo + batch_size], collate)


def num_batches(n: int, batch_size: int) -> int:
    """Batches in one pass over ``n`` samples (the last may be smaller)."""
    return -(-n // batch_size)
