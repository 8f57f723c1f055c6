"""DDP: the sharding rule, loss weighting and per-sample encodings (fast, in one process), and two
CPU processes (gloo) under torchrun through the real CLI (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from spikeflow import data
from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.train import checkpoint, distributed
from spikeflow.train.config import TrainConfig
from spikeflow.train.distributed import Distributed, from_env
from spikeflow.train.parallel import SingleProcess
from spikeflow.train.run import execute
from spikeflow.train.trainer import Trainer


class _FakeGroup(Distributed):
    """One rank of a group, without a process group: no DDP wrapper, sums stay local."""

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank, self.world_size = rank, world_size

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        return t


def test_shard_partitions_exactly():
    idx = torch.arange(10, 17)
    shares = [_FakeGroup(r, 3).shard(idx).tolist() for r in range(3)]
    assert shares == [[10, 13, 16], [11, 14], [12, 15]]
    assert _FakeGroup(1, 2).shard(torch.tensor([5])).tolist() == []  # fewer samples than ranks
    assert torch.equal(SingleProcess().shard(idx), idx)


CFG = TrainConfig(
    limit_train=40, limit_test=30, hidden=(16,), num_steps=4, batch_size=5, clip_grad=0.0,
    threads=1, device="cpu", val_fraction=0.0, seed=2,
)  # fmt: skip


@pytest.fixture(scope="module")
def bundle():
    return data.load(CFG.dataset, seed=CFG.seed, val_fraction=0.0, limit_train=40, limit_test=30)


def _step_gradient(parallel, bundle, batch, tmp_path):
    """The gradient one rank hands to DDP for the global ``batch``, and its meter's count."""
    trainer = Trainer(CFG, bundle, tmp_path, progress=False, parallel=parallel)
    seen = {}

    def capture(*args, **kwargs):
        seen["grad"] = torch.cat([p.grad.flatten() for p in trainer.model.parameters()])

    trainer.optimizer.step = capture
    trainer._train_batch(batch)
    return seen["grad"], trainer.meter.count


@pytest.mark.parametrize("batch", [[7, 2, 11, 30, 4], [13]])
def test_rank_gradients_average_to_the_whole_batch_gradient(bundle, tmp_path, batch):
    batch = torch.tensor(batch)
    whole, count = _step_gradient(SingleProcess(), bundle, batch, tmp_path)
    ranks = [_step_gradient(_FakeGroup(r, 2), bundle, batch, tmp_path) for r in (0, 1)]
    average = (ranks[0][0] + ranks[1][0]) / 2  # what DDP's all-reduce computes
    assert float(whole.abs().max()) > 0
    torch.testing.assert_close(average, whole, rtol=1e-5, atol=1e-7)
    # Each sample is counted once in the training metrics (a rank with no share counts none).
    assert ranks[0][1] + ranks[1][1] == count == len(batch)


def test_sharded_evaluation_sums_to_the_unsharded_one(bundle, tmp_path):
    whole = Trainer(CFG, bundle, tmp_path, progress=False).evaluate(bundle.test)
    parts = [
        Trainer(CFG, bundle, tmp_path, progress=False, parallel=_FakeGroup(r, 3)).evaluate(
            bundle.test
        )
        for r in range(3)
    ]
    assert [p.count for p in parts] == [10, 10, 10]
    assert sum(p.correct for p in parts) == whole.correct
    assert torch.equal(sum(p.confusion for p in parts), whole.confusion)
    assert sum(p.loss_sum for p in parts) == pytest.approx(whole.loss_sum, rel=1e-5)
    for i in range(len(whole.rate_sums)):
        assert sum(p.rate_sums[i] for p in parts) == pytest.approx(whole.rate_sums[i], rel=1e-5)


class _Mirrored(_FakeGroup):
    """As if every other rank held the same sums as this one."""

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        return t * self.world_size


def test_a_checkpoint_mid_epoch_holds_the_partial_metrics_of_all_ranks(bundle, tmp_path):
    def stop(trainer, epoch, batch):
        if batch == 3:
            trainer.request_stop()

    trainer = Trainer(
        CFG, bundle, tmp_path, progress=False, parallel=_Mirrored(0, 2), on_batch_end=stop
    )
    assert trainer.fit() == "interrupted"
    assert trainer.meter.count == 9  # rank 0's shares of three batches of 5: 3 each
    payload = checkpoint.load(tmp_path)
    assert (payload["epoch"], payload["batch"]) == (0, 3)
    assert payload["partial"]["count"] == 18
    # On resume the summed counts go to rank 0 only, so the next reduction counts them once.
    ranks = [
        Trainer(CFG, bundle, tmp_path, progress=False, parallel=_Mirrored(r, 2)) for r in (0, 1)
    ]
    for r in ranks:
        r.restore(payload, "test")
    assert [r.meter.count for r in ranks] == [18, 0]


def test_from_env_and_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert isinstance(from_env(), SingleProcess)
    with pytest.raises(UserError, match="dist_backend='mpi'"):
        execute(CFG, tmp_path, dist_backend="mpi")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(UserError, match="RANK=None"):
        from_env("gloo")
    with pytest.raises(UserError, match="backend='mpi'"):
        Distributed("mpi")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="needs CUDA"):
            Distributed("nccl")


# -- two processes through the real CLI ------------------------------------------------------------

#: Runs ``spikeflow.cli.main`` and, before the results are written, saves this rank's weights.
WORKER = textwrap.dedent(
    """
    import sys
    import torch
    import spikeflow.train.run as command
    from spikeflow.cli import main

    where, argv = sys.argv[1], sys.argv[2:]
    real_finish = command.finish

    def finish(trainer, *args):
        flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        torch.save(flat, f"{where}/weights{trainer.parallel.rank}.pt")
        return real_finish(trainer, *args)

    command.finish = finish
    raise SystemExit(main(argv))
    """
)

TINY = [
    "--limit-train", "150", "--limit-test", "75", "--hidden", "24", "--num-steps", "4",
    "--batch-size", "32", "--threads", "1", "--device", "cpu", "--quiet", "--seed", "3",
    "--schedule", "none",
]  # fmt: skip


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow  # three torchrun launches of two processes: ~90 s on a loaded 2-core machine
def test_two_gloo_processes_through_the_cli(tmp_path: Path, capsys):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    whole = tmp_path / "whole"
    done = _torchrun(
        str(script), str(tmp_path), "train", *TINY, "--epochs", "2", "--out", str(whole)
    )
    # Rank 0 alone prints; both ranks hold the same weights after training.
    assert done.stdout.count("test accuracy") == 1 and "x 2 processes" in done.stdout
    w0, w1 = (torch.load(tmp_path / f"weights{r}.pt") for r in (0, 1))
    assert torch.equal(w0, w1)
    files = {p.name for p in whole.iterdir()}
    assert {"config.toml", "metrics.json", "checkpoint.pt", "confusion_matrix.png"} <= files
    metrics = json.loads((whole / "metrics.json").read_text())
    assert (
        metrics["test"]["samples"] == 75
        and sum(map(sum, metrics["test"]["confusion_matrix"])) == 75
    )
    assert metrics["dataset"]["train"] == 133 and len(metrics["epochs"]) == 2
    # The reduced metrics are those of the whole test set: one process evaluating the same
    # checkpoint finds the same accuracy.
    assert main(["evaluate", str(whole), "--out", str(tmp_path / "ev"), "--device", "cpu"]) == 0
    single = json.loads((tmp_path / "ev" / "metrics.json").read_text())["test"]
    assert single["accuracy"] == metrics["test"]["accuracy"]
    # Same batches, same spikes, loss weighted by share: one process takes the same steps (no
    # dropout here; only the order of float sums differs).
    assert main(["train", *TINY, "--epochs", "2", "--out", str(tmp_path / "one")]) == 0
    alone = checkpoint.load(tmp_path / "one")
    for key, value in alone["model"].items():
        torch.testing.assert_close(value, checkpoint.load(whole)["model"][key], atol=1e-5, rtol=0)
    losses = [
        h["train_loss"]
        for h in json.loads((tmp_path / "one" / "metrics.json").read_text())["epochs"]
    ]
    assert losses == pytest.approx([h["train_loss"] for h in metrics["epochs"]], rel=1e-5)
    capsys.readouterr()

    # Stop after one epoch, resume on two processes: the same weights as the run without a stop.
    part = tmp_path / "part"
    _torchrun("-m", "spikeflow.cli", "train", *TINY, "--epochs", "1", "--out", str(part))
    _torchrun("-m", "spikeflow.cli", "train", "--resume", str(part), "--epochs", "2", "--quiet")
    resumed, reference = checkpoint.load(part), checkpoint.load(whole)
    assert resumed["epoch"] == 2
    for key, value in reference["model"].items():
        assert torch.equal(value, resumed["model"][key]), key


@pytest.mark.parametrize("timeout_s", [0, -1.0, float("nan"), float("inf")])
def test_collective_timeout_must_be_finite_and_positive(timeout_s, monkeypatch):

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match=r"^timeout_s="):
        Distributed("gloo", timeout_s)


def test_a_collective_timeout_is_a_one_line_error(monkeypatch):
    group = object.__new__(distributed.Distributed)
    group.rank, group.timeout_s, group.backend = 1, 5.0, "gloo"

    def stalled(*args, **kwargs):
        raise RuntimeError("[gloo] Timed out waiting 5000ms for recv operation to complete")

    monkeypatch.setattr(distributed.dist, "all_reduce", stalled)
    monkeypatch.setattr(distributed.dist, "barrier", stalled)
    with pytest.raises(UserError, match=r"^rank 1 waited more than timeout_s=5 s .* all_reduce"):
        group.sum(torch.ones(2))
    with pytest.raises(UserError, match="in barrier"):
        group.barrier()
