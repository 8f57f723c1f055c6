"""Running sums of loss, accuracy, firing rates and confusion over the batches of one pass."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from spikeflow.train.parallel import SingleProcess


class Meter:
    """Sums over batches; :meth:`summary` turns them into means.

    ``rates`` are per spiking layer (spikes per neuron per step), averaged over samples. The sums
    are kept as Python floats and ints, so a meter saved mid-epoch and restored continues exactly.
    """

    def __init__(self, layer_names: list[str], num_classes: int) -> None:
        self.layer_names = list(layer_names)
        self.num_classes = num_classes
        self.loss_sum = 0.0
        self.correct = 0
        self.count = 0
        self.rate_sums = [0.0] * len(layer_names)
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(
        self, loss: Tensor, scores: Tensor, target: Tensor, rates: tuple[Tensor, ...]
    ) -> None:
        """Add one batch: mean ``loss``, ``scores`` ``[B, C]``, ``target`` ``[B]``, layer rates."""
        n = int(target.shape[0])
        pred = scores.argmax(1)
        self.loss_sum += float(loss) * n
        self.correct += int((pred == target).sum())
        self.count += n
        for i, r in enumerate(rates):
            self.rate_sums[i] += float(r) * n
        flat = (target * self.num_classes + pred).cpu()
        self.confusion += torch.bincount(flat, minlength=self.num_classes**2).view_as(
            self.confusion
        )

    def reduce(self, parallel: SingleProcess) -> None:
        """Sum the counts of every rank into this meter (call once, at the end of a pass)."""
        sums = torch.tensor(
            [self.loss_sum, self.correct, self.count, *self.rate_sums], dtype=torch.float64
        )
        sums = parallel.sum(sums)
        self.loss_sum, self.correct, self.count = float(sums[0]), int(sums[1]), int(sums[2])
        self.rate_sums = [float(s) for s in sums[3:]]
        self.confusion = parallel.sum(self.confusion)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.count, 1)

    def summary(self, prefix: str = "") -> dict[str, Any]:
        """``{prefix+"loss", prefix+"accuracy", prefix+"spike_rates": {layer: rate}}``."""
        n = max(self.count, 1)
        return {
            f"{prefix}loss": self.loss_sum / n,
            f"{prefix}accuracy": self.accuracy,
            f"{prefix}spike_rates": {
                name: s / n for name, s in zip(self.layer_names, self.rate_sums, strict=True)
            },
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "loss_sum": self.loss_sum,
            "correct": self.correct,
            "count": self.count,
            "rate_sums": list(self.rate_sums),
            "confusion": self.confusion.clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loss_sum = float(state["loss_sum"])
        self.correct = int(state["correct"])
        self.count = int(state["count"])
        self.rate_sums = [float(s) for s in state["rate_sums"]]
        self.confusion = state["confusion"].clone()
