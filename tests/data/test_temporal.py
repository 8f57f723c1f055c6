"""Temporal datasets: the SHD HDF5 reader and JapaneseVowels (optional sktime)."""

from __future__ import annotations

import sys

import h5py
import numpy as np
import pytest
import torch

from spikeflow.data.temporal import encode_sequence, load_japanese_vowels, load_shd, read_shd
from spikeflow.errors import UserError


def _ragged(arrays, dtype):
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = np.asarray(a, dtype)
    return out


def _write_shd(path, times, units, labels):
    with h5py.File(path, "w") as f:
        spikes = f.create_group("spikes")
        vlen = h5py.vlen_dtype
        spikes.create_dataset("times", data=_ragged(times, np.float32), dtype=vlen(np.float32))
        spikes.create_dataset("units", data=_ragged(units, np.uint16), dtype=vlen(np.uint16))
        f.create_dataset("labels", data=np.asarray(labels, np.uint8))


def _sample_file(path):
    times = [np.array([0.0, 0.004, 0.015, 0.99, 1.2]), np.array([0.5])]
    units = [np.array([3, 3, 699, 10, 5]), np.array([0])]
    _write_shd(path, times, units, [7, 19])


def test_read_shd_bins_spikes_by_time_and_unit(tmp_path):
    _sample_file(tmp_path / "s.h5")
    counts, labels = read_shd(tmp_path / "s.h5", dt=0.01, duration=1.0)
    assert counts.shape == (2, 100, 700) and labels.tolist() == [7, 19]
    assert counts[0, 0, 3] == 2  # t = 0 and 4 ms, unit 3
    assert counts[0, 1, 699] == 1 and counts[0, 99, 10] == 1
    assert counts[0].sum() == 4  # the spike at 1.2 s is after the duration
    assert counts[1, 50, 0] == 1 and counts[1].sum() == 1


def test_read_shd_errors(tmp_path):
    with pytest.raises(UserError, match="is not a file"):
        read_shd(tmp_path / "none.h5")
    with h5py.File(tmp_path / "nolabels.h5", "w") as f:
        f.create_group("spikes")
    with pytest.raises(UserError, match="spikes/times, spikes/units and labels"):
        read_shd(tmp_path / "nolabels.h5")
    _write_shd(tmp_path / "n.h5", [np.array([0.1])], [np.array([1])], [1, 2])
    with pytest.raises(UserError, match="1 spike-time arrays, 1 unit arrays and 2 labels"):
        read_shd(tmp_path / "n.h5")
    _write_shd(tmp_path / "u.h5", [np.array([0.1])], [np.array([800])], [1])
    with pytest.raises(UserError, match="unit 800"):
        read_shd(tmp_path / "u.h5")
    with pytest.raises(UserError, match="dt=0"):
        read_shd(tmp_path / "u.h5", dt=0)


def test_load_shd_from_a_directory(tmp_path):
    with pytest.raises(UserError, match=r"zenkelab\.org"):
        load_shd(str(tmp_path))
    _sample_file(tmp_path / "shd_train.h5")
    _sample_file(tmp_path / "shd_test.h5")
    bundle = load_shd(str(tmp_path))
    assert bundle.temporal and bundle.input_shape == (700,) and bundle.num_classes == 20
    x, y = bundle.collate([bundle.train[0], bundle.train[1]])
    assert x.shape == (100, 2, 700) and y.tolist() == [7, 19]


def test_encode_sequence_current_and_delta():
    seq = torch.tensor([[0.0, 1.0], [0.3, 1.0], [0.1, 0.0]])
    cur = encode_sequence(seq, "current", repeat=2)
    assert cur.shape == (6, 2) and torch.equal(cur[::2], seq) and torch.equal(cur[1::2], seq)
    spikes = encode_sequence(seq, "delta", threshold=0.25)
    assert spikes.shape == (3, 4)  # [ON f0, ON f1, OFF f0, OFF f1]
    # f0: 0 -> 0.3 crosses +0.25 at t=1 (ON), 0.3 -> 0.1 falls 0.2 (< 0.25): nothing.
    # f1: 0 -> 1.0 at t=0 (ON, zero reference); 1.0 -> 0.0 at t=2 (OFF).
    assert spikes.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    with pytest.raises(UserError, match="encoding='rate'"):
        encode_sequence(seq, "rate")


def test_japanese_vowels_without_sktime_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    with pytest.raises(UserError, match=r"pip install 'spikeflow\[temporal\]'"):
        load_japanese_vowels()


@pytest.mark.parametrize("encoding", ["current", "delta"])
def test_japanese_vowels_layout(encoding):
    pytest.importorskip("sktime", reason="JapaneseVowels needs the optional extra 'temporal'")
    bundle = load_japanese_vowels(encoding=encoding, repeat=2)
    features = 12 if encoding == "current" else 24
    assert (len(bundle.train), len(bundle.test)) == (270, 370)
    assert bundle.num_classes == 9 and bundle.input_shape == (features,) and bundle.temporal
    lengths = [len(bundle.train[i][0]) for i in range(len(bundle.train))]
    assert min(lengths) >= 14 and max(lengths) <= 58 and all(n % 2 == 0 for n in lengths)
    labels = {bundle.train[i][1] for i in range(len(bundle.train))}
    assert labels == set(range(9))
    x, y = bundle.collate([bundle.train[i] for i in range(8)])
    assert x.shape == (max(lengths[:8]), 8, features) and y.shape == (8,)
    if encoding == "current":
        everything = torch.cat([bundle.train[i][0] for i in range(len(bundle.train))])
        assert everything.mean(0).abs().max() < 1e-4  # standardised on the training set
        assert (everything.std(0) - 1).abs().max() < 1e-2
    else:
        assert set(torch.unique(x).tolist()) <= {0.0, 1.0} and x.sum() > 0
