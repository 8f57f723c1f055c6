"""A training run killed with SIGKILL at any point (a batch, a checkpoint half written, a
validation or the final evaluation, the metrics file, the plots, or a random moment) recovers to
the weights and metrics of the run that was never killed.

Recovery is what the error messages tell a user: ``--resume DIR`` when the directory holds a
checkpoint, else the same command again with ``--overwrite`` (the kill came before the first
checkpoint). Checkpoints are written after every epoch, atomically; an epoch cut short is replayed
from its start with the same seeds, so the result is bit for bit the same (one thread).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from spikeflow.train import checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")]

RUN = [
    "train", "--limit-train", "120", "--limit-test", "40", "--val-fraction", "0.2",
    "--hidden", "12", "--num-steps", "4", "--epochs", "3", "--batch-size", "16",
    "--threads", "1", "--device", "cpu", "--quiet",
]  # fmt: skip

DRIVER = r"""
import io, os, signal, sys

from spikeflow.cli import main

kind, k, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
calls = [0]


def due():
    calls[0] += 1
    return calls[0] == k


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def counted(owner, name):
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        if due():
            die()
        return real(*args, **kwargs)

    setattr(owner, name, wrapper)


if kind == "batch":
    from spikeflow.train.trainer import Trainer
    counted(Trainer, "_train_batch")
elif kind == "evaluate":
    from spikeflow.train.trainer import Trainer
    counted(Trainer, "evaluate")
elif kind == "metrics":
    import spikeflow.train.report as report
    counted(report, "write_json")
elif kind == "plots":
    import spikeflow.plot as plot
    counted(plot, "save")
elif kind == "checkpoint":
    import spikeflow.train.checkpoint as ckpt
    real_write = ckpt.write_atomic

    def half_written(path, write):
        if not due():
            return real_write(path, write)

        def half(handle):
            buf = io.BytesIO()
            write(buf)
            data = buf.getvalue()
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
            die()

        return real_write(path, half)

    ckpt.write_atomic = half_written
sys.exit(main(argv))
"""

#: (kind, k): kill at the k-th call. 3 epochs x 6 batches; 3 validations and the test
#: evaluation; 3 epoch checkpoints; 1 metrics file; 4 plots.
POINTS = [
    *[("batch", k) for k in (1, 3, 6, 7, 12, 13, 18)],
    *[("checkpoint", k) for k in (1, 2, 3)],
    *[("evaluate", k) for k in (1, 2, 3, 4)],
    ("metrics", 1),
    ("plots", 1),
    ("plots", 4),
]
RANDOM_KILLS = 5


def _final(out: Path) -> tuple[dict[str, torch.Tensor], dict]:
    metrics = json.loads((out / "metrics.json").read_text())
    return checkpoint.load(out)["model"], metrics["test"]


def _recover(out: Path) -> None:
    """What a user does after the kill, following the messages."""
    if (out / checkpoint.FILENAME).exists():
        argv = ["train", "--resume", str(out), "--quiet"]
    else:
        argv = [*RUN, "--out", str(out), "--overwrite"]
    done = subprocess.run(
        [sys.executable, "-m", "spikeflow.cli", *argv], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    subprocess.run(
        [sys.executable, "-m", "spikeflow.cli", *RUN, "--out", str(out)], check=True, timeout=600
    )
    return _final(out)


def _assert_same(out: Path, reference) -> None:
    weights, test = _final(out)
    ref_weights, ref_test = reference
    assert weights.keys() == ref_weights.keys()
    for key, value in ref_weights.items():
        assert torch.equal(weights[key], value), key
    assert test["accuracy"] == ref_test["accuracy"] and test["loss"] == ref_test["loss"]


@pytest.mark.parametrize(("kind", "k"), POINTS, ids=[f"{k}-{n}" for k, n in POINTS])
def test_killed_at_a_chosen_point_recovers_the_same_run(kind, k, tmp_path, reference):
    out = tmp_path / "run"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    killed = subprocess.run(
        [sys.executable, str(driver), kind, str(k), *RUN, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, (kind, k, killed.returncode, killed.stderr[-500:])
    _recover(out)
    _assert_same(out, reference)


@pytest.mark.parametrize("seed", range(RANDOM_KILLS))
def test_killed_at_a_random_moment_recovers_the_same_run(seed, tmp_path, reference):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikeflow.cli", *RUN, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(random.Random(seed).uniform(2.0, 12.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    if proc.returncode == 0:  # finished before the kill: nothing to recover
        _assert_same(out, reference)
        return
    _recover(out)
    _assert_same(out, reference)
