"""``spikeflow convert`` on a CNN: the pooling, per-channel scales and backend options apply."""

from __future__ import annotations

import json

from spikeflow.cli import main

TINY_CNN = [
    "convert", "--model", "cnn", "--channels", "4,4", "--hidden", "8", "--epochs", "1",
    "--limit-train", "64", "--limit-test", "16", "--num-steps", "2", "--calibration", "16",
    "--energy-samples", "2", "--quiet",
]  # fmt: skip


def test_cnn_with_max_pooling_channel_wise_scales_on_the_reference_backend(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [*TINY_CNN, "--pool", "max", "--channel-wise", "--backend", "reference"]
    assert main([*argv, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    config = metrics["config"]
    assert (config["pool"], config["channel_wise"], config["backend"]) == ("max", True, "reference")
    layers = json.dumps(metrics["energy"]["2"])
    assert "SpikingMaxPool" in layers, layers
    assert 0 <= metrics["snn"]["test_accuracy"]["2"] <= 1
