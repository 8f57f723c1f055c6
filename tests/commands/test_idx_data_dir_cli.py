"""``spikeflow stdp`` and ``spikeflow plot raster`` on MNIST-layout IDX files in ``--data-dir``."""

import json
import re

import pytest

from spikeflow.cli import main
from tests.data.test_idx import write_set


def _mnist_like(directory, n_train=8, n_test=4):
    write_set(directory, n_train, n_test, shape=(28, 28))
    return directory


def test_stdp_learns_from_the_files_in_data_dir(tmp_path, capsys):
    data_dir, out = _mnist_like(tmp_path / "mnist"), tmp_path / "stdp"
    argv = ["stdp", "--dataset", "mnist", "--data-dir", str(data_dir), "--neurons", "4",
            "--epochs", "2", "--train-limit", "3", "--test-limit", "2", "--max-rate", "40",
            "--w-total", "60", "--seed", "5", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads((out / "result.json").read_text())
    assert (result["dataset"], result["epochs"], result["seed"]) == ("mnist", 2, 5)
    assert (result["max_rate_hz"], result["w_total"]) == (40.0, 60.0)
    assert (result["train_samples"], result["test_samples"], result["neurons"]) == (3, 2, 4)


def test_plot_raster_draws_a_sample_of_the_files_in_data_dir(tmp_path, capsys):
    data_dir = _mnist_like(tmp_path / "mnist")
    base = ["plot", "raster", "--dataset", "mnist", "--data-dir", str(data_dir), "--num-steps",
            "5", "--sample", "1", "--dpi", "20"]  # fmt: skip
    assert main([*base, "--seed", "3", "--out", str(tmp_path / "a.png")]) == 0
    assert main([*base, "--seed", "3", "--out", str(tmp_path / "b.png")]) == 0
    first, again = re.findall(r"(\d+) spikes from (\d+) inputs", capsys.readouterr().out)
    assert first == again and first[1] == "784"  # 28 x 28 pixels, not the 8 x 8 digits
    assert (
        main([*base, "--encoder", "delta", "--threshold", "2", "--out", str(tmp_path / "c.png")])
        == 0
    )
    assert "0 spikes from 1568 inputs" in capsys.readouterr().out  # no change reaches 2


def test_plot_raster_old_steps_flag_still_works_with_a_future_warning(tmp_path, capsys):

    with pytest.warns(FutureWarning, match="--num-steps"):
        assert (
            main(
                ["plot", "raster", "--steps", "7", "--dpi", "20", "--out", str(tmp_path / "r.png")]
            )
            == 0
        )
    assert "over 7 steps" in capsys.readouterr().out
