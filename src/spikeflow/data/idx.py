"""IDX files (the MNIST format), gzip-compressed or raw, and the MNIST / Fashion-MNIST loaders.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the values in C order (big-endian). Types: 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from spikeflow.data.bundle import DataBundle, tensor_bundle
from spikeflow.errors import UserError

#: Where Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
#: Default place looked at for MNIST (no Debian package ships it; pass ``data_dir``).
MNIST_DIR = "/usr/share/datasets/mnist"

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: File stems of the four parts; each may end in ``.gz`` or not, with ``-`` or ``.`` before ``idx``.
PARTS = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip detected from its first bytes, not its name) into a numpy array.

    Raises :class:`UserError` naming the file when it is missing, truncated or not IDX.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError as err:
        raise UserError(f"IDX file {str(path)!r} does not exist") from err
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"IDX file {str(path)!r} is corrupt: cannot decompress ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise UserError(
            f"IDX file {str(path)!r} is corrupt: bad magic number {raw[:4].hex() or '(empty)'}; "
            "expected 0000 followed by a type code and a dimension count"
        )
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"IDX file {str(path)!r} is corrupt: header truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise UserError(
            f"IDX file {str(path)!r} is corrupt: {len(raw)} bytes for shape {shape}; "
            f"expected {expected}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def find_part(directory: Path, stem: str) -> Path:
    """The file for ``stem`` in ``directory``: ``.gz`` or raw, ``-idx`` or ``.idx`` spelling."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for suffix in (".gz", ""):
            candidate = directory / (name + suffix)
            if candidate.is_file():
                return candidate
    raise UserError(f"IDX file {stem}[.gz] is missing from {str(directory)!r}")


def load_idx_dir(
    directory: str | Path, class_names: tuple[str, ...], *, how_to_get: str
) -> DataBundle:
    """Load the four MNIST-layout IDX files of ``directory``: images ``[N, 1, H, W]`` in [0, 1]."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"data directory {str(directory)!r} does not exist; {how_to_get}")
    arrays = {key: read_idx(find_part(directory, stem)) for key, stem in PARTS.items()}
    tensors = []
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise UserError(
                f"IDX files of the {split} split in {str(directory)!r} do not match: images "
                f"{x.shape}, labels {y.shape}; expected [N, H, W] images and [N] labels"
            )
        if y.size and (y.min() < 0 or y.max() >= len(class_names)):
            raise UserError(
                f"IDX labels of the {split} split in {str(directory)!r} hold values outside "
                f"0..{len(class_names) - 1}"
            )
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        tensors.append(torch.from_numpy(x.astype(np.float32) / scale).unsqueeze(1))
        tensors.append(torch.from_numpy(y.astype(np.int64)))
    train_x, train_y, test_x, test_y = tensors
    return tensor_bundle(train_x, train_y, test_x, test_y, class_names)


def load_fashion_mnist(data_dir: str | None = None, seed: int = 0) -> DataBundle:
    """Fashion-MNIST (60,000 + 10,000 images ``[1, 28, 28]``), by default from Debian's package."""
    return load_idx_dir(
        data_dir or FASHION_MNIST_DIR,
        FASHION_CLASSES,
        how_to_get="install it with `apt-get install dataset-fashion-mnist` (Debian) or pass "
        "--data-dir DIR holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
    )


def load_mnist(data_dir: str | None = None, seed: int = 0) -> DataBundle:
    """MNIST (60,000 + 10,000 images ``[1, 28, 28]``) from IDX files in ``data_dir``."""
    return load_idx_dir(
        data_dir or MNIST_DIR,
        tuple(str(d) for d in range(10)),
        how_to_get="pass --data-dir DIR holding the four MNIST IDX files "
        "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...)",
    )
