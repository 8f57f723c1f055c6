"""Every range check of the event and sequence tools refuses NaN and inf with one line naming the
argument (one table), plus the other ``UserError`` paths no other data test reaches."""

import numpy as np
import pytest
import torch

from spikeflow.data import bundle, events, registry, temporal
from spikeflow.data.transforms import EventTransform, apply_transform, parse_transform
from spikeflow.errors import UserError

NAN, INF = float("nan"), float("inf")
SENSOR = (4, 4, 2)


def _ev() -> np.ndarray:
    return events.make_events([0, 1, 2], [0, 1, 3], [10, 20, 30], [0, 1, 0])


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _audio() -> np.ndarray:
    out = np.zeros(2, dtype=[("t", np.float64), ("unit", np.int64)])
    out["t"], out["unit"] = [0.1, 0.2], [0, 1]
    return out


def _bundle() -> bundle.DataBundle:
    return bundle.tensor_bundle(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]),
                                torch.zeros(2, 2), torch.tensor([0, 1]), ("a", "b"))  # fmt: skip


CASES = [
    # non-finite values in every range check
    (lambda: events.to_frames(_ev(), SENSOR, time_window=NAN), "time_window=nan is not valid"),
    (lambda: events.to_frames(_ev(), SENSOR, time_window=INF), "time_window=inf is not valid"),
    (lambda: events.denoise(_ev(), SENSOR, NAN), "filter_time=nan is not valid"),
    (lambda: events.denoise(_ev(), SENSOR, INF), "filter_time=inf is not valid"),
    (lambda: events.refractory_filter(_ev(), SENSOR, NAN), "period=nan is not valid"),
    (lambda: events.refractory_filter(_ev(), SENSOR, INF), "period=inf is not valid"),
    (lambda: events.time_jitter(_ev(), NAN, _rng()), "std=nan is not valid"),
    (lambda: events.time_jitter(_ev(), INF, _rng()), "std=inf is not valid"),
    (lambda: events.drop_events(_ev(), NAN, _rng()), "fraction=nan is not valid"),
    (lambda: events.drop_events(_ev(), -INF, _rng()), "fraction=-inf is not valid"),
    (lambda: EventTransform(time_window=NAN), "time_window=nan is not valid"),
    (lambda: EventTransform(n_time_bins=2, denoise=INF), "denoise=inf is not valid"),
    (lambda: EventTransform(n_time_bins=2, duration=NAN), "duration=nan is not valid"),
    (lambda: temporal.read_shd("x.h5", dt=NAN), "dt=nan is not valid"),
    (lambda: temporal.read_shd("x.h5", duration=INF), "duration=inf is not valid"),
    (lambda: temporal.load_shd(dt=INF), "dt=inf is not valid"),
    (lambda: bundle.split_validation(_bundle(), NAN, 0), "val_fraction=nan is not valid"),
    (lambda: bundle.split_validation(_bundle(), INF, 0), "val_fraction=inf is not valid"),
    # the same through the --transform text of the commands (was a bare ValueError/OverflowError)
    (
        lambda: parse_transform("n_time_bins=nan", EventTransform(n_time_bins=2)),
        "n_time_bins='nan'",
    ),
    (
        lambda: parse_transform("event_count=inf", EventTransform(n_time_bins=2)),
        "event_count='inf'",
    ),
    (
        lambda: parse_transform("downsample=-inf", EventTransform(n_time_bins=2)),
        "downsample='-inf'",
    ),
    (lambda: parse_transform("time_window=nan", EventTransform(n_time_bins=2)), "time_window=nan"),
    # event arrays
    (lambda: events.make_events([0], [0], [1.5], [0]), "t holds 1.5; expected whole numbers"),
    (lambda: events.make_events([0], [0], [NAN], [0]), "t holds nan; expected whole numbers"),
    (lambda: events.make_events(["a"], [0], [1], [0]), "x has dtype <U1; expected integers"),
    (lambda: events.make_events([0, 1], [0], [1], [0]), "x, y, t, p have shapes (2,), (1,)"),
    (lambda: events.check_events(np.zeros(2), SENSOR), "events has fields ()"),
    (lambda: events.check_events(_ev(), (4, 4)), "sensor_size=(4, 4) is not valid"),
    (lambda: events.check_events(_ev(), (4, 0, 2)), "sensor_size=(4, 0, 2) is not valid"),
    (lambda: events.check_events(_ev()[::-1], SENSOR), "events['t'] is not sorted"),
    (lambda: events.to_frames(_ev(), SENSOR), "none given; expected exactly one of time_window"),
    (
        lambda: events.to_frames(_ev(), SENSOR, time_window=5, event_count=2),
        "time_window and event_count given",
    ),
    (lambda: events.to_frames(_ev(), SENSOR, time_window=5, start=15), "start=15 is after"),
    (lambda: events.pad_sequences([]), "seqs=[] is not valid"),
    (
        lambda: events.pad_sequences([torch.zeros(2, 3), torch.zeros(2, 4)]),
        "sequence 1 has step shape (4,); expected (3,) like sequence 0",
    ),
    # transforms and sequences
    (lambda: EventTransform(), "transform sets no slicing"),
    (lambda: parse_transform("colour=red", EventTransform(n_time_bins=2)), "transform item"),
    (lambda: parse_transform("downsample=two", EventTransform(n_time_bins=2)), "expected a number"),
    (
        lambda: apply_transform(EventTransform(n_time_bins=2, denoise=5.0), _audio(), (2,)),
        "transform denoise=5.0 is not valid for audio events; expected 0",
    ),
    (lambda: temporal.SequenceDataset([torch.zeros(2)], torch.tensor([0, 1])), "1 sequences but 2"),
    (lambda: temporal.encode_sequence(torch.zeros(3, 2), encoding="spikes"), "encoding='spikes'"),
    (lambda: bundle.limit(torch.zeros(3), 0, 0, "limit_train"), "limit_train=0 is not valid"),
    (lambda: registry.register("x", "not callable", "d"), "loader='not callable' is not valid"),
]


@pytest.mark.parametrize(("call", "words"), CASES)
def test_data_refuses(call, words):
    with pytest.raises(UserError) as err:
        call()
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_whole_and_finite_transform_numbers_still_parse():
    got = parse_transform("n_time_bins=4.0, downsample=2", EventTransform(time_window=1e3))
    assert (got.n_time_bins, got.time_window, got.downsample) == (4, None, 2)
