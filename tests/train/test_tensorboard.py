"""TensorBoard logging, checked by reading the event files back: tags, steps, values equal to
metrics.json, decodable images; resume without repeated steps; rank 0 alone writes; a missing
package is a UserError naming the extra."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from spikeflow import data
from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.train import checkpoint
from spikeflow.train.config import TrainConfig
from spikeflow.train.distributed import Distributed
from spikeflow.train.tensorboard import TensorBoardLogger, from_config
from spikeflow.train.trainer import Trainer

ARGS = [
    "--limit-train", "120", "--limit-test", "30", "--hidden", "12", "--num-steps", "4",
    "--batch-size", "40", "--threads", "1", "--device", "cpu", "--quiet", "--seed", "1",
]  # fmt: skip


def events(log_dir):
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def f32(values):
    return [float(np.float32(v)) for v in values]


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def check_image(event):
    from PIL import Image

    img = Image.open(io.BytesIO(event.encoded_image_string))
    img.load()
    assert img.size == (event.width, event.height) and min(img.size) > 50
    pixels = np.asarray(img.convert("L"))
    assert pixels.std() > 1  # a figure, not a blank canvas


def test_cli_logs_the_metrics_of_metrics_json(tmp_path):
    out = tmp_path / "run"
    args = [*ARGS, "--epochs", "3", "--val-fraction", "0.25", "--tensorboard-every", "2"]
    assert main(["train", *args, "--out", str(out), "--tensorboard"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    acc = events(out / "tensorboard")
    layers = metrics["model"]["spiking_layers"]
    epochs = metrics["epochs"]
    assert len(epochs) == 3
    for split in ("train", "val"):
        for what in ("loss", "accuracy"):
            assert scalars(acc, f"{split}/{what}") == list(
                zip([1, 2, 3], f32(e[f"{split}_{what}"] for e in epochs), strict=True)
            )
        for layer in layers:
            expected = f32(e[f"{split}_spike_rates"][layer] for e in epochs)
            assert [v for _, v in scalars(acc, f"spike_rate/{split}/{layer}")] == expected
    assert [v for _, v in scalars(acc, "lr")] == f32(e["lr"] for e in epochs)
    # test metrics and images every 2 epochs and after the last: steps 2 and 3
    assert [s for s, _ in scalars(acc, "test/accuracy")] == [2, 3]
    assert [s for s, _ in scalars(acc, f"spike_rate/test/{layers[0]}")] == [2, 3]
    for tag in ("images/raster", "images/membrane"):
        images = acc.Images(tag)
        assert [e.step for e in images] == [2, 3]
        for e in images:
            check_image(e)


def test_last_test_metrics_equal_metrics_json_without_validation(tmp_path):
    out = tmp_path / "run"
    args = [*ARGS, "--epochs", "2", "--val-fraction", "0"]
    assert main(["train", *args, "--out", str(out), "--tensorboard", str(tmp_path / "tb")]) == 0
    assert not (out / "tensorboard").exists()
    test = json.loads((out / "metrics.json").read_text())["test"]
    acc = events(tmp_path / "tb")
    assert "val/loss" not in acc.Tags()["scalars"]
    assert scalars(acc, "test/accuracy")[-1] == (2, f32([test["accuracy"]])[0])
    assert scalars(acc, "test/loss")[-1] == (2, f32([test["loss"]])[0])
    for layer, rate in test["spike_rates"].items():
        assert scalars(acc, f"spike_rate/test/{layer}")[-1] == (2, f32([rate])[0])


CFG = TrainConfig(
    limit_train=80, limit_test=20, hidden=(10,), num_steps=4, epochs=3, batch_size=40,
    threads=1, device="cpu", val_fraction=0.0, seed=5,
)  # fmt: skip


@pytest.fixture(scope="module")
def bundle():
    return data.load(CFG.dataset, seed=CFG.seed, val_fraction=0.0, limit_train=80, limit_test=20)


def test_a_resumed_run_logs_each_epoch_once(bundle, tmp_path):
    """Epoch 2 is logged, then the run is resumed from the checkpoint of epoch 1 (as when a run is
    killed after logging an epoch but before its checkpoint): epoch 2 appears once, from the
    resumed run, and the steps run 1, 2, 3."""
    tb = tmp_path / "tb"
    saved = {}

    def keep_epoch_one(trainer, epoch, batch):
        if (epoch, batch) == (1, 1):
            saved["payload"] = checkpoint.load(tmp_path / "run")

    first = Trainer(
        CFG, bundle, tmp_path / "run", progress=False,
        callbacks=[TensorBoardLogger(tb)], on_batch_end=keep_epoch_one,
    )  # fmt: skip
    first.fit()
    assert saved["payload"]["epoch"] == 1
    first_losses = [v for _, v in scalars(events(tb), "train/loss")]

    resumed = Trainer(
        CFG, bundle, tmp_path / "run", progress=False, callbacks=[TensorBoardLogger(tb)]
    )
    resumed.restore(saved["payload"], "test")
    assert resumed.fit() == "finished"
    acc = events(tb)
    assert [s for s, _ in scalars(acc, "train/loss")] == [1, 2, 3]
    assert [v for _, v in scalars(acc, "train/loss")] == f32(
        h["train_loss"] for h in resumed.history
    )
    assert [v for _, v in scalars(acc, "train/loss")] == first_losses  # training is deterministic
    assert [e.step for e in acc.Images("images/raster")] == [1, 2, 3]


class _Rank(Distributed):
    """One rank of a group of two without a process group (sums stay local)."""

    def __init__(self, rank: int) -> None:
        self.rank, self.world_size = rank, 2

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        return t


def test_only_rank_zero_writes(bundle, tmp_path):
    calls = {}
    for rank in (0, 1):
        logger = TensorBoardLogger(tmp_path / f"tb{rank}")
        trainer = Trainer(
            CFG, bundle, tmp_path / f"run{rank}", progress=False, parallel=_Rank(rank),
            callbacks=[logger],
        )  # fmt: skip
        evaluate = trainer.evaluate
        calls[rank] = 0

        def counted(dataset, evaluate=evaluate, rank=rank):
            calls[rank] += 1
            return evaluate(dataset)

        trainer.evaluate = counted
        trainer.fit()
    assert any((tmp_path / "tb0").glob("events.out.tfevents.*"))
    assert not (tmp_path / "tb1").exists()
    assert calls == {0: 3, 1: 3}  # both ranks take part in each (collective) test evaluation


def test_from_config(tmp_path):
    assert from_config(CFG, tmp_path) == []
    cfg = TrainConfig(tensorboard=True, tensorboard_every=4)
    (logger,) = from_config(cfg, tmp_path)
    assert logger.log_dir == tmp_path / "tensorboard" and logger.every == 4
    cfg = TrainConfig(tensorboard=True, tensorboard_dir=str(tmp_path / "x"))
    assert from_config(cfg, tmp_path)[0].log_dir == tmp_path / "x"


def test_bad_every_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="tensorboard_every=0"):
        TrainConfig(tensorboard_every=0)
    assert main(["train", "--tensorboard-every", "0", "--out", str(tmp_path)]) == 2


def test_missing_tensorboard_is_a_user_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(UserError, match=r"'tensorboard'.*spikeflow\[tensorboard\]"):
        TensorBoardLogger(tmp_path)
    assert main(["train", *ARGS, "--epochs", "1", "--out", str(tmp_path), "--tensorboard"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "spikeflow[tensorboard]" in err


def test_a_resumed_run_may_switch_logging_on(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *ARGS, "--epochs", "1", "--val-fraction", "0", "--out", str(out)]) == 0
    assert not (out / "tensorboard").exists()
    argv = ["train", "--resume", str(out), "--epochs", "2", "--quiet", "--tensorboard"]
    assert main(argv) == 0
    epochs = json.loads((out / "metrics.json").read_text())["epochs"]
    acc = events(out / "tensorboard")
    assert scalars(acc, "train/loss") == [(2, f32([epochs[1]["train_loss"]])[0])]


@pytest.mark.slow  # two processes under torchrun: ~1 min on a loaded 2-core machine
def test_two_ddp_processes_write_one_log(tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["-m", "spikeflow.cli", "train", *ARGS, "--epochs", "2", "--val-fraction", "0"]
    cmd += ["--out", str(out), "--tensorboard"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 1
    metrics = json.loads((out / "metrics.json").read_text())
    acc = events(out / "tensorboard")
    expected = f32(e["train_accuracy"] for e in metrics["epochs"])
    assert scalars(acc, "train/accuracy") == list(zip([1, 2], expected, strict=True))
    # the test split, evaluated by both ranks together, as in metrics.json (no validation split)
    assert scalars(acc, "test/accuracy")[-1] == (2, f32([metrics["test"]["accuracy"]])[0])
    assert [s for s, _ in scalars(acc, "test/accuracy")] == [1, 2]
    assert [e.step for e in acc.Images("images/raster")] == [1, 2]
