"""Stateless layers over spike trains: fold time into the batch, or share one dropout mask in time."""

from __future__ import annotations

from torch import Tensor, nn

from spikeflow.errors import check_range
from spikeflow.nn.neuron import check_input


class TimeDistributed(nn.Module):
    """Apply a stateless layer to every time step of ``[T, B, ...]`` at once.

    Time is folded into the batch (``[T * B, ...]``), the layer runs once, and the result is unfolded.
    Batch norm therefore normalises over time and batch together.

    Example::

        fc = sf.nn.TimeDistributed(nn.Linear(784, 100))
        y = fc(torch.rand(25, 32, 784))     # [25, 32, 100]
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Tensor) -> Tensor:
        check_input(x)
        t, b = x.shape[:2]
        y = self.layer(x.reshape(t * b, *x.shape[2:]))
        return y.reshape(t, b, *y.shape[1:])


class Dropout(nn.Module):
    """Dropout with one mask per sample shared by every time step (as in recurrent dropout).

    ``x`` is ``[T, B, ...]``; in training, each ``[B, ...]`` element is zeroed with probability ``p``
    for the whole sequence and the rest scaled by ``1 / (1 - p)``. Identity in eval mode.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        check_range("p", p, 0, 1, high_open=True)
        self.p = p

    @property
    def active(self) -> bool:
        """Whether this layer drops anything now (training mode and ``p > 0``)."""
        return self.training and self.p > 0

    def draw_mask(self, x: Tensor) -> Tensor:
        """A fresh keep-mask ``[1, B, ...]`` of zeros and ones for ``x`` ``[T, B, ...]``."""
        return x.new_empty((1, *x.shape[1:])).bernoulli_(1 - self.p)

    def forward(self, x: Tensor, keep: Tensor | None = None) -> Tensor:
        """Arguments:
            x: input ``[T, B, ...]``.
            keep: the mask to use (from :meth:`draw_mask`, e.g. to continue a sequence in
                pieces); ``None`` draws one.

        Returns:
            ``x`` with the dropped elements zeroed and the rest scaled by ``1 / (1 - p)``.
        """
        check_input(x)
        if not self.active:
            return x
        keep = self.draw_mask(x) if keep is None else keep
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
