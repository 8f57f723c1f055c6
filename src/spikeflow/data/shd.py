"""The Spiking Heidelberg Digits and Spiking Speech Commands (Cramer et al. 2020) as distributed:
gzip-compressed HDF5 files ``shd_train.h5`` / ``shd_test.h5`` and ``ssc_train.h5`` /
``ssc_valid.h5`` / ``ssc_test.h5`` (gunzipped), 700 input channels (cochlea model outputs).

Each file holds ``spikes/times`` (one float array of spike times in seconds per sample),
``spikes/units`` (the channel 0..699 of each spike), ``labels`` (the class of each sample) and
``extra/`` (``keys``: the class names; ``speaker``, ``meta_info``), read here: ``extra/keys``
names the classes when present.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikeflow.data.recordings import AUDIO_DTYPE, EventFolder, Samples
from spikeflow.errors import UserError
from spikeflow.optional import require

UNITS = 700
SHD_CLASSES = tuple(f"class {k}" for k in range(20))
SSC_CLASSES = tuple(f"class {k}" for k in range(35))


def _open(path: Path) -> Any:  # an h5py.File (h5py has no type information)
    h5py = require("h5py", extra="temporal", feature="reading SHD/SSC files")

    if not path.is_file():
        raise UserError(f"path={str(path)!r} is not a file; expected an SHD/SSC HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise UserError(f"{path}: not an HDF5 file ({err}); expected an SHD/SSC .h5 file "
                        "(gunzip the .h5.gz download first)") from err  # fmt: skip
    for key in ("spikes/times", "spikes/units", "labels"):
        if key not in f:
            f.close()
            raise UserError(f"{path}: has no dataset {key!r}; expected spikes/times, "
                            "spikes/units and labels (an SHD/SSC file)")  # fmt: skip
    return f


def read_class_names(path: str | Path) -> tuple[str, ...] | None:
    """The class names stored in ``extra/keys`` of an SHD/SSC file (``None`` when absent)."""
    with _open(Path(path)) as f:
        if "extra/keys" not in f:
            return None
        return tuple(k.decode() if isinstance(k, bytes) else str(k) for k in f["extra/keys"][()])


def read_audio_file(path: str | Path, n_units: int = UNITS) -> Samples:
    """The samples of an SHD/SSC HDF5 file, one at a time (the file's arrays are read once).

    Arguments:
        path: the ``.h5`` file.
        n_units: number of input channels; a unit outside ``0..n_units-1`` is an error.

    Returns:
        An iterator of ``(events, label)``: events ``[N]`` with fields ``t`` (us, rounded from
        seconds) and ``unit``, sorted by ``t``.
    """
    path = Path(path)
    with _open(path) as f:
        try:
            times, units = f["spikes/times"][()], f["spikes/units"][()]
            labels = np.asarray(f["labels"][()], np.int64)
        except (OSError, ValueError, TypeError) as err:
            raise UserError(
                f"{path}: cannot read spikes/labels ({err}); the file is corrupt"
            ) from err
    if not len(times) == len(units) == len(labels):
        raise UserError(
            f"{path}: {len(times)} spike-time arrays, {len(units)} unit arrays and {len(labels)} "
            "labels; expected one of each per sample"
        )
    for i, (t, u) in enumerate(zip(times, units, strict=True)):
        t, u = np.asarray(t, np.float64).ravel(), np.asarray(u, np.int64).ravel()
        if len(t) != len(u):
            raise UserError(f"{path}: sample {i} has {len(t)} spike times but {len(u)} units")
        if len(u) and (u.min() < 0 or u.max() >= n_units):
            raise UserError(f"{path}: sample {i} has unit {u.max()}; expected 0..{n_units - 1}")
        if len(t) and not np.all(np.isfinite(t) & (t >= 0)):
            raise UserError(f"{path}: sample {i} has a spike time that is negative or not finite")
        events = np.empty(len(t), AUDIO_DTYPE)
        events["t"], events["unit"] = np.round(t * 1e6), u
        yield events[np.argsort(events["t"], kind="stable")], int(labels[i])


def _files(prefix: str, splits: tuple[str, ...]) -> Callable[[Path, str], list[Path]]:
    def files(root: Path, split: str) -> list[Path]:
        wanted = [root / f"{prefix}_{split}.h5"]
        if not wanted[0].is_file():
            raise _DATASETS[prefix].missing(root, [w.name for w in wanted])
        return wanted

    return files


def _samples(prefix: str) -> Callable[[Path, str], Samples]:
    def samples(root: Path, split: str) -> Samples:
        (path,) = _DATASETS[prefix].files(root, split)
        yield from read_audio_file(path)

    return samples


def _dataset(prefix: str, splits: tuple[str, ...], classes: tuple[str, ...]) -> EventFolder:
    names = ", ".join(f"{prefix}_{s}.h5" for s in splits)
    return EventFolder(
        name=prefix,
        sensor_size=(UNITS,),
        class_names=classes,
        splits=splits,
        layout=f"  {names}   (the .h5.gz downloads, gunzipped)",
        source="https://zenkelab.org/datasets/ ("
        + ", ".join(f"{prefix}_{s}.h5.gz" for s in splits)
        + ")",
        files=_files(prefix, splits),
        samples=_samples(prefix),
    )


_DATASETS = {
    "shd": _dataset("shd", ("train", "test"), SHD_CLASSES),
    "ssc": _dataset("ssc", ("train", "valid", "test"), SSC_CLASSES),
}
SHD, SSC = _DATASETS["shd"], _DATASETS["ssc"]
