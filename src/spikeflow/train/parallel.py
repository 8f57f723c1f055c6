"""The seam for data-parallel training: what the trainer asks of the process group.

:class:`SingleProcess` is the default. A distributed implementation (``train/distributed.py``)
provides the same methods: shard indices by rank, wrap the model, sum tensors across ranks, say
which rank writes files, and leave the group.
"""

from __future__ import annotations

from torch import Tensor, nn


class SingleProcess:
    """One process: rank 0 of 1; every method is the identity."""

    rank = 0
    world_size = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints, metrics and plots."""
        return self.rank == 0

    def shard(self, indices: Tensor) -> Tensor:
        """This rank's share of ``indices`` ``[N]`` (a batch or a whole evaluation set); the
        shares of all ranks partition ``indices`` exactly."""
        return indices

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to call in training (e.g. a DistributedDataParallel wrapper)."""
        return model

    def sum(self, t: Tensor) -> Tensor:
        """``t`` summed over all ranks (metric counts and sums)."""
        return t

    def barrier(self) -> None:
        """Wait for every rank."""

    def close(self) -> None:
        """Leave the process group (call once, at the end of the run)."""
