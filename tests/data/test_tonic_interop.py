"""``sf.data.from_tonic``: a duck-typed stand-in for a tonic dataset (tonic itself is optional and
only in the benchmark environment)."""

from __future__ import annotations

import numpy as np
import pytest

import spikeflow as sf
from spikeflow.data.events import to_frames
from spikeflow.errors import UserError

from .formats import random_events


class FakeTonic:
    """What tonic's datasets offer: len, (events, target) items, sensor_size and classes; events
    with tonic's int64 fields in its own order."""

    sensor_size = (34, 34, 2)
    classes = tuple(f"{d} - digit" for d in range(10))

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.samples = []
        for k in range(n):
            ev = random_events(rng, 100, self.sensor_size)
            raw = np.empty(len(ev), [("t", "<i8"), ("x", "<i8"), ("y", "<i8"), ("p", "<i8")])
            for f in ("t", "x", "y", "p"):
                raw[f] = ev[f]
            self.samples.append((raw, k % 10, ev))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i][:2]


class FakeTonicAudio:
    sensor_size = (700, 1, 1)

    def __len__(self):
        return 2

    def __getitem__(self, i):
        raw = np.zeros(3, [("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
        raw["t"], raw["x"] = [0, 15_000, 30_000], [5, 5, 699]
        return raw, i


def test_from_tonic_vision_matches_frames_of_the_events():
    fake = FakeTonic(6, 0)
    ds = sf.data.from_tonic(fake, transform="n_time_bins=4")
    assert len(ds) == 6 and ds.input_shape == (2, 34, 34) and ds.class_names[3] == "3 - digit"
    x, y = ds[4]
    assert y == 4 and np.array_equal(
        x.numpy(), to_frames(fake.samples[4][2], (34, 34, 2), n_time_bins=4)
    )


def test_tonic_audio_and_bundle():
    ds = sf.data.from_tonic(FakeTonicAudio(), transform="time_window=10000,duration=40000")
    x, y = ds[1]
    assert y == 1 and x.shape == (4, 700) and x[0, 5] == 1 and x[1, 5] == 1 and x[3, 699] == 1
    bundle = sf.data.tonic_bundle(FakeTonic(10, 1), FakeTonic(4, 2), transform="n_time_bins=3")
    xb, yb = bundle.collate([bundle.train[0], bundle.train[1]])
    assert xb.shape == (3, 2, 2, 34, 34) and yb.tolist() == [0, 1] and bundle.num_classes == 10


def test_from_tonic_bad_input():
    with pytest.raises(UserError, match="sensor_size=None"):
        sf.data.from_tonic(object())

    class Frames(FakeTonic):
        def __getitem__(self, i):
            return np.zeros((3, 2, 34, 34)), 0

    with pytest.raises(UserError, match=r"sample 0 has fields .*expected a structured event array"):
        sf.data.from_tonic(Frames(1, 0))[0]
