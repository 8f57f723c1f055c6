"""The neuromorphic benchmarks as registered datasets: SHD, SSC, N-MNIST, DVS128 Gesture and
CIFAR10-DVS, read from their files as distributed, transformed as configured and cached on disk.

``sf.data.load("nmnist", data_dir=D, transform="n_time_bins=10,downsample=2")``; from the command
line ``spikeflow train --dataset nmnist --data-dir D --transform n_time_bins=10``. Samples are
count sequences ``[T, P, H, W]`` (vision) or ``[T, 700]`` (audio), batched time-major.
"""

from __future__ import annotations

from pathlib import Path

from spikeflow.data.bundle import DataBundle
from spikeflow.data.cache import cached_split
from spikeflow.data.cifar10_dvs import DATASET as CIFAR10_DVS
from spikeflow.data.dvs_gesture import DATASET as DVS_GESTURE
from spikeflow.data.events import collate_time_major
from spikeflow.data.nmnist import DATASET as NMNIST
from spikeflow.data.recordings import EventFolder, data_root
from spikeflow.data.shd import SHD, SSC, read_class_names
from spikeflow.data.transforms import EventTransform, parse_transform, step_shape

FOLDERS: dict[str, EventFolder] = {f.name: f for f in (SHD, SSC, NMNIST, DVS_GESTURE, CIFAR10_DVS)}
#: The transform of each dataset when none is given (keys given by the user override these).
DEFAULT_TRANSFORMS = {
    "shd": EventTransform(time_window=10_000.0),
    "ssc": EventTransform(time_window=10_000.0),
    "nmnist": EventTransform(n_time_bins=10),
    "dvs_gesture": EventTransform(n_time_bins=20, downsample=4),
    "cifar10_dvs": EventTransform(n_time_bins=10, downsample=2),
}
OPTIONS = ("transform", "download", "cache_dir", "progress")
DESCRIPTIONS = {
    "shd": "Spiking Heidelberg Digits (HDF5), 700 channels, 20 classes, 8,156 / 2,264; "
    "default 10 ms bins over 1 s: [100, 700]",
    "ssc": "Spiking Speech Commands (HDF5), 700 channels, 35 classes, train / valid / test; "
    "default 10 ms bins over 1 s: [100, 700]",
    "nmnist": "N-MNIST (.bin folders), 34x34x2, 60,000 / 10,000; default 10 time bins",
    "dvs_gesture": "DVS128 Gesture (AEDAT 3.1), 11 classes, 1,077 / 264 gestures; default 20 "
    "bins, downsample 4: [20, 2, 32, 32]",
    "cifar10_dvs": "CIFAR10-DVS (AEDAT 2.0), 10 classes, 9,000 / 1,000 (first 90% per class); "
    "default 10 bins, downsample 2: [10, 2, 64, 64]",
}


def load_event_dataset(
    name: str,
    data_dir: str | None = None,
    seed: int = 0,
    *,
    transform: str | EventTransform = "",
    download: bool = False,
    cache_dir: str | None = None,
    progress: bool = False,
) -> DataBundle:
    """A neuromorphic benchmark as a :class:`DataBundle` of cached count sequences.

    Arguments:
        name: one of ``FOLDERS`` (``shd``, ``ssc``, ``nmnist``, ``dvs_gesture``, ``cifar10_dvs``).
        data_dir: the folder with the files as distributed (default ``~/data/<name>``).
        seed: unused (the official splits).
        transform: ``"key=value,..."`` over the dataset's default (see
            :class:`~spikeflow.data.transforms.EventTransform`), or the settings themselves.
        download: fetch the official archives into ``data_dir`` first (checksums verified).
        cache_dir: where transformed tensors are cached (default ``<data_dir>/.spikeflow-cache``).
        progress: show a progress bar while parsing.

    Returns:
        Train / test (and SSC's official ``valid`` as ``val``) of ``([T, *step] float32,
        label)``, ``input_shape`` the step shape, batched time-major ``[T, B, *step]``.
    """
    folder = FOLDERS[name]
    root = data_root(data_dir, name)
    if download:
        from spikeflow.data.download import fetch

        fetch(name, root, progress=progress)
    settings = (
        transform
        if isinstance(transform, EventTransform)
        else parse_transform(transform, DEFAULT_TRANSFORMS[name])
    )
    cache = Path(cache_dir) if cache_dir is not None else root / ".spikeflow-cache"
    splits = {
        s: cached_split(folder, root, s, settings, cache, progress=progress) for s in folder.splits
    }
    names = folder.class_names
    if folder.audio:
        stored = read_class_names(folder.files(root, "train")[0])
        names = stored if stored and len(stored) == len(names) else names
    return DataBundle(
        train=splits["train"],
        test=splits["test"],
        val=splits.get("valid"),
        num_classes=len(folder.class_names),
        input_shape=step_shape(settings, folder.sensor_size),
        class_names=tuple(names),
        temporal=True,
        collate=collate_time_major,
    )
