"""``spikeflow train / evaluate / info / demo`` from the command line: files, config precedence,
resume, and one-line errors for bad input."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spikeflow.cli import main
from spikeflow.train import checkpoint

TINY = [
    "--limit-train", "160", "--limit-test", "80", "--hidden", "16", "--num-steps", "4",
    "--epochs", "2", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--quiet",
]  # fmt: skip


def without_times(obj):
    """metrics.json minus the wall-clock fields, the only ones that differ between equal runs."""
    if isinstance(obj, dict):
        return {k: without_times(v) for k, v in obj.items() if not k.endswith("time_s")}
    if isinstance(obj, list):
        return [without_times(v) for v in obj]
    return obj


def test_train_writes_everything_and_is_repeatable(tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and str(tmp_path / "a") in out
    files = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"config.toml", "metrics.json", "checkpoint.pt", "training_curves.png", "raster.png",
            "membrane.png", "confusion_matrix.png"} <= files  # fmt: skip
    assert main(["train", *TINY, "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert without_times(a) == without_times(b)
    assert a["energy"]["layers"] and a["test"]["samples"] == 80


def test_config_file_and_flag_precedence(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        "[data]\nnum_steps = 3\nlimit_train = 64\n[model]\nhidden = [8]\n[train]\nepochs = 1\n"
    )
    assert main(["train", "--config", str(cfg), "--num-steps", "5", "--limit-test", "40",
                 "--quiet", "--out", str(tmp_path / "r")]) == 0  # fmt: skip
    saved = (tmp_path / "r" / "config.toml").read_text()
    assert (
        "num_steps = 5" in saved
        and "limit_train = 64" in saved
        and "hidden = [\n    8,\n]" in saved
    )
    # The written config repeats the run.
    assert main(["train", "--config", str(tmp_path / "r" / "config.toml"), "--quiet",
                 "--out", str(tmp_path / "r2")]) == 0  # fmt: skip
    m1 = json.loads((tmp_path / "r" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "r2" / "metrics.json").read_text())
    assert without_times(m1["test"]) == without_times(m2["test"])


def test_evaluate_and_info(tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 0
    trained = json.loads((tmp_path / "metrics.json").read_text())["test"]["accuracy"]
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "checkpoint.pt"), "--out", str(tmp_path / "ev")]) == 0
    evaluated = json.loads((tmp_path / "ev" / "metrics.json").read_text())["test"]["accuracy"]
    assert evaluated == trained
    assert "SOPs" in capsys.readouterr().out  # the energy table
    assert main(["info", str(tmp_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "mlp" and info["epochs_done"] == 2 and info["input_shape"] == [1, 8, 8]


def test_resume_refuses_another_model(tmp_path, capsys):
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path), "--model", "cnn"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trained with model='mlp', not 'cnn'" in err[0]


def test_resume_with_more_epochs_continues(tmp_path, capsys):
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert main(["train", "--resume", str(tmp_path), "--epochs", "2", "--quiet"]) == 0
    assert len(json.loads((tmp_path / "metrics.json").read_text())["epochs"]) == 2


def test_checkpoint_of_another_model_does_not_load(tmp_path, capsys):
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path)]) == 0
    payload = checkpoint.load(tmp_path)
    payload["config"]["hidden"] = [32]  # weights of a 16-wide model under a 32-wide config
    checkpoint.save(tmp_path / "other.pt", {k: v for k, v in payload.items() if k != "format"})
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "other.pt")]) == 2
    err = capsys.readouterr().err
    assert "does not fit this model" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["train", "--model", "vit"], "invalid choice: 'vit'"),
        (["train", "--num-steps", "0"], "num_steps=0 is not valid; expected a positive integer"),
        (["train", "--num-steps", "-3"], "num_steps=-3 is not valid"),
        (["train", "--beta", "2"], "beta=2.0 is out of range"),
        (
            ["train", "--dataset", "fashion_mnist", "--data-dir", "/nonexistent/fm"],
            "does not exist; install it with `apt-get install dataset-fashion-mnist`",
        ),
        (
            ["train", "--config", "/nonexistent.toml"],
            "config file '/nonexistent.toml' does not exist",
        ),
        (["evaluate", "/nonexistent/checkpoint.pt"], "does not exist"),
        (["info", "/nonexistent"], "does not exist"),
    ],
)
def test_bad_input_one_line(argv, message, capsys):
    if "invalid choice" in message:  # argparse's own refusal exits from inside main
        with pytest.raises(SystemExit) as exc:
            main(argv)
        code = exc.value.code
    else:
        code = main(argv)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_config_key_and_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nepoch = 3\n")
    assert main(["train", "--config", str(bad)]) == 2
    assert "config key(s) epoch are not valid" in capsys.readouterr().err
    broken = tmp_path / "checkpoint.pt"
    broken.write_bytes(b"not a checkpoint")
    assert main(["evaluate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "cannot be read: it is not a spikeflow training checkpoint" in err
    assert err.count("\n") == 1
    torch.save({"weights": torch.zeros(2)}, broken)
    assert main(["info", str(broken)]) == 2
    assert "not a spikeflow training checkpoint" in capsys.readouterr().err
    torch.save({"weights": argparse.Namespace(a=1)}, broken)  # an object pickle must not run
    assert main(["info", str(broken)]) == 2
    assert "holds objects other than tensors and plain data" in capsys.readouterr().err


#: runs `spikeflow train` with a SIGINT sent to itself after batch 5 of the second epoch (from the
#: trainer's on_batch_end callback), so the interruption lands at the same step on any machine
INTERRUPTED_TRAIN = """
import os, signal, sys
from spikeflow.cli import main
from spikeflow.train.trainer import Trainer

init = Trainer.__init__


def with_interrupt(self, *args, **kwargs):
    init(self, *args, **kwargs)

    def interrupt(trainer, epoch, batch):
        if (epoch, batch) == (1, 5):
            os.kill(os.getpid(), signal.SIGINT)

    self.on_batch_end = interrupt


Trainer.__init__ = with_interrupt
sys.exit(main(sys.argv[1:]))
"""


def test_sigint_saves_checkpoint_and_resume_matches_uninterrupted(tmp_path):
    """A real SIGINT to a running `spikeflow train` at a chosen step, then --resume: same final
    metrics as an uninterrupted run."""
    args = [
        "--limit-train", "600", "--limit-test", "80", "--hidden", "16", "--num-steps", "4",
        "--epochs", "3", "--batch-size", "16", "--threads", "1", "--device", "cpu", "--quiet",
        "--limit-train", "160", "--limit-test", "40", "--hidden", "16", "--epochs", "2",
        "--batch-size", "16", "--threads", "1", "--device", "cpu", "--quiet",
    ]  # fmt: skip
    assert main(["train", *args, "--out", str(tmp_path / "whole")]) == 0
    cmd = [sys.executable, "-c", INTERRUPTED_TRAIN, "train", *args, "--out", str(tmp_path / "cut")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr and "--resume" in proc.stderr
    payload = checkpoint.load(tmp_path / "cut")
    assert (payload["epoch"], payload["batch"]) == (1, 5)
    assert main(["train", "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    cut = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert without_times(cut["epochs"]) == without_times(whole["epochs"])
    assert cut["test"]["accuracy"] == whole["test"]["accuracy"]


def test_demo_parser_defaults():
    from spikeflow.cli import build_parser
    from spikeflow.commands.demo import DEMO

    args = build_parser().parse_args(["demo"])
    assert args.out == "runs/demo" and DEMO.dataset == "digits" and DEMO.model == "mlp"
    assert Path(args.out).parts[0] == "runs"


@pytest.mark.slow
def test_demo_reaches_97_percent(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.97


def test_renamed_timesteps_still_works_with_a_future_warning(tmp_path):
    """--timesteps, the TOML key timesteps and TrainConfig(timesteps=...) for one release."""
    from spikeflow.train.config import TrainConfig, from_toml

    with pytest.warns(FutureWarning, match="'num_steps'"):
        assert TrainConfig(timesteps=5).num_steps == 5
    toml = tmp_path / "old.toml"
    toml.write_text("[data]\ntimesteps = 3\n")
    with pytest.warns(FutureWarning, match="'num_steps'"):
        assert from_toml(toml).num_steps == 3
    args = [a if a != "--num-steps" else "--timesteps" for a in TINY]
    with pytest.warns(FutureWarning, match="'--num-steps'"):
        assert main(["train", *args, "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    assert "num_steps = 4" in (tmp_path / "r" / "config.toml").read_text()
