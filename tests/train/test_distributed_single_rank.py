"""A real gloo process group of one rank, in this process: device, shard, sum, barrier and close
run for real (the two-process runs are slow tests), and a collective's other errors propagate."""

import socket

import pytest
import torch
import torch.distributed as dist

from spikeflow.train import distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def group(monkeypatch):
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    g = distributed.Distributed("gloo", timeout_s=30.0)
    try:
        yield g
    finally:
        g.close()


def test_one_rank_group_runs_every_collective(group):
    assert dist.is_initialized() and (group.rank, group.world_size) == (0, 1)
    assert group.device == torch.device("cpu")
    assert group.shard(torch.arange(5)).tolist() == [0, 1, 2, 3, 4]
    summed = group.sum(torch.tensor([1.5, -2.0], dtype=torch.float64))
    assert summed.tolist() == [1.5, -2.0] and summed.dtype == torch.float64
    group.barrier()  # (wrap, DistributedDataParallel, takes seconds to build: slow tests)
    group.close()
    assert not dist.is_initialized()
    group.close()  # closing twice is harmless


def test_a_collective_error_other_than_a_timeout_propagates(group, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("connection reset by peer")

    monkeypatch.setattr(distributed.dist, "barrier", broken)
    with pytest.raises(RuntimeError, match="connection reset by peer"):
        group.barrier()
