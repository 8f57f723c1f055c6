"""Data-parallel training with ``torch.distributed`` (DDP): gloo on CPU, nccl on GPU.

Run any training under ``torchrun``; :func:`from_env` returns a :class:`Distributed` process group
when ``WORLD_SIZE > 1`` (set by torchrun) and :class:`~spikeflow.train.parallel.SingleProcess`
otherwise, so the same code runs alone or on many processes::

    torchrun --standalone --nproc_per_node=2 -m spikeflow.cli train --dataset digits  # 1 machine
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 \\
             --rdzv_id=RUN -m spikeflow.cli train ... --out /shared/run      # on each machine

What each rank does: it builds the same model (DDP broadcasts rank 0's weights when wrapping), takes
every ``world_size``-th sample of each global batch of the shared, seeded epoch order (so
``batch_size`` is the global batch, and N processes take the steps one process takes), averages
gradients with the other ranks after each backward pass (so the weights stay identical), sums
metric counts over ranks (so reported metrics are those of the whole set), and only rank 0 writes
files.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from spikeflow.errors import UserError, check_choice, check_range
from spikeflow.train.parallel import SingleProcess

BACKENDS = ("auto", "gloo", "nccl")


DEFAULT_TIMEOUT_S = 600.0  # a collective waiting longer means a stalled rank, not a slow step


def _env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None or not value.isdigit():
        raise UserError(
            f"environment variable {name}={value!r} is not valid; expected an integer set by "
            "torchrun (run with: torchrun --nproc_per_node=N -m spikeflow.cli train ...)"
        )
    return int(value)


class Distributed(SingleProcess):
    """This process's place in a ``torch.distributed`` group, read from torchrun's environment.

    Arguments:
        backend: ``"gloo"`` (CPU), ``"nccl"`` (GPU) or ``"auto"`` (nccl when CUDA is available).
        timeout_s: the longest a rank waits for the others in one collective, in seconds.

    On CUDA each rank uses device ``LOCAL_RANK`` (set as the current device, so ``"cuda"`` means
    that GPU). The group is created on construction; call :meth:`close` at the end.
    """

    def __init__(self, backend: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        check_choice("backend", backend, BACKENDS)
        self.timeout_s = check_range("timeout_s", timeout_s, 0, low_open=True)
        if backend == "auto":
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl" and not torch.cuda.is_available():
            raise UserError("backend='nccl' needs CUDA GPUs; expected backend='gloo' on CPU")
        self.backend = backend
        self.rank, self.world_size = _env_int("RANK"), _env_int("WORLD_SIZE")
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available() and self.local_rank < torch.cuda.device_count():
            torch.cuda.set_device(self.local_rank)  # "cuda" now means this rank's GPU
        if not dist.is_initialized():
            dist.init_process_group(
                backend,
                rank=self.rank,
                world_size=self.world_size,
                timeout=datetime.timedelta(seconds=self.timeout_s),
            )

    @property
    def device(self) -> torch.device:
        """The device this rank computes on."""
        return (
            torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")
        )

    def shard(self, indices: Tensor) -> Tensor:
        """This rank's share of ``indices`` ``[N]``: every ``world_size``-th entry from ``rank``.

        The shares partition ``indices`` exactly (each sample on one rank, once), so they differ
        in length by at most one; when ``N < world_size`` some shares are empty. The trainer
        shards every global batch this way and weights each rank's loss by its share.
        """
        return indices[self.rank :: self.world_size]

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` (rank 0's weights and
        buffers are broadcast now; gradients are averaged over ranks in every backward pass)."""
        ids = [self.local_rank] if self.backend == "nccl" else None
        return DistributedDataParallel(model, device_ids=ids)

    def sum(self, t: Tensor) -> Tensor:
        """``t`` summed over all ranks (a new tensor on ``t``'s device)."""
        out = t.detach().clone().to(self.device)
        self._collective("all_reduce", lambda: dist.all_reduce(out, op=dist.ReduceOp.SUM))
        return out.to(t.device)

    def barrier(self) -> None:
        self._collective("barrier", dist.barrier)

    def _collective(self, what: str, run: Callable[[], object]) -> None:
        """Run a collective; a timeout (a rank stalled or died) becomes a one-line UserError."""
        try:
            run()
        except RuntimeError as err:
            if "timed out" not in str(err).lower() and "timeout" not in str(err).lower():
                raise
            raise UserError(
                f"rank {self.rank} waited more than timeout_s={self.timeout_s:g} s for the other "
                f"ranks in {what}: a rank stalled or died; expected every rank to reach it (raise "
                "timeout_s if steps are that slow)"
            ) from err

    def close(self) -> None:
        """Leave the process group."""
        if dist.is_initialized():
            dist.destroy_process_group()


def from_env(backend: str = "auto", timeout_s: float = DEFAULT_TIMEOUT_S) -> SingleProcess:
    """:class:`Distributed` under torchrun with ``WORLD_SIZE > 1``, else :class:`SingleProcess`.

    ``timeout_s`` bounds how long a rank waits for the others in one collective (seconds); it
    is checked (finite, > 0) in one process too, so a bad value is refused before a long run."""
    check_range("timeout_s", timeout_s, 0, low_open=True)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return Distributed(backend, timeout_s)
    return SingleProcess()
