"""IDX reading (gzip and raw), the Fashion-MNIST loader's layout, and its errors."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from spikeflow import data
from spikeflow.data.idx import PARTS, load_idx_dir, read_idx
from spikeflow.errors import UserError


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_set(
    directory: Path, n_train: int = 6, n_test: int = 4, gz: bool = True, shape=(5, 3)
) -> dict:
    """An IDX set of random ``shape`` images in ``directory``; returns its arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "train_y": np.arange(n_train, dtype=np.uint8) % 10,
        "test_x": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "test_y": np.arange(n_test, dtype=np.uint8) % 10,
    }
    directory.mkdir(parents=True, exist_ok=True)
    for key, stem in PARTS.items():
        raw = idx_bytes(arrays[key])
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / stem).write_bytes(raw)
    return arrays


@pytest.mark.parametrize(
    ("dtype", "code"),
    [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)],
)
def test_read_idx_types_gzip_and_raw(tmp_path, dtype, code):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(a, code)
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "b.gz").write_bytes(gzip.compress(raw))
    for name in ("a", "b.gz"):
        got = read_idx(tmp_path / name)
        assert got.shape == (2, 3, 4)
        np.testing.assert_array_equal(got, a)


def test_loader_layout_and_scaling(tmp_path):
    arrays = write_set(tmp_path / "fm", gz=False)
    bundle = load_idx_dir(tmp_path / "fm", tuple("abcdefghij"), how_to_get="")
    x, y = bundle.train.tensors
    assert x.shape == (6, 1, 5, 3) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    np.testing.assert_allclose(x[:, 0].numpy(), arrays["train_x"] / 255.0, rtol=1e-6)
    assert bundle.input_shape == (1, 5, 3) and bundle.num_classes == 10


def test_registry_uses_data_dir(tmp_path):
    write_set(tmp_path / "fm")
    bundle = data.load("fashion_mnist", data_dir=str(tmp_path / "fm"))
    assert len(bundle.train) == 6 and len(bundle.test) == 4
    assert bundle.class_names[9] == "Ankle boot"


def test_missing_directory_says_how_to_get_it(tmp_path):
    with pytest.raises(UserError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion_mnist", data_dir=str(tmp_path / "nowhere"))


def test_missing_file_named(tmp_path):
    write_set(tmp_path / "fm")
    (tmp_path / "fm" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte"):
        data.load("fashion_mnist", data_dir=str(tmp_path / "fm"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage", "cannot decompress"),
        (b"\x08\x03\x00\x00", "bad magic"),
        (b"", "bad magic"),
        (
            bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x00" * 3,
            r"11 bytes for shape \(10,\); expected 18",
        ),
    ],
)
def test_corrupt_files(tmp_path, content, message):
    path = tmp_path / "x.idx"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_idx(path)


def test_truncated_gzip_in_a_dataset(tmp_path):
    write_set(tmp_path / "fm")
    part = tmp_path / "fm" / "train-images-idx3-ubyte.gz"
    part.write_bytes(part.read_bytes()[:20])
    with pytest.raises(UserError, match=r"train-images-idx3-ubyte\.gz.*corrupt"):
        data.load("fashion_mnist", data_dir=str(tmp_path / "fm"))


def test_label_count_mismatch(tmp_path):
    write_set(tmp_path / "fm")
    (tmp_path / "fm" / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(5, dtype=np.uint8)))
    )
    with pytest.raises(UserError, match="do not match"):
        data.load("fashion_mnist", data_dir=str(tmp_path / "fm"))


@pytest.mark.skipif(
    not Path(data.FASHION_MNIST_DIR).is_dir(), reason="dataset-fashion-mnist not installed"
)
def test_real_fashion_mnist_layout():
    bundle = data.load("fashion_mnist", val_fraction=0.1)
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (54000, 6000, 10000)
    x, y = bundle.test.tensors
    assert x.shape == (10000, 1, 28, 28) and float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert torch.bincount(y).tolist() == [1000] * 10
