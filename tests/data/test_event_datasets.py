"""Registered neuromorphic datasets: transforms, splits and the on-disk cache (parsed once,
written atomically, keyed by the settings and the source files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spikeflow as sf
from spikeflow.data import nmnist
from spikeflow.data.events import to_frames
from spikeflow.data.neuromorphic import load_event_dataset
from spikeflow.data.transforms import EventTransform, apply_transform, parse_transform
from spikeflow.errors import UserError

from .formats import random_audio, write_audio, write_gesture_folder, write_nmnist_folder


@pytest.fixture
def nmnist_dir(tmp_path):
    root = tmp_path / "nmnist"
    return root, write_nmnist_folder(root, np.random.default_rng(0), per_class=2)


def _fail(*args, **kwargs):
    raise AssertionError("the files were parsed again")


def test_nmnist_frames_match_the_events_written(nmnist_dir):
    root, written = nmnist_dir
    bundle = load_event_dataset("nmnist", str(root), transform="n_time_bins=5")
    assert bundle.input_shape == (2, 34, 34) and bundle.num_classes == 10
    assert len(bundle.train) == 20 and len(bundle.test) == 20
    for i in (0, 7, 19):
        x, y = bundle.train[i]
        events, label = written["Train"][i]
        assert y == label and x.dtype == torch.float32
        assert np.array_equal(x.numpy(), to_frames(events, (34, 34, 2), n_time_bins=5))
    x, y = bundle.collate([bundle.test[0], bundle.test[1]])
    assert x.shape == (5, 2, 2, 34, 34) and y.tolist() == [0, 0]


def test_cache_is_read_instead_of_parsing_and_keyed_by_settings(nmnist_dir, monkeypatch, tmp_path):
    root, _ = nmnist_dir
    first = load_event_dataset("nmnist", str(root), transform="n_time_bins=4")
    monkeypatch.setattr(nmnist, "read_nmnist_file", _fail)
    again = load_event_dataset("nmnist", str(root), transform="n_time_bins=4")
    assert torch.equal(again.train[3][0], first.train[3][0])
    with pytest.raises(AssertionError, match="parsed again"):
        load_event_dataset("nmnist", str(root), transform="n_time_bins=4,downsample=2")
    with pytest.raises(AssertionError, match="parsed again"):  # another cache folder
        load_event_dataset(
            "nmnist", str(root), transform="n_time_bins=4", cache_dir=str(tmp_path / "c")
        )


def test_changed_source_file_invalidates_the_cache(nmnist_dir, monkeypatch):
    root, _ = nmnist_dir
    load_event_dataset("nmnist", str(root))
    victim = sorted((root / "Test" / "3").glob("*.bin"))[0]
    victim.write_bytes(victim.read_bytes()[:-5])  # one event fewer
    monkeypatch.setattr(nmnist, "read_nmnist_file", _fail)
    with pytest.raises(AssertionError, match="parsed again"):
        load_event_dataset("nmnist", str(root))


def test_interrupted_build_leaves_no_entry(nmnist_dir, monkeypatch):
    root, _ = nmnist_dir
    real, calls = nmnist.read_nmnist_file, []

    def dies_on_the_fifth(path):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(path)

    monkeypatch.setattr(nmnist, "read_nmnist_file", dies_on_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        load_event_dataset("nmnist", str(root))
    assert list((root / ".spikeflow-cache").iterdir()) == []  # no half-written entry, no temp
    monkeypatch.setattr(nmnist, "read_nmnist_file", real)
    assert len(load_event_dataset("nmnist", str(root)).train) == 20


def test_damaged_cache_entry_is_rebuilt(nmnist_dir):
    root, _ = nmnist_dir
    want = load_event_dataset("nmnist", str(root)).train[5][0]
    (frames,) = (root / ".spikeflow-cache").glob("nmnist-train-*.frames")
    frames.write_bytes(frames.read_bytes()[:100])
    assert torch.equal(load_event_dataset("nmnist", str(root)).train[5][0], want)


def test_registry_load_with_options_and_validation_split(nmnist_dir):
    root, _ = nmnist_dir
    bundle = sf.data.load(
        "nmnist", data_dir=str(root), val_fraction=0.5, transform="event_count=40"
    )
    assert len(bundle.train) == 10 and len(bundle.val) == 10
    assert sorted(bundle.val[i][1] for i in range(10)) == list(range(10))  # stratified
    with pytest.raises(
        UserError, match=r"option\(s\) transform are not valid for dataset 'digits'"
    ):
        sf.data.load("digits", transform="n_time_bins=3")
    with pytest.raises(UserError, match=r"nmnist: folder Train/ not found .*Train\.zip"):
        sf.data.load("nmnist", data_dir=str(root / "nowhere"))


def test_gesture_dataset_downsampled_and_denoised(tmp_path):
    trials = {"train": ["user01_led", "user02_led"], "test": ["user03_led"]}
    written = write_gesture_folder(tmp_path, np.random.default_rng(1), trials)
    bundle = load_event_dataset(
        "dvs_gesture", str(tmp_path), transform="n_time_bins=3,downsample=8,denoise=50000"
    )
    assert bundle.input_shape == (2, 16, 16) and len(bundle.train) == 6 and len(bundle.test) == 3
    settings = EventTransform(n_time_bins=3, downsample=8, denoise=50000.0)
    x, y = bundle.train[4]
    assert y == written["train"][4][1]
    assert np.array_equal(
        x.numpy(), apply_transform(settings, written["train"][4][0], (128, 128, 2))
    )
    assert 0 < x.sum() < len(written["train"][4][0])  # denoise dropped some, not all


def test_ssc_audio_bins_and_official_validation_split(tmp_path):
    rng = np.random.default_rng(2)
    splits = {
        s: random_audio(rng, n, classes=35) for s, n in (("train", 6), ("valid", 3), ("test", 4))
    }
    for s, samples in splits.items():
        write_audio(tmp_path / f"ssc_{s}.h5", samples)
    bundle = load_event_dataset("ssc", str(tmp_path), transform="time_window=50000,downsample=7")
    assert bundle.input_shape == (100,) and len(bundle.val) == 3 and bundle.num_classes == 35
    x, y = bundle.val[1]
    ev, label = splits["valid"][1]
    assert y == label and x.shape == (20, 100)
    want = np.zeros((20, 100), np.float32)
    np.add.at(want, (ev["t"] // 50_000, ev["unit"] // 7), 1)
    assert np.array_equal(x.numpy(), want)


def test_parse_transform():
    base = EventTransform(n_time_bins=10, downsample=2)
    assert parse_transform("", base) == base
    assert parse_transform("time_window=1000", base) == EventTransform(
        time_window=1000.0, downsample=2
    )
    with pytest.raises(UserError, match="transform item 'bins=3' is not valid"):
        parse_transform("bins=3", base)
    with pytest.raises(
        UserError, match=r"transform downsample='1\.5' is not valid; expected an integer"
    ):
        parse_transform("downsample=1.5", base)
    with pytest.raises(UserError, match="n_time_bins and event_count; expected exactly one"):
        parse_transform("n_time_bins=3,event_count=5", base)
    with pytest.raises(UserError, match=r"denoise=5\.0 is not valid for audio"):
        apply_transform(
            EventTransform(n_time_bins=2, denoise=5.0),
            np.zeros(0, [("t", "i8"), ("unit", "i2")]),
            (700,),
        )
