"""Quantisation clip-floor-shift (QCFS) activation: a ReLU stand-in whose clip becomes a threshold.

Bu et al. (ICLR 2022) train the ANN with ``h(x) = lam / L * clip(floor(x * L / lam + 1/2), 0, L)``:
``L`` quantisation levels and a learnable clip ``lam``. An integrate-and-fire neuron with threshold
``lam``, reset by subtraction and a membrane starting at ``lam / 2`` emits, for a constant input
``x`` over ``T = L`` steps, exactly ``clip(floor(x * T / lam + 1/2), 0, T)`` spikes, so the ANN
activation and the SNN rate agree at ``T = L`` and the expected conversion error is zero for any
``T``: few time steps suffice.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from spikeflow.errors import check_positive_int, check_range


class QCFS(nn.Module):
    """Clip-floor-shift activation with ``levels`` steps and a learnable clip ``threshold``.

    ``forward(x) = threshold / L * clamp(floor(x * L / threshold + shift), 0, L)``, any shape.
    The floor passes its gradient straight through (identity), so ``x`` gets gradient 1 inside
    ``[0, threshold]`` and 0 outside, and ``threshold`` learns from the clipping and the rounding.

    Arguments:
        levels: ``L``, the number of quantisation steps (a positive int; 4 to 16 is typical).
        threshold: initial clip ``lam`` (> 0), in the units of the activation.
        shift: the shift ``phi`` added before the floor; 0.5 (the default) makes the expected
            conversion error zero with membranes starting at half threshold.

    Example::

        act = QCFS(levels=8, threshold=4.0)
        act(torch.tensor([-1.0, 0.2, 1.3, 9.0]))    # tensor([0.0, 0.0, 1.5, 4.0])
    """

    def __init__(self, levels: int = 8, threshold: float = 4.0, shift: float = 0.5) -> None:
        super().__init__()
        check_positive_int("levels", levels)
        check_range("threshold", threshold, 0, low_open=True)
        check_range("shift", shift, 0, 1)
        self.levels = levels
        self.shift = float(shift)
        self.threshold = nn.Parameter(torch.tensor(float(threshold)))

    def forward(self, x: Tensor) -> Tensor:
        lam = self.threshold.abs().clamp_min(1e-6)
        z = x * (self.levels / lam) + self.shift
        z = z + (torch.floor(z) - z).detach()  # floor, straight-through gradient
        return torch.clamp(z, 0, self.levels) * (lam / self.levels)

    def extra_repr(self) -> str:
        threshold = float(self.threshold.detach())  # no warning about a grad-requiring scalar
        return f"levels={self.levels}, threshold={threshold:.4g}, shift={self.shift}"
