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


def test_mlp_run_options_reach_the_config(tmp_path, capsys):
    argv = [
        "convert", "--dataset", "digits", "--data-dir", str(tmp_path), "--hidden", "8",
        "--epochs", "1", "--batch-size", "32", "--limit-train", "64", "--limit-test", "16",
        "--num-steps", "2", "--calibration", "16", "--energy-samples", "2", "--v-init", "0.5",
        "--device", "cpu", "--seed", "2", "--backend", "reference", "--quiet",
        "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((tmp_path / "run" / "metrics.json").read_text())["config"]
    expected = {"dataset": "digits", "batch_size": 32, "v_init": 0.5, "device": "cpu", "seed": 2}
    assert {k: config[k] for k in expected} == expected
