"""``spikeflow train --dataset <neuromorphic set> --data-dir D``: the recipes run end to end on
miniature files written in the datasets' formats (tiny models, a few steps: no accuracy claim)."""

from __future__ import annotations

import json

import numpy as np

from spikeflow.cli import main

from .formats import random_audio, write_audio, write_nmnist_folder

FAST = ["--epochs", "1", "--batch-size", "8", "--threads", "1", "--device", "cpu", "--quiet"]


def test_train_conv_snn_on_nmnist_files(tmp_path, capsys):
    write_nmnist_folder(tmp_path / "d", np.random.default_rng(0), per_class=2)
    args = ["train", "--dataset", "nmnist", "--data-dir", str(tmp_path / "d"), "--model", "cnn",
            "--channels", "4,8", "--hidden", "16", "--transform", "n_time_bins=3,downsample=2",
            "--val-fraction", "0.5", "--out", str(tmp_path / "run"), *FAST]  # fmt: skip
    assert main(args) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["samples"] == 20
    assert (
        'transform = "n_time_bins=3,downsample=2"' in (tmp_path / "run" / "config.toml").read_text()
    )
    assert "training cnn on nmnist (10 train, 10 val, 20 test)" in capsys.readouterr().out


def test_train_recurrent_snn_on_shd_files(tmp_path):
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        write_audio(tmp_path / f"shd_{split}.h5", random_audio(rng, 12))
    args = ["train", "--dataset", "shd", "--data-dir", str(tmp_path), "--model", "rsnn",
            "--hidden", "16", "--transform", "time_window=100000", "--val-fraction", "0",
            "--out", str(tmp_path / "run"), *FAST]  # fmt: skip
    assert main(args) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["samples"] == 12


def test_missing_files_are_one_line_errors(tmp_path, capsys):
    args = [
        "train",
        "--dataset",
        "dvs_gesture",
        "--data-dir",
        str(tmp_path),
        "--out",
        str(tmp_path / "r"),
        *FAST,
    ]
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "DvsGesture/trials_to_train.txt not found" in err and "research.ibm.com" in err
    assert main(["train", "--dataset", "digits", "--transform", "n_time_bins=2", *FAST]) != 0
    assert "option(s) transform are not valid for dataset 'digits'" in capsys.readouterr().err
