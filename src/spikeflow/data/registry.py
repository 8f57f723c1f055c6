"""Datasets by name: ``load("digits")``. Names are lower-case and unique.

A loader is a callable ``loader(data_dir: str | None, seed: int) -> DataBundle`` returning the
official train/test split. :func:`load` then applies what every dataset shares: sample limits and a
stratified validation split, both seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spikeflow.data.bundle import DataBundle, limit, split_validation
from spikeflow.errors import UserError

Loader = Callable[[str | None, int], DataBundle]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its loader, a one-line description and the keyword options its
    loader takes (passed through :func:`load`)."""

    name: str
    loader: Loader
    description: str
    options: tuple[str, ...] = ()


_REGISTRY: dict[str, DatasetInfo] = {}


def register(name: str, loader: Loader, description: str, options: tuple[str, ...] = ()) -> None:
    """Add a dataset under ``name`` (lower-cased); a name can be registered only once.
    ``options``: keyword arguments the loader takes beyond ``(data_dir, seed)``."""
    if not isinstance(name, str) or not name:
        raise UserError(f"name={name!r} is not valid; expected a non-empty string")
    if not callable(loader):
        raise UserError(f"loader={loader!r} is not valid; expected a callable")
    key = name.lower()
    if key in _REGISTRY:
        raise UserError(f"dataset {key!r} is already registered")
    _REGISTRY[key] = DatasetInfo(key, loader, description, tuple(options))


def available() -> tuple[str, ...]:
    """Names of the registered datasets, sorted."""
    return tuple(sorted(_REGISTRY))


def info(name: str) -> DatasetInfo:
    """The registration of dataset ``name``; an unknown name lists the valid ones."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise UserError(f"dataset={name!r} is not valid; expected one of {', '.join(available())}")
    return _REGISTRY[key]


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
        limit_train, limit_test: use only this many samples (a seeded random subset).
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
