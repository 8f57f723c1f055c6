"""Encoders and decoders: statistics, golden spike times, hand-made signals, errors."""

from __future__ import annotations

import math

import pytest
import torch

from spikeflow import encode
from spikeflow.errors import UserError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- rate


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.9])
def test_bernoulli_rate_matches_probability(p: float) -> None:
    steps, batch = 400, 250
    spikes = encode.rate(torch.full((batch,), p), steps, generator=_gen(1))
    n = steps * batch
    std = math.sqrt(p * (1 - p) / n)
    assert abs(float(spikes.mean()) - p) < 5 * std
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_bernoulli_extremes_are_exact() -> None:
    spikes = encode.rate(torch.tensor([0.0, 1.0]), 50, generator=_gen())
    assert spikes[:, 0].sum() == 0
    assert spikes[:, 1].sum() == 50


@pytest.mark.parametrize("lam", [0.1, 1.0, 3.0])
def test_poisson_spike_probability_is_one_minus_exp(lam: float) -> None:
    steps, batch = 400, 250
    spikes = encode.rate(torch.full((batch,), lam), steps, method="poisson", generator=_gen(2))
    p = 1 - math.exp(-lam)
    std = math.sqrt(p * (1 - p) / (steps * batch))
    assert abs(float(spikes.mean()) - p) < 5 * std
    assert float(spikes.max()) == 1.0


def test_rate_gain_scales_probability() -> None:
    spikes = encode.rate(torch.full((200,), 0.2), 500, gain=2.0, generator=_gen(3))
    std = math.sqrt(0.4 * 0.6 / spikes.numel())
    assert abs(float(spikes.mean()) - 0.4) < 5 * std


def test_rate_shapes_dtype_and_time_varying_input() -> None:
    x = torch.rand(3, 4, 5, dtype=torch.float64, generator=_gen())
    out = encode.rate(x, 7, generator=_gen())
    assert out.shape == (7, 3, 4, 5) and out.dtype == torch.float64
    varying = torch.zeros(6, 2, 3)
    varying[1::2] = 1.0  # spikes exactly on odd steps
    out = encode.rate(varying)
    assert torch.equal(out, varying)


def test_rate_seeded_generator_reproducible() -> None:
    x = torch.rand(8, 16, generator=_gen(5))
    a = encode.rate(x, 30, generator=_gen(42))
    b = encode.rate(x, 30, generator=_gen(42))
    c = encode.rate(x, 30, generator=_gen(43))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    pa = encode.rate(x, 30, method="poisson", generator=_gen(7))
    assert torch.equal(pa, encode.rate(x, 30, method="poisson", generator=_gen(7)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": torch.tensor([1, 0]), "num_steps": 3}, "dtype torch.int64"),
        ({"x": torch.tensor([0.5, 1.2]), "num_steps": 3}, r"values in \[0.5, 1.2\]"),
        ({"x": torch.tensor([-0.1]), "num_steps": 3}, "expected values in"),
        ({"x": torch.tensor([float("nan")]), "num_steps": 3}, "NaN"),
        ({"x": torch.tensor([0.5]), "num_steps": 0}, "num_steps=0"),
        ({"x": torch.tensor([0.5]), "num_steps": -2}, "num_steps=-2"),
        ({"x": torch.tensor([0.5]), "num_steps": 2.5}, "positive integer"),
        ({"x": torch.tensor([0.5]), "num_steps": True}, "num_steps=True"),
        ({"x": torch.tensor([0.5])}, r"\[T, B, \.\.\.\]"),
        ({"x": torch.tensor(0.5), "num_steps": 3}, "at least 1 dims"),
        ({"x": torch.tensor([0.5]), "num_steps": 3, "method": "gauss"}, "'bernoulli'"),
        ({"x": torch.tensor([0.5]), "num_steps": 3, "gain": -1.0}, "gain=-1.0"),
        ({"x": torch.tensor([-1.0]), "num_steps": 3, "method": "poisson"}, ">= 0"),
        ({"x": [0.5], "num_steps": 3}, "torch.Tensor"),
    ],
)
def test_rate_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(UserError, match=match):
        encode.rate(**kwargs)


# ---------------------------------------------------------------- latency


def test_latency_linear_times_equal_formula() -> None:
    x = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0])
    spikes = encode.latency(x, 10, tau=8.0, threshold=0.0)
    assert spikes.shape == (10, 5)
    assert encode.first_spike_time(spikes).tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert spikes.sum(0).tolist() == [1.0] * 5


def test_latency_log_times_equal_formula() -> None:
    x = torch.tensor([1.0, math.exp(-1), math.exp(-2), math.exp(-3)], dtype=torch.float64)
    spikes = encode.latency(x, 10, method="log", tau=2.0, threshold=0.01)
    assert encode.first_spike_time(spikes).tolist() == [0.0, 2.0, 4.0, 6.0]


def test_latency_random_inputs_match_rounded_formula() -> None:
    x = torch.rand(64, generator=_gen(9), dtype=torch.float64)
    tau, thr = 12.0, 0.1
    for method, formula in (("linear", tau * (1 - x)), ("log", tau * torch.log(1 / x))):
        spikes = encode.latency(x, 40, method=method, tau=tau, threshold=thr)
        expected = torch.where(
            (x >= thr) & (formula.round() < 40), formula.round(), torch.tensor(40.0)
        )
        assert torch.equal(encode.first_spike_time(spikes), expected)
        assert float(spikes.sum(0).max()) <= 1.0


@pytest.mark.parametrize("method", ["linear", "log"])
def test_latency_normalize_spans_all_steps(method: str) -> None:
    thr = 0.2 if method == "linear" else math.exp(-2)
    mid = 0.6 if method == "linear" else math.exp(-1)
    x = torch.tensor([1.0, mid, thr, thr * 0.99], dtype=torch.float64)
    spikes = encode.latency(x, 11, method=method, threshold=thr, normalize=True)
    assert encode.first_spike_time(spikes, no_spike=-1).tolist() == [0.0, 5.0, 10.0, -1.0]


def test_latency_spikes_past_the_end_are_dropped() -> None:
    spikes = encode.latency(torch.tensor([[0.5, 0.99]]), 10, tau=100.0)
    assert spikes.shape == (10, 1, 2)
    assert spikes[:, 0, 0].sum() == 0
    assert spikes[1, 0, 1] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": torch.tensor([1.5]), "num_steps": 5}, r"expected values in \[0, 1\]"),
        ({"x": torch.tensor([1]), "num_steps": 5}, "floating dtype"),
        ({"x": torch.tensor([0.5]), "num_steps": 0}, "num_steps=0"),
        ({"x": torch.tensor([0.5]), "num_steps": 5, "tau": 0.0}, "tau=0.0"),
        ({"x": torch.tensor([0.5]), "num_steps": 5, "method": "log", "threshold": 0.0}, "(0, 1)"),
        ({"x": torch.tensor([0.5]), "num_steps": 5, "threshold": 1.0}, "threshold=1.0"),
        ({"x": torch.tensor([0.5]), "num_steps": 5, "method": "exp"}, "'linear', 'log'"),
        ({"x": torch.tensor(0.5), "num_steps": 5}, "at least 1 dims"),
    ],
)
def test_latency_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(UserError, match=match):
        encode.latency(**kwargs)


# ---------------------------------------------------------------- delta


def test_delta_on_off_channels_on_hand_made_signal() -> None:
    signal = torch.tensor([0.0, 0.05, 0.12, 0.12, 0.30, 0.0, -0.02])
    x = torch.stack((signal, -signal), dim=1).unsqueeze(1)  # [T, B=1, N=2]
    events = encode.delta(x, threshold=0.1)
    assert events.shape == (7, 1, 2, 2)
    on, off = events[:, 0, 0], events[:, 0, 1]
    assert on[:, 0].tolist() == [0, 0, 1, 0, 1, 0, 0]
    assert off[:, 0].tolist() == [0, 0, 0, 0, 0, 1, 0]
    # the mirrored signal swaps the polarities
    assert torch.equal(on[:, 1], off[:, 0]) and torch.equal(off[:, 1], on[:, 0])
    signed = encode.delta(x, threshold=0.1, channels=False)
    assert torch.equal(signed, events[:, :, 0] - events[:, :, 1])


def test_delta_slow_drift_accumulates_against_reference() -> None:
    x = (0.03 * torch.arange(13.0, dtype=torch.float64)).reshape(13, 1)
    events = encode.delta(x, threshold=0.1, channels=False).flatten()
    # 0.03 per step: the reference resets at each event, so an event every 4th step
    assert torch.nonzero(events).flatten().tolist() == [4, 8, 12]
    assert encode.delta(torch.zeros(5, 1) + 0.3).sum() == 0


def test_delta_start_zero_reports_onset() -> None:
    x = torch.full((4, 2), 0.5)
    events = encode.delta(x, threshold=0.2, start="zero")
    assert events[:, :, 0].sum(0).tolist() == [1.0, 1.0]
    assert events[0, :, 0].tolist() == [1.0, 1.0]
    assert events[:, :, 1].sum() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": torch.zeros(5)}, "at least 2 dims"),
        ({"x": torch.zeros(5, 1, dtype=torch.int32)}, "floating dtype"),
        ({"x": torch.zeros(5, 1), "threshold": 0.0}, "threshold=0.0"),
        ({"x": torch.zeros(5, 1), "start": "last"}, "'first', 'zero'"),
        ({"x": torch.zeros(5, 1), "channels": "yes"}, "channels='yes'"),
        ({"x": torch.tensor([[float("inf")], [0.0]])}, "infinite"),
    ],
)
def test_delta_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(UserError, match=match):
        encode.delta(**kwargs)


# ---------------------------------------------------------------- population


def test_population_tuning_curves_peak_at_their_centre() -> None:
    n = 7
    centres = encode.population_centres(n, -1.0, 2.0)
    assert torch.allclose(centres, torch.linspace(-1.0, 2.0, n))
    grid = torch.linspace(-1.0, 2.0, 601, dtype=torch.float64)
    responses = encode.population(grid, n, low=-1.0, high=2.0)  # [601, N]
    peaks = grid[responses.argmax(dim=0)]
    assert torch.allclose(peaks, centres.double(), atol=1e-9)
    at_centres = encode.population(centres, n, low=-1.0, high=2.0)
    assert torch.equal(at_centres.argmax(-1), torch.arange(n))
    # default sigma is the spacing: a neighbour responds with exp(-1/2)
    assert math.isclose(float(at_centres[3, 4]), math.exp(-0.5), rel_tol=1e-6)


def test_population_shape_and_sigma() -> None:
    x = torch.rand(2, 3, generator=_gen())
    out = encode.population(x, 5, sigma=0.1)
    assert out.shape == (2, 3, 5)
    assert math.isclose(
        float(encode.population(torch.tensor([0.35]), 5, sigma=0.1)[0, 1]),
        math.exp(-0.5 * 1.0),
        rel_tol=1e-5,
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_neurons": 0}, "num_neurons=0"),
        ({"num_neurons": 4, "low": 1.0, "high": 1.0}, "low < high"),
        ({"num_neurons": 4, "sigma": -0.5}, "sigma=-0.5"),
    ],
)
def test_population_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(UserError, match=match):
        encode.population(torch.tensor([0.5]), **kwargs)


# ---------------------------------------------------------------- decoders


def test_decoders_golden_values() -> None:
    spikes = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    spikes = spikes.unsqueeze(1)  # [T=4, B=1, N=3]
    assert encode.spike_count(spikes).tolist() == [[2.0, 2.0, 0.0]]
    assert encode.spike_count(spikes, normalize=True).tolist() == [[0.5, 0.5, 0.0]]
    assert encode.first_spike_time(spikes).tolist() == [[1.0, 0.0, 4.0]]
    assert encode.first_spike_time(spikes, no_spike=math.inf).tolist() == [[1.0, 0.0, math.inf]]
    v = torch.tensor([[0.1, -1.0], [0.7, -0.5], [0.3, -2.0]]).unsqueeze(1)
    assert encode.max_membrane(v).tolist() == [[pytest.approx(0.7), -0.5]]


def test_spike_count_passes_gradient() -> None:
    spikes = torch.rand(5, 2, 3, requires_grad=True)
    encode.spike_count(spikes).sum().backward()
    assert torch.equal(spikes.grad, torch.ones(5, 2, 3))


@pytest.mark.parametrize(
    "decoder", [encode.spike_count, encode.first_spike_time, encode.max_membrane]
)
def test_decoder_errors(decoder) -> None:
    with pytest.raises(UserError, match="at least 2 dims"):
        decoder(torch.zeros(4))
    with pytest.raises(UserError, match="floating dtype"):
        decoder(torch.zeros(4, 2, dtype=torch.bool))


def test_sensor_motion_rejects_bad_input():
    with pytest.raises(UserError, match="expected a float"):
        encode.sensor_motion(torch.ones(2, 3, 4), 5)
    with pytest.raises(UserError, match="num_steps=0"):
        encode.sensor_motion(torch.ones(3, 4), 0)
    with pytest.warns(FutureWarning, match="'num_steps'"):
        frames = encode.sensor_motion(torch.ones(3, 4), steps=5)
    assert frames.shape == (5, 12)
