"""DDP: two CPU processes (gloo) train in step and report whole-test-set metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from spikeflow.errors import UserError
from spikeflow.train.distributed import Distributed, from_env
from spikeflow.train.parallel import SingleProcess

WORKER = textwrap.dedent(
    """
    import json, sys
    import torch
    from spikeflow.commands.train import load_data
    from spikeflow.train.config import TrainConfig
    from spikeflow.train.distributed import from_env
    from spikeflow.train.trainer import Trainer

    out = sys.argv[1]
    parallel = from_env("gloo")
    cfg = TrainConfig(dataset="digits", model="mlp", hidden=(24,), timesteps=4, epochs=2,
                      batch_size=32, limit_train=150, limit_test=75, val_fraction=0.0, seed=3)
    bundle = load_data(cfg)
    trainer = Trainer(cfg, bundle, out, progress=False, parallel=parallel)
    trainer.fit()
    meter = trainer.evaluate(bundle.test)
    flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    torch.save(flat, f"{out}/weights{parallel.rank}.pt")
    with open(f"{out}/rank{parallel.rank}.json", "w") as f:
        json.dump({"count": meter.count, "correct": meter.correct, "world": parallel.world_size}, f)
    parallel.barrier()
    parallel.close()
    """
)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return env


@pytest.mark.slow  # two process start-ups: ~30 s on an idle 2-core machine
def test_two_gloo_processes_keep_identical_weights_and_count_the_whole_test_set(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_port=29533", str(script), str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, env=_clean_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1]  # metrics are reduced over both ranks
    assert ranks[0]["count"] == 75 and ranks[0]["world"] == 2  # each test sample counted once
    w0, w1 = (torch.load(tmp_path / f"weights{r}.pt") for r in (0, 1))
    assert torch.equal(w0, w1)
    assert (tmp_path / "checkpoint.pt").is_file()  # written by rank 0


class _FakeGroup(Distributed):
    """The sharding rule alone, without a process group."""

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank, self.world_size = rank, world_size


def test_shard_partitions_exactly_for_evaluation_and_evenly_for_training():
    idx = torch.arange(7)
    exact = [_FakeGroup(r, 3).shard(idx, even=False).tolist() for r in range(3)]
    assert exact == [[0, 3, 6], [1, 4], [2, 5]]
    even = [_FakeGroup(r, 3).shard(idx, even=True).tolist() for r in range(3)]
    assert even == [[0, 3, 6], [1, 4, 0], [2, 5, 1]]  # padded from the head: equal batch counts
    with torch.no_grad():
        assert _FakeGroup(1, 3).shard(idx).tolist() == [1, 4]
    assert _FakeGroup(1, 3).shard(idx).tolist() == [1, 4, 0]
    assert _FakeGroup(1, 2).shard(torch.arange(1), even=True).tolist() == [0]


def test_from_env_and_errors(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert isinstance(from_env(), SingleProcess)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(UserError, match="RANK=None"):
        from_env("gloo")
    with pytest.raises(UserError, match="backend='mpi'"):
        Distributed("mpi")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="needs CUDA"):
            Distributed("nccl")
