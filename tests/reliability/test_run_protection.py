"""``spikeflow train`` and its run directory: a used ``--out`` refused before the data load,
``--overwrite`` replaces the earlier run's files, a second writer refused, and signals during the
final evaluation or a second Ctrl-C end with one line, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import spikeflow.train.run as run_module
from spikeflow.cli import main
from spikeflow.train import checkpoint
from spikeflow.train.rundir import claim

TINY = [
    "--limit-train", "64", "--limit-test", "32", "--hidden", "8", "--num-steps", "3",
    "--epochs", "1", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--quiet",
]  # fmt: skip
NO_DATA = ["--dataset", "shd", "--data-dir", "/nonexistent/spikeflow-shd"]


def test_used_out_is_refused_before_the_data_are_loaded(tmp_path, capsys):
    (tmp_path / "checkpoint.pt").write_bytes(b"earlier run")
    # The data directory does not exist either: the run-directory error must come first.
    assert main(["train", *TINY, *NO_DATA, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run (checkpoint.pt)" in err and "--overwrite" in err
    assert "Traceback" not in err
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"earlier run"


def test_unusable_out_is_refused_before_the_data_are_loaded(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["train", *TINY, *NO_DATA, "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_overwrite_keeps_the_old_run_until_the_new_data_load(tmp_path, capsys):
    for name in ("checkpoint.pt", "metrics.json", "raster.png", "config.toml"):
        (tmp_path / name).write_bytes(b"earlier run")
    assert main(["train", *TINY, *NO_DATA, "--out", str(tmp_path), "--overwrite"]) == 2
    assert (tmp_path / "checkpoint.pt").read_bytes() == b"earlier run"  # data failed: kept
    capsys.readouterr()
    assert main(["train", *TINY, "--out", str(tmp_path), "--overwrite"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["test"]["samples"] == 32
    assert checkpoint.load(str(tmp_path))["config"]["hidden"] == [8]
    (tmp_path / "notes.txt").write_text("mine")  # not a spikeflow file: never deleted
    assert main(["train", *TINY, "--out", str(tmp_path), "--overwrite"]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_second_writer_is_refused(tmp_path, capsys):
    with claim(tmp_path, resume=False, overwrite=False):
        assert main(["train", *TINY, "--out", str(tmp_path)]) == 2
    assert "in use by another running spikeflow process" in capsys.readouterr().err


def test_the_demo_replaces_its_own_earlier_output(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(
        "spikeflow.commands.demo.execute", lambda cfg, out, **kw: seen.append(kw) or 0
    )
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    assert seen == [{"progress": False, "overwrite": True}]


def test_sigterm_during_the_final_evaluation_says_what_was_kept(tmp_path, monkeypatch, capsys):
    def killed_finish(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("SIGTERM did not interrupt the final evaluation")

    monkeypatch.setattr(run_module, "finish", killed_finish)
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "interrupted during the final evaluation" in err and "spikeflow evaluate" in err
    assert checkpoint.load(str(tmp_path))["epoch"] >= 0  # the trained weights are saved
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_second_ctrl_c_stops_at_once_without_a_traceback(tmp_path):
    args = [a for a in TINY if a != "--quiet"]
    args[args.index("--epochs") + 1] = "500"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikeflow.cli", "train", *args, "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("training"), line
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "Exception ignored" not in err
    # Either the second signal arrived while the first stop was under way (one line, exit at
    # once) or after the checkpoint was written (the normal "interrupted at epoch" line).
    assert "interrupted again" in err or "continue with: spikeflow train --resume" in err


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5"])
def test_ddp_timeout_is_checked_in_one_process_too(tmp_path, capsys, value):
    assert main(["train", *TINY, "--out", str(tmp_path), "--ddp-timeout", value]) == 2
    assert "timeout_s" in capsys.readouterr().err
    assert not (tmp_path / "checkpoint.pt").exists()


def test_info_refuses_weights_that_do_not_fit_the_model(tmp_path, capsys):
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 0
    payload = checkpoint.load(tmp_path)
    assert main(["info", str(tmp_path)]) == 0
    payload["model"] = {k: v.reshape(-1)[:1] for k, v in payload["model"].items()}
    checkpoint.save(tmp_path / "bad.pt", payload)
    capsys.readouterr()
    assert main(["info", str(tmp_path / "bad.pt")]) == 2
    assert "does not fit this model" in capsys.readouterr().err


def test_resume_or_info_of_a_checkpoint_without_its_keys_names_them(tmp_path, capsys):
    checkpoint.save(tmp_path / "hand.pt", {"config": {}, "model": {}})
    for argv in (
        ["info", str(tmp_path / "hand.pt")],
        ["train", "--resume", str(tmp_path / "hand.pt")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "lacks the keys" in err and "optimizer" in err and "Traceback" not in err
