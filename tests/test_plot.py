"""Plot functions: what they draw (data on the artists), PNG output, and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from spikeflow import plot
from spikeflow.errors import UserError
from spikeflow.plot._common import PALETTE
from spikeflow.plot.neuron import _refractory_spans, after_reset

DPI = 80  # low resolution keeps the tests fast; the CLI writes 160 dpi


def _png_ok(path, min_width: int = 500) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width >= min_width and height >= 250
    return width, height


def _lif(x: np.ndarray, beta: float, refractory: int) -> tuple[np.ndarray, np.ndarray]:
    """A tiny reference LIF (subtract reset) for driving the figures."""
    v = np.zeros(len(x))
    s = np.zeros(len(x))
    state, hold = 0.0, 0
    for t, x_t in enumerate(x):
        if hold:
            hold -= 1
            v[t] = state
            continue
        v[t] = beta * state + x_t
        s[t] = float(v[t] >= 1.0)
        state = v[t] - s[t]
        hold = refractory if s[t] else 0
    return v, s


def test_after_reset_follows_each_mode() -> None:
    v = np.array([0.5, 1.25, 0.8])
    s = np.array([0.0, 1.0, 0.0])
    thr = np.array([1.0, 1.0, 1.0])
    assert after_reset(v, s, thr, "subtract", 0.0).tolist() == [0.5, 0.25, 0.8]
    assert after_reset(v, s, thr, "zero", -0.2).tolist() == [0.5, -0.2, 0.8]
    assert after_reset(v, s, thr, "none", 0.0).tolist() == [0.5, 1.25, 0.8]
    with pytest.raises(UserError, match="reset='soft'"):
        after_reset(v, s, thr, "soft", 0.0)


def test_refractory_spans_merge_overlaps_and_clip_at_end() -> None:
    assert _refractory_spans(np.array([2, 4, 20]), 3, 22) == [(2, 7), (20, 21)]


def test_neuron_figure_draws_resets_spikes_and_refractory(tmp_path) -> None:
    x = np.where(np.arange(80) >= 5, 0.2, 0.0)
    v, s = _lif(x, 0.9, refractory=4)
    spikes = np.flatnonzero(s)
    assert len(spikes) >= 3
    fig = plot.neuron(torch.tensor(x), torch.tensor(v), torch.tensor(s), refractory=4)
    assert isinstance(fig, Figure)
    ax_v = fig.axes[1]
    membrane = next(line for line in ax_v.get_lines() if line.get_color() == PALETTE["membrane"])
    xs, ys = membrane.get_data()
    # the path visits the pre-reset value and then the post-reset value at each spike time
    for i in spikes:
        at = np.flatnonzero(xs == i)
        assert len(at) == 2
        assert ys[at[0]] == pytest.approx(v[i]) and ys[at[1]] == pytest.approx(v[i] - 1.0)
    assert len(xs) == len(v) + len(spikes)
    bands = [p for p in ax_v.patches if isinstance(p, Rectangle)]
    assert len(bands) == len(spikes)  # one shaded refractory band per spike
    assert bands[0].get_x() == pytest.approx(spikes[0])
    assert bands[0].get_width() == pytest.approx(4)
    assert np.allclose(fig.axes[2].collections[0].get_positions(), spikes)
    width, height = _png_ok(plot.save(fig, tmp_path / "neuron.png", dpi=DPI))
    assert width > height


def test_neuron_figure_adaptive_threshold_and_no_reset_drop() -> None:
    v = np.array([0.4, 0.8, 1.1, 0.3, 0.7])
    s = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    theta = np.array([1.0, 1.0, 1.0, 1.2, 1.19])
    fig = plot.neuron(np.ones(5), v, s, threshold=theta, reset="none")
    ax_v = fig.axes[1]
    membrane = next(line for line in ax_v.get_lines() if line.get_color() == PALETTE["membrane"])
    assert len(membrane.get_xdata()) == 5  # reset "none": no drop inserted
    stepped = [line for line in ax_v.get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(stepped) == 1 and np.allclose(stepped[0].get_ydata(), theta)


def test_membrane_trace_and_layer_rasters(tmp_path) -> None:
    v = torch.linspace(0, 1.2, 30)
    s = (v >= 1.0).float()
    _png_ok(plot.save(plot.membrane_trace(v, s, 1.0, reset="zero"), tmp_path / "m.png", dpi=DPI))
    rng = np.random.default_rng(0)
    layers = [rng.random((20, n)) < 0.1 for n in (64, 32, 10)]
    fig = plot.layer_rasters(layers, ["input", "hidden", "output"])
    assert len(fig.axes) == 3
    for ax, layer in zip(fig.axes, layers, strict=True):
        points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
        assert points == layer.sum()
    _png_ok(plot.save(fig, tmp_path / "layers.png", dpi=DPI))


def test_raster_draws_every_spike_in_its_group(tmp_path) -> None:
    rng = np.random.default_rng(1)
    spikes = rng.random((60, 12)) < 0.2
    fig = plot.raster(torch.tensor(spikes), groups=[("E", 8), ("I", 4)], stimulus=np.eye(3))
    collections = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in collections] == [spikes[:, :8].sum(), spikes[:, 8:].sum()]
    steps, ids = np.nonzero(spikes[:, :8])
    assert np.allclose(np.asarray(collections[0].get_offsets()), np.c_[steps, ids])
    _png_ok(plot.save(fig, tmp_path / "raster.png", dpi=DPI))
    # a long recording gets a smoothed population rate line instead of bars
    long_fig = plot.raster(rng.random((600, 5)) < 0.1, dt=0.1, time_unit="ms")
    assert long_fig.axes[1].get_ylabel() == "rate\n(Hz)"


def test_rate_histogram_counts_every_neuron(tmp_path) -> None:
    spikes = np.zeros((100, 6))
    spikes[::10, :3] = 1  # three neurons at 0.1 spikes/step = 100 Hz with dt = 1 ms
    fig = plot.rate_histogram(spikes, dt=1.0, time_unit="ms", bins=5)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert sum(heights) == 6
    assert fig.axes[0].get_xlabel() == "firing rate (Hz)"
    assert any("3 silent" in t.get_text() for t in fig.axes[0].texts)
    _png_ok(plot.save(fig, tmp_path / "hist.png", dpi=DPI), min_width=400)


def test_training_curves_accepts_both_layouts(tmp_path) -> None:
    by_key = {
        "train_loss": [1.0, 0.5, 0.4],
        "test_loss": [1.1, 0.7, 0.6],
        "train_accuracy": [0.5, 0.8, 0.9],
        "test_accuracy": [0.45, 0.75, 0.85],
    }
    by_epoch = {
        "epochs": [
            dict(zip(by_key, vals, strict=True)) for vals in zip(*by_key.values(), strict=True)
        ]
    }
    for metrics in (by_key, by_epoch):
        fig = plot.training_curves(metrics)
        loss_ax, acc_ax = fig.axes
        labels = [t.get_text() for t in acc_ax.get_legend().get_texts()]
        assert labels == ["train accuracy  (best 90.0%)", "test accuracy  (best 85.0%)"]
        acc_lines = [ln for ln in acc_ax.get_lines() if ln.get_label().startswith("test")]
        assert np.allclose(acc_lines[0].get_ydata(), [45.0, 75.0, 85.0])
        assert loss_ax.get_ylabel() == "loss"
    _png_ok(plot.save(fig, tmp_path / "curves.png", dpi=DPI))


def test_confusion_matrix_reports_accuracy(tmp_path) -> None:
    cm = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 10]])
    fig = plot.confusion_matrix(torch.tensor(cm), ["a", "b", "c"])
    ax = fig.axes[0]
    assert "accuracy 90.0%" in ax.get_title(loc="left")
    assert np.allclose(ax.images[0].get_array(), cm / cm.sum(1, keepdims=True))
    assert "2" in [t.get_text() for t in ax.texts]
    _png_ok(plot.save(fig, tmp_path / "cm.png", dpi=DPI), min_width=350)


def test_save_is_atomic_and_checks_suffix(tmp_path) -> None:
    fig = plot.membrane_trace(np.zeros(5), np.zeros(5))
    out = plot.save(fig, tmp_path / "deep" / "dir" / "trace.png")
    assert out.exists() and sorted(p.name for p in out.parent.iterdir()) == ["trace.png"]
    with pytest.raises(UserError, match=r"unsupported suffix; expected one of \.png"):
        plot.save(fig, tmp_path / "trace.jpg", dpi=DPI)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: plot.neuron(np.ones(5), np.ones(4), np.zeros(5)), "time axes differ"),
        (lambda: plot.neuron(np.ones(5), np.ones((5, 2)), np.zeros(5)), "expected 1 dims"),
        (lambda: plot.neuron(np.ones(3), np.ones(3), np.zeros(3), refractory=-1), "refractory=-1"),
        (lambda: plot.neuron(np.ones(3), np.ones(3), np.zeros(3), threshold=[1, 2]), "per step"),
        (lambda: plot.neuron(np.ones(3), np.ones(3), np.zeros(3), dt=0), "dt=0"),
        (lambda: plot.membrane_trace(np.array([]), np.array([])), "empty"),
        (lambda: plot.membrane_trace(["a"], [0]), "numeric"),
        (lambda: plot.raster(np.zeros(5)), "expected 2 dims"),
        (lambda: plot.raster(np.zeros((5, 4)), groups=[("a", 3)]), "cover 3 neurons"),
        (lambda: plot.rate_histogram(np.zeros((5, 4)), bins=0), "bins=0"),
        (lambda: plot.layer_rasters([np.zeros((5, 2))], ["a", "b"]), "names has 2"),
        (lambda: plot.layer_rasters([np.zeros((5, 2)), np.zeros((6, 2))]), "same T"),
        (lambda: plot.layer_rasters([]), "non-empty list"),
        (lambda: plot.confusion_matrix(np.zeros((2, 3))), "square"),
        (lambda: plot.confusion_matrix(np.eye(2), ["a"]), "labels has 1"),
        (lambda: plot.confusion_matrix(-np.eye(2)), "negative"),
        (lambda: plot.training_curves({"lr": [0.1]}), "no series named"),
        (lambda: plot.training_curves(3), "expected a dict"),
    ],
)
def test_plot_errors(call, match: str) -> None:
    with pytest.raises(UserError, match=match):
        call()
