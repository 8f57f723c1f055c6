"""Datasets by name: ``load("digits")``. Names are lower-case and unique.

A loader is a callable ``loader(data_dir: str | None, seed: int) -> DataBundle`` returning the
official train/test split. :func:`load` then applies what every dataset shares: sample limits and a
stratified validation split, both seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spikeflow.data.bundle import DataBundle, limit, num_samples, split_validation
from spikeflow.errors import UserError, check_choice
from spikeflow.registry import Registry

Loader = Callable[[str | None, int], DataBundle]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its loader, a one-line description and the keyword options its
    loader takes (passed through :func:`load`)."""

    name: str
    loader: Loader
    description: str
    options: tuple[str, ...] = ()


#: The datasets by name.
DATASETS: Registry[DatasetInfo] = Registry("dataset", DatasetInfo)


def register(name: str, loader: Loader, description: str, options: tuple[str, ...] = ()) -> None:
    """Add a dataset under ``name`` (lower-cased); a name can be registered only once.

    Arguments:
        name: the dataset's name.
        loader: ``loader(data_dir, seed) -> DataBundle`` with the official train/test split.
        description: one line for listings.
        options: keyword arguments the loader takes beyond ``(data_dir, seed)``.
    """
    if not callable(loader):
        raise UserError(f"loader={loader!r} is not valid; expected a callable")
    key = name.lower() if isinstance(name, str) else name
    DATASETS.register(name, DatasetInfo(key, loader, description, tuple(options)))


def available() -> tuple[str, ...]:
    """Returns:
    The names of the registered datasets, sorted.
    """
    return DATASETS.available()


def info(name: str) -> DatasetInfo:
    """The registration of dataset ``name``.

    Arguments:
        name: a registered name (any case).

    Returns:
        Its :class:`DatasetInfo`; an unknown name raises a UserError listing the valid ones.
    """
    return DATASETS.get(name)


def load(
    name: str,
    *,
    data_dir: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.0,
    limit_train: int | None = None,
    limit_test: int | None = None,
    **options: Any,
) -> DataBundle:
    """Load dataset ``name`` and split it.

    Arguments:
        name: a registered name (see :func:`available`).
        data_dir: where the files are (``None``: the dataset's default place).
        seed: seed of the split and of the limits (the same seed gives the same samples).
        val_fraction: stratified share of the training set held out for validation, in [0, 1).
        limit_train: use only this many training samples (a seeded random subset).
        limit_test: use only this many test samples (a seeded random subset).
        options: the dataset's own options (see :func:`info`), e.g. ``transform``.

    Returns:
        A :class:`~spikeflow.data.bundle.DataBundle`.
    """
    entry = info(name)
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        raise UserError(
            f"option(s) {', '.join(unknown)} are not valid for dataset {entry.name!r}; expected "
            f"{', '.join(entry.options) or 'none'}"
        )
    bundle = entry.loader(data_dir, seed, **options)
    bundle = bundle.with_splits(
        train=limit(bundle.train, limit_train, seed, "limit_train"),
        test=limit(bundle.test, limit_test, seed + 1, "limit_test"),
    )
    return split_validation(bundle, val_fraction, seed)


def sample(name: str, index: int, *, split: str = "train", data_dir: str | None = None) -> tuple:
    """One sample of a dataset, as the trainer sees it.

    Arguments:
        name: a registered dataset name.
        index: the sample's position in the split, ``0 <= index < len(split)``.
        split: ``"train"`` or ``"test"`` (the official split, no validation hold-out).
        data_dir: where the files are (``None``: the dataset's default place).

    Returns:
        ``(x, label)``: the sample (e.g. ``[1, H, W]`` in ``[0, 1]`` for images) and its class.
    """
    check_choice("split", split, ("train", "test"))
    bundle = load(name, data_dir=data_dir)
    part = bundle.train if split == "train" else bundle.test
    count = num_samples(part)
    if not (isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count):
        raise UserError(
            f"index={index!r} is out of range; expected 0 .. {count - 1} ({split} split)"
        )
    x, y = part[index]
    return x, int(y)
