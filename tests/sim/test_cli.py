"""``spikeflow simulate`` and ``spikeflow stdp`` from the command line."""

import json

import pytest

from spikeflow.cli import main
from spikeflow.commands.simulate import parse_duration
from spikeflow.errors import UserError


def test_parse_duration():
    assert parse_duration("10s") == 10_000.0
    assert parse_duration("250ms") == 250.0
    assert parse_duration("1.5") == 1.5
    for bad in ("ten", "0s", "-3ms"):
        with pytest.raises(UserError, match="--duration"):
            parse_duration(bad)


def test_simulate_cuba_writes_json_and_raster(tmp_path, capsys):
    out = tmp_path / "cuba"
    assert (
        main(["simulate", "cuba", "--neurons", "500", "--duration", "200ms", "--out", str(out)])
        == 0
    )
    result = json.loads((out / "result.json").read_text())
    assert result["neurons"] == 500 and result["duration_ms"] == 200.0
    assert result["rate_hz"]["exc"] > 0 and result["spikes"] > 0
    assert (out / "raster.png").stat().st_size > 1000
    assert "mean rate" in capsys.readouterr().out


def test_simulate_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["simulate", "coba", "--neurons", "5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "neurons=5" in err and "Traceback" not in err
    assert main(["simulate", "cuba", "--dt", "0", "--out", str(tmp_path)]) == 2
    assert (
        main(["simulate", "cuba", "--duration", "0.25ms", "--dt", "0.1", "--out", str(tmp_path)])
        == 2
    )
    assert "whole number of steps" in capsys.readouterr().err


def test_stdp_small_run(tmp_path, capsys):
    """40 neurons, 300 training and 100 test digits: 80% when written (commit ab50e7c,
    ``spikeflow stdp --neurons 40 --train-limit 300 --test-limit 100``); chance is 10%."""
    out = tmp_path / "stdp"
    args = ["stdp", "--neurons", "40", "--train-limit", "300", "--test-limit", "100"]
    assert main([*args, "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert abs(result["test_accuracy"] - 0.80) <= 0.10 and result["train_samples"] == 300
    assert result["test_samples"] == 100 and sum(result["neurons_per_label"]) == 40
    assert (out / "weights.png").stat().st_size > 1000
    assert f"test accuracy {result['test_accuracy']:.2%}" in capsys.readouterr().out
    assert main(["stdp", "--neurons", "0", "--out", str(out)]) == 2


def test_simulate_microcircuit_writes_spikes_report_and_figure(tmp_path, capsys):
    out = tmp_path / "mc"
    args = ["simulate", "microcircuit", "--scale", "0.02", "--duration", "30ms"]
    assert main([*args, "--transient", "0", "--threads", "1", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["neurons"] == 1544 and result["bytes_per_synapse"] <= 10
    assert set(result["populations"]) == {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"}
    assert (out / "spikes.npy").stat().st_size > 128 and (
        out / "microcircuit.png"
    ).stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "L23E" in printed and "per biological s" in printed
    for bad in (["--scale", "0"], ["--threads", "0"], ["--device", "cuda"], ["--transient", "1s"]):
        assert main([*args, *bad, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
