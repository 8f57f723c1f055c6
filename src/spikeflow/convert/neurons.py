"""Spiking pieces of a converted network: IF neurons with an initial membrane, spiking max-pool."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from spikeflow.errors import check_choice, check_range
from spikeflow.functional import LIFState
from spikeflow.nn import IF
from spikeflow.nn.neuron import check_input


class ConvertedIF(IF):
    """Integrate-and-fire with reset by subtraction whose fresh state is ``v = v_init * threshold``.

    Identical to :class:`spikeflow.nn.IF` (``v = v_prev + x[t]``; spike when ``v >= threshold``;
    ``v -= threshold`` on a spike) except for the resting state: ``v_init = 0.5`` starts every
    membrane at half threshold, which turns the spike count's floor into rounding and halves the
    mean conversion error.

    Arguments:
        threshold: firing threshold (scalar, or a tensor broadcastable to one step ``[B, ...]``).
        v_init: initial membrane as a fraction of the threshold, in ``[0, 1)``.
        backend: multi-step kernel choice, as for every neuron (``"auto"`` picks a fused one).
    """

    def __init__(
        self, threshold: float | Tensor = 1.0, v_init: float = 0.0, backend: str = "auto"
    ) -> None:
        check_range("v_init", v_init, 0, 1, high_open=True)
        super().__init__(threshold=threshold, reset="subtract", backend=backend)
        self.v_init = float(v_init)

    def initial_state(self, x_t: Tensor) -> LIFState:
        v = torch.zeros_like(x_t) + self.v_init * self.threshold.to(x_t)
        return LIFState(v, torch.zeros_like(x_t))

    def extra_repr(self) -> str:
        return f"v_init={self.v_init}, " + super().extra_repr()


class SpikingMaxPool(nn.Module):
    """Max-pooling of spike trains ``[T, B, C, ...]`` passing the spikes of the most active input.

    Pooling binary spikes with a plain max would fire whenever *any* input fires (the OR of the
    window, a rate above every input's). Instead, at step ``t`` each window passes the spike of the
    input with the largest spike count so far (steps ``0..t`` included; ties go to the first in the
    window), so the output rate follows the maximum input rate (Rueckauer et al., 2017).
    Counts start at zero on every call: a stream cut into chunks restarts them.

    Arguments:
        kernel_size: window size, as ``nn.MaxPool1d`` / ``nn.MaxPool2d``.
        stride: window stride (default ``kernel_size``), as there.
        padding: zero padding, as there.
        dims: 1 or 2 spatial dims.
    """

    time_major = True  # sf.nn.Sequential passes it [T, B, ...] unwrapped

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
        dims: int = 2,
    ) -> None:
        super().__init__()
        check_choice("dims", dims, (1, 2))
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dims = dims

    @classmethod
    def from_pool(cls, pool: nn.MaxPool1d | nn.MaxPool2d) -> SpikingMaxPool:
        """The spiking counterpart of an ANN max-pool layer."""
        dims = 1 if isinstance(pool, nn.MaxPool1d) else 2
        return cls(pool.kernel_size, pool.stride, pool.padding, dims=dims)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, min_dim=2 + 1 + self.dims, what="[T, B, C, spatial...]")
        t, b = x.shape[:2]
        pool = nn.functional.max_pool1d if self.dims == 1 else nn.functional.max_pool2d
        counts = torch.cumsum(x, dim=0).reshape(t * b, *x.shape[2:])
        _, idx = pool(counts, self.kernel_size, self.stride, self.padding, return_indices=True)
        flat = x.reshape(t * b, x.shape[2], -1)
        out = torch.gather(flat, 2, idx.flatten(2))
        return out.reshape(t, b, *idx.shape[1:])

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
