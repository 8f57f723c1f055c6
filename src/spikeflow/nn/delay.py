"""Learnable synaptic delays (Hammouamri, Khalfaoui-Hassani & Masquelier 2023): :class:`Delay`
(one delay per feature) and :class:`DelayedLinear` (one delay per synapse).

Training: each delay is the real position of an interpolation kernel over ``0 .. max_delay``
steps (a Gaussian of width ``sigma``, or linear interpolation), learnt by gradient descent; the
Gaussian is sharpened during training (:meth:`sharpen`, called per epoch by the trainer through
:func:`sharpen_delays`: ``sigma`` falls exponentially from ``max_delay / 2`` to ``sigma_end``).
Inference: :meth:`rounded` returns a copy whose delays are rounded to integer steps and applied
as exact shifts. Both act on ``[T, B, N]`` inside :class:`spikeflow.nn.Sequential` and are causal.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.functional.delay import KERNELS, delay_conv, delay_kernel, integer_kernel, shift
from spikeflow.nn.neuron import as_tensor, check_input


class _Delays(nn.Module):
    """The delay positions, the kernel and the sharpening shared by :class:`Delay` and
    :class:`DelayedLinear`."""

    time_major = True  # takes [T, B, ...] itself (not wrapped by Sequential)
    positions: Tensor
    sigma: Tensor

    def __init__(
        self,
        shape: tuple[int, ...],
        max_delay: int,
        delays: float | Tensor | None,
        learn: bool,
        kernel: str,
        sigma_end: float,
    ) -> None:
        super().__init__()
        check_positive_int("max_delay", max_delay)
        check_choice("kernel", kernel, KERNELS)
        self.max_delay = max_delay
        self.kernel = kernel
        self.learn = bool(learn)
        self.sigma_start = max_delay / 2
        self.sigma_end = check_range("sigma_end", sigma_end, 0, self.sigma_start, low_open=True)
        if delays is None:
            positions = torch.rand(shape) * max_delay if learn else torch.zeros(shape)
        else:
            positions = self._check_delays(as_tensor("delays", delays), shape)
        if self.learn:
            self.positions = nn.Parameter(positions)
        else:
            self.register_buffer("positions", positions)
        self.register_buffer("sigma", torch.tensor(self.sigma_start))

    def _check_delays(self, d: Tensor, shape: tuple[int, ...]) -> Tensor:
        if (d < 0).any() or (d > self.max_delay).any():
            raise UserError(
                f"delays has values from {d.min():g} to {d.max():g}; expected delays in "
                f"[0, max_delay={self.max_delay}] steps"
            )
        if not self.learn and not torch.equal(d, d.round()):
            raise UserError("delays has non-integer values; fixed delays (learn=False) are steps")
        try:
            return torch.broadcast_to(d, shape).clone()
        except RuntimeError as err:
            raise UserError(
                f"delays has shape {tuple(d.shape)}; expected a scalar or {shape}"
            ) from err

    def sharpen(self, epoch: int, epochs: int) -> float:
        """Set the Gaussian's width for ``epoch`` of ``epochs`` (0-based): ``max_delay / 2`` at the
        first, falling exponentially to ``sigma_end`` at the last.

        Arguments:
            epoch: the epoch about to run (0-based). epochs: the number of epochs of the run.

        Returns:
            The new ``sigma``, in steps.
        """
        check_positive_int("epochs", epochs)
        check_positive_int("epoch", epoch, allow_zero=True)
        progress = min(epoch, epochs - 1) / max(epochs - 1, 1)
        sigma = self.sigma_start * (self.sigma_end / self.sigma_start) ** progress
        self.sigma.fill_(sigma)
        return sigma

    def delays(self) -> Tensor:
        """The integer delays (rounded positions, clamped to ``[0, max_delay]``), as int64."""
        return self.positions.detach().clamp(0, self.max_delay).round().long()

    def taps(self) -> Tensor:
        """The kernel over ``0 .. max_delay`` for every delay ``[*positions.shape, max_delay + 1]``."""
        if not self.learn:
            return integer_kernel(self.positions, self.max_delay, self.positions.dtype)
        return delay_kernel(self.positions, self.max_delay, self.sigma, self.kernel)

    def rounded(self) -> _Delays:
        """A copy for inference: delays rounded to integer steps, fixed (a buffer) and applied as
        exact shifts; the original is unchanged."""
        new = copy.deepcopy(self)
        positions = self.delays().to(self.positions.dtype)
        del new.positions
        new.learn = False
        new.register_buffer("positions", positions)
        return new

    def _check(self, x: Tensor, features: int) -> None:
        check_input(x)
        if x.dim() != 3 or x.shape[-1] != features:
            raise UserError(
                f"x has shape {tuple(x.shape)}; expected [T, B, {features}] for "
                f"{type(self).__name__}"
            )

    def extra_repr(self) -> str:
        mode = f"kernel={self.kernel!r}, sigma={float(self.sigma):.3g}" if self.learn else "fixed"
        return f"max_delay={self.max_delay}, {mode}"


class Delay(_Delays):
    """One delay per feature: ``y[t, b, i] = x[t - d_i, b, i]`` (interpolated while learnt).

    Arguments:
        features: ``N``, the last dim of the input.
        max_delay: the largest delay, in steps (>= 1).
        delays: initial delays in steps (scalar or ``[N]``); default uniform in ``[0, max_delay]``
            when learnt, 0 when fixed.
        learn: learn the delays (positions of the interpolation kernel); ``False``: fixed integer
            delays, applied as exact shifts.
        kernel: ``"gaussian"`` or ``"linear"`` interpolation while learning.
        sigma_end: the Gaussian's width (steps) at the last epoch of :meth:`sharpen`.

    ``forward(x [T, B, N]) -> [T, B, N]``.
    """

    def __init__(
        self,
        features: int,
        max_delay: int,
        *,
        delays: float | Tensor | None = None,
        learn: bool = True,
        kernel: str = "gaussian",
        sigma_end: float = 0.5,
    ) -> None:
        check_positive_int("features", features)
        super().__init__((features,), max_delay, delays, learn, kernel, sigma_end)
        self.features = features

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, self.features)
        if not self.learn:
            return shift(x, self.delays())
        return delay_conv(x, self.taps().unsqueeze(1), groups=self.features)

    def extra_repr(self) -> str:
        return f"features={self.features}, " + super().extra_repr()


class DelayedLinear(_Delays):
    """A linear layer whose every synapse has its own delay::

        y[t, b, o] = bias[o] + sum_i weight[o, i] x[t - d[o, i], b, i]

    (interpolated over the taps while the delays ``d`` are learnt). Weights and bias start as in
    ``torch.nn.Linear``.

    Arguments:
        in_features: ``I``, the inputs.
        out_features: ``O``, the outputs.
        max_delay: the largest delay, in steps (>= 1).
        bias: add a learnable bias.
        delays: as :class:`Delay`, with delays ``[O, I]``.
        learn: as :class:`Delay`.
        kernel: as :class:`Delay`.
        sigma_end: as :class:`Delay`.

    ``forward(x [T, B, I]) -> [T, B, O]``. Its cost is ``max_delay + 1`` times a Linear's.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        max_delay: int,
        *,
        bias: bool = True,
        delays: float | Tensor | None = None,
        learn: bool = True,
        kernel: str = "gaussian",
        sigma_end: float = 0.5,
    ) -> None:
        check_positive_int("in_features", in_features)
        check_positive_int("out_features", out_features)
        shape = (out_features, in_features)
        super().__init__(shape, max_delay, delays, learn, kernel, sigma_end)
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.bias = (
            nn.Parameter(torch.empty(out_features).uniform_(-bound, bound)) if bias else None
        )

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, self.in_features)
        return delay_conv(x, self.weight.unsqueeze(-1) * self.taps(), bias=self.bias)

    def extra_repr(self) -> str:
        head = f"in_features={self.in_features}, out_features={self.out_features}, "
        return head + f"bias={self.bias is not None}, " + super().extra_repr()


def sharpen_delays(model: nn.Module, epoch: int, epochs: int) -> int:
    """Call :meth:`~_Delays.sharpen` on every learnt Gaussian delay layer of ``model``.

    Arguments:
        model: any module. epoch: the epoch about to run (0-based). epochs: epochs in the run.

    Returns:
        The number of layers sharpened.
    """
    layers = [
        m for m in model.modules() if isinstance(m, _Delays) and m.learn and m.kernel == "gaussian"
    ]
    for layer in layers:
        layer.sharpen(epoch, epochs)
    return len(layers)
