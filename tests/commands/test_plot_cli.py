"""``spikeflow plot``: the figures are written, the neuron is the real one, errors exit with 2."""

from __future__ import annotations

import math
import re

import pytest
import torch
from PIL import Image

from spikeflow import data
from spikeflow.cli import main
from spikeflow.encode import sensor_motion
from spikeflow.models import NEURON_KINDS

LOW_DPI = ["--dpi", "60"]  # fast to render; the default 160 dpi is checked once


def _check_png(path, dpi: int = 60) -> None:
    assert path.exists()
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert image.format == "PNG"
    # figures are 7.6-9 inches wide and 5-5.6 inches high
    assert 7 * dpi <= width <= 9.5 * dpi and 4.5 * dpi <= height <= 6 * dpi


@pytest.mark.parametrize("model", NEURON_KINDS.available())
def test_plot_neuron_every_model(model: str, tmp_path, capsys) -> None:
    out = tmp_path / f"{model}.png"
    args = ["plot", "neuron", "--model", model, "--num-steps", "120", "--out", str(out), *LOW_DPI]
    assert main(args) == 0
    _check_png(out)
    spikes = int(re.search(r"(\d+) spikes", capsys.readouterr().out).group(1))
    assert spikes > 0  # the default current drives every model above its threshold


def test_plot_neuron_lif_fires_at_the_analytic_rate(tmp_path, capsys) -> None:
    # tau = 20 ms, I = 1.5 x threshold: the free membrane reaches threshold after
    # tau * ln(I / (I - 1)) = 21.97 ms, so 22 steps, plus 5 refractory steps: a spike every 27
    # steps from the onset at step 20 -> spikes at 41, 68, 95, 122, 149, 176 (6 in 200 steps).
    period = math.ceil(20 * math.log(1.5 / 0.5)) + 5
    expected = len(range(20 + period - 6, 200, period))
    out = tmp_path / "lif.png"
    assert main(["plot", "neuron", "--current", "1.5", "--out", str(out)]) == 0
    assert f"{expected} spikes in 200 ms" in capsys.readouterr().out
    _check_png(out, dpi=160)


def test_plot_neuron_subthreshold_current_is_silent(tmp_path, capsys) -> None:
    args = [
        "plot",
        "neuron",
        "--current",
        "0.9",
        "--num-steps",
        "100",
        "--out",
        str(tmp_path / "a.png"),
    ]
    assert main(args) == 0
    assert "0 spikes" in capsys.readouterr().out


@pytest.mark.parametrize("encoder", ["rate", "latency", "delta"])
def test_plot_raster_every_encoder(encoder: str, tmp_path, capsys) -> None:
    out = tmp_path / f"{encoder}.png"
    args = [
        "plot",
        "raster",
        "--encoder",
        encoder,
        "--num-steps",
        "30",
        "--out",
        str(out),
        *LOW_DPI,
    ]
    assert main(args) == 0
    _check_png(out)
    inputs = 128 if encoder == "delta" else 64
    assert f"from {inputs} inputs over 30 steps" in capsys.readouterr().out


def test_latency_raster_has_one_spike_per_lit_pixel(tmp_path, capsys) -> None:
    x, label = data.sample("digits", 0)
    image = x[0]
    assert label == 0 and image.shape == (8, 8) and float(image.max()) <= 1.0
    lit = int((image >= 0.01).sum())
    main(["plot", "raster", "--encoder", "latency", "--out", str(tmp_path / "l.png"), *LOW_DPI])
    assert f"{lit} spikes from 64 inputs" in capsys.readouterr().out


def test_sensor_motion_starts_and_ends_on_the_image() -> None:
    image = data.sample("digits", 3)[0][0]
    frames = sensor_motion(image, 31)
    assert frames.shape == (31, 64)
    assert torch.allclose(frames[0], image.flatten(), atol=1e-6)
    assert torch.allclose(frames[-1], image.flatten(), atol=1e-6)
    assert not torch.allclose(frames[10], image.flatten())


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["neuron", "--model", "izhikevich", "--refractory", "3"], "--refractory does not apply"),
        (["neuron", "--model", "lif", "--preset", "chattering"], "--preset does not apply"),
        (["neuron", "--beta", "0.9", "--tau", "10"], "not both"),
        (["neuron", "--beta", "1.5"], "beta=1.5 is out of range"),
        (["neuron", "--tau", "-2"], "tau=-2"),
        (["neuron", "--num-steps", "0"], "--num-steps=0"),
        (["neuron", "--onset", "500"], "--onset=500"),
        (["neuron", "--dt", "0"], "--dt=0"),
        (["neuron", "--out", "neuron.jpg"], "unsupported suffix"),
        (["raster", "--sample", "5000"], "index=5000 is out of range"),
        (["raster", "--num-steps", "-1"], "--num-steps=-1"),
        (["raster", "--encoder", "delta", "--threshold", "0"], "threshold=0"),
        (["raster", "--dpi", "0"], "--dpi=0"),
    ],
)
def test_plot_errors_exit_2_with_one_line(args: list[str], match: str, tmp_path, capsys) -> None:
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "x.png")]
    assert main(["plot", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("spikeflow plot: error:") and len(err.splitlines()) == 1
    assert match in err


def test_old_steps_flag_still_works_with_a_future_warning(tmp_path, capsys) -> None:
    with pytest.warns(FutureWarning, match="'--num-steps'"):
        assert main(["plot", "neuron", "--steps", "40", "--out", str(tmp_path / "a.png"),
                     *LOW_DPI]) == 0  # fmt: skip
    assert "in 40 ms" in capsys.readouterr().out


def test_raster_refuses_a_temporal_dataset(tmp_path, capsys) -> None:
    out = str(tmp_path / "r.png")
    assert main(["plot", "raster", "--dataset", "event_digits", "--out", out, *LOW_DPI]) == 2
    assert "expected one-channel images [1, H, W]" in capsys.readouterr().err
