"""Event streams (tonic layout): frames, filters, random transforms, batching, event_digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeflow.data import events as ev
from spikeflow.data.event_digits import SENSOR_SIZE, load_event_digits, simulate_saccades
from spikeflow.errors import UserError

SENSOR = (4, 3, 2)  # W, H, P


def _stream() -> np.ndarray:
    # x, y, t (us), p
    rows = [
        (0, 0, 0, 1),
        (1, 0, 100, 0),
        (1, 0, 150, 1),
        (3, 2, 400, 1),
        (0, 0, 900, 0),
        (2, 1, 950, 1),
    ]
    return ev.make_events(*zip(*rows, strict=True))


def test_make_events_sorts_by_time_and_checks_fields():
    e = ev.make_events([1, 0], [0, 0], [50, 10], [1, 0])
    assert e["t"].tolist() == [10, 50] and e["x"].tolist() == [0, 1]
    assert e.dtype.names == ("x", "y", "t", "p")
    with pytest.raises(UserError, match="four 1-D arrays"):
        ev.make_events([1], [0, 1], [0], [0])


def test_frames_by_time_window():
    frames = ev.to_frames(_stream(), SENSOR, time_window=300)
    assert frames.shape == (4, 2, 3, 4)  # t in [0, 950] -> 4 windows of 300 us
    assert frames[0, 1, 0, 0] == 1 and frames[0, 0, 0, 1] == 1 and frames[0, 1, 0, 1] == 1
    assert frames[1, 1, 2, 3] == 1  # t=400
    assert frames[3, 0, 0, 0] == 1 and frames[3, 1, 1, 2] == 1  # t=900, 950
    assert frames.sum() == 6
    late = ev.to_frames(_stream(), SENSOR, time_window=300, start=-300)
    assert late.shape[0] == 5 and late[0].sum() == 0


def test_frames_by_event_count_and_by_bins():
    by_count = ev.to_frames(_stream(), SENSOR, event_count=4)
    assert by_count.shape[0] == 2 and by_count[0].sum() == 4 and by_count[1].sum() == 2
    by_bins = ev.to_frames(_stream(), SENSOR, n_time_bins=2)
    assert by_bins.shape[0] == 2
    assert by_bins[0].sum() == 4 and by_bins[1].sum() == 2  # 0..474 | 475..950 (last included)
    assert ev.to_frames(_stream()[:0], SENSOR, n_time_bins=3).shape == (3, 2, 3, 4)


def test_frame_errors():
    with pytest.raises(UserError, match="expected exactly one of"):
        ev.to_frames(_stream(), SENSOR, time_window=10, event_count=2)
    with pytest.raises(UserError, match="expected exactly one of"):
        ev.to_frames(_stream(), SENSOR)
    with pytest.raises(UserError, match=r"events\['x'\] spans \[0, 3\]"):
        ev.to_frames(_stream(), (3, 3, 2), n_time_bins=1)
    with pytest.raises(UserError, match="fields x, y, t, p"):
        ev.to_frames(np.zeros(3), SENSOR, n_time_bins=1)
    with pytest.raises(UserError, match="sensor_size"):
        ev.to_frames(_stream(), (4, 3), n_time_bins=1)
    unsorted = _stream()[::-1].copy()
    with pytest.raises(UserError, match="not sorted"):
        ev.to_frames(unsorted, SENSOR, n_time_bins=1)
    with pytest.raises(UserError, match="time_window=0"):
        ev.to_frames(_stream(), SENSOR, time_window=0)


def test_denoise_keeps_events_with_a_recent_neighbour():
    kept = ev.denoise(_stream(), SENSOR, filter_time=100)
    # (1,0,100): neighbour (0,0) at t=0 -> 100 us ago: kept. (1,0,150): neighbour (0,0) 150 us ago:
    # dropped (its own pixel does not count). (0,0,900): neighbour (1,0) 750 us ago: dropped.
    assert kept["t"].tolist() == [100]
    assert ev.denoise(_stream(), SENSOR, filter_time=1000)["t"].tolist() == [100, 150, 900, 950]


def test_refractory_filter_drops_events_too_close_on_the_same_pixel():
    e = ev.make_events([1, 1, 1, 1, 2], [0, 0, 0, 0, 0], [0, 40, 60, 130, 41], [1, 0, 1, 1, 1])
    assert ev.refractory_filter(e, SENSOR, period=50)["t"].tolist() == [0, 41, 60, 130]
    assert len(ev.refractory_filter(e, SENSOR, period=0)) == 5


def test_downsample_divides_coordinates_and_sensor():
    out, size = ev.downsample(_stream(), SENSOR, 2)
    assert size == (2, 2, 2)
    assert out["x"].tolist() == [0, 0, 0, 1, 0, 1] and out["y"].tolist() == [0, 0, 0, 1, 0, 0]
    ev.check_events(out, size)


def test_random_transforms_are_seeded():
    e = _stream()
    j1 = ev.time_jitter(e, 30.0, np.random.default_rng(1))
    j2 = ev.time_jitter(e, 30.0, np.random.default_rng(1))
    assert np.array_equal(j1, j2) and not np.array_equal(j1["t"], e["t"])
    assert np.all(np.diff(j1["t"]) >= 0) and j1["t"].min() >= 0
    assert np.array_equal(ev.time_jitter(e, 0.0, np.random.default_rng(0)), e)
    many = ev.make_events(np.zeros(10000), np.zeros(10000), np.arange(10000), np.zeros(10000))
    kept = ev.drop_events(many, 0.3, np.random.default_rng(0))
    assert abs(len(kept) / 10000 - 0.7) < 0.02 and np.all(np.diff(kept["t"]) > 0)
    with pytest.raises(UserError, match=r"fraction=1\.5"):
        ev.drop_events(many, 1.5, np.random.default_rng(0))


def test_collate_is_time_major_with_zero_padding():
    a, b = torch.ones(3, 2, 4, 4), 2 * torch.ones(5, 2, 4, 4)
    x, y = ev.collate_time_major([(a, 1), (b, 7)])
    assert x.shape == (5, 2, 2, 4, 4) and y.tolist() == [1, 7]
    assert torch.all(x[:3, 0] == 1) and torch.all(x[3:, 0] == 0) and torch.all(x[:, 1] == 2)
    _, lengths = ev.pad_sequences([a, b])
    assert lengths.tolist() == [3, 5]
    with pytest.raises(UserError, match="step shape"):
        ev.pad_sequences([a, torch.ones(2, 3)])


def test_simulated_saccades_emit_events_on_edges_only_when_moving():
    img = np.zeros((2, 8, 8))
    img[0, 2:6, 3:5] = 1.0  # a bar; image 1 stays blank (noise only)
    streams = simulate_saccades(img, seed=0)
    bar, blank = streams
    ev.check_events(bar, SENSOR_SIZE)
    assert len(bar) > 500 and 20 < len(blank) < 80  # noise: 0.2 Hz x 0.3 s x 800 = 48 expected
    assert 0.3 < bar["p"].mean() < 0.7  # edges move both ways: ON and OFF
    frames = ev.to_frames(bar, SENSOR_SIZE, time_window=100_000, start=0)
    assert frames.shape[0] == 3 and all(f.sum() > 50 for f in frames)  # three saccades


def test_event_digits_bundle_layout():
    bundle = load_event_digits(limit=60, n_time_bins=6)
    assert bundle.temporal and bundle.input_shape == (2, 20, 20) and bundle.num_classes == 10
    assert len(bundle.train) + len(bundle.test) == 60
    x, y = bundle.collate([bundle.train[i] for i in range(4)])
    assert x.shape == (6, 4, 2, 20, 20) and y.shape == (4,)
    assert x.sum() > 0


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("x", 65541, r"x spans \[\d+, 65541\]"),
        ("y", -40000, r"y spans \[-40000"),
        ("p", 300, r"p spans \[\d+, 300\]"),
        ("x", 2.5, r"x holds 2\.5; expected whole numbers"),
        ("t", float("nan"), "t holds nan"),
        ("p", float("inf"), "p holds inf"),
    ],
)
def test_make_events_refuses_values_a_cast_would_wrap_or_truncate(field, value, match):
    cols = {"x": [1.0, 2.0], "y": [0, 1], "t": [0, 5], "p": [0, 1]}
    cols[field] = [cols[field][0], value]
    with pytest.raises(UserError, match=match):
        ev.make_events(**cols)


def test_make_events_accepts_whole_floats():
    events = ev.make_events([1.0, 2.0], [0, 1], [0.0, 5.0], [0, 1])
    assert events["x"].tolist() == [1, 2] and events["t"].tolist() == [0, 5]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_augmentations_refuse_non_finite_parameters(bad):
    events = ev.make_events([1, 2], [0, 1], [0, 5], [0, 1])
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match="std="):
        ev.time_jitter(events, std=bad, rng=rng)
    with pytest.raises(UserError, match="fraction="):
        ev.drop_events(events, fraction=bad, rng=rng)
