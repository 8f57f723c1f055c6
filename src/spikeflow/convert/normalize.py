"""Data-based normalisation: the activation scale of every ReLU, from calibration data.

Each ReLU's scale ``lam`` is the value its activations are divided by, so that the converted IF
neuron (threshold 1) fires at rate ``a / lam`` (at most one spike per step). ``"max"`` takes the
largest activation (Diehl et al., 2015); ``"percentile"`` the ``p``-th percentile of the positive
activations (Rueckauer et al., 2017; 99.9 by default), which ignores rare outliers and so lets the
typical neuron fire faster, trading a little clipping for far fewer time steps. Channel-wise scales
take the statistic per channel (dim 1) instead of per layer. A :class:`~spikeflow.convert.QCFS`
layer's scale is its learned clip.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from spikeflow.convert.qcfs import QCFS
from spikeflow.errors import UserError, check_choice, check_range

NORMALIZATIONS = ("max", "percentile")
MAX_VALUES = 4_000_000  # values kept per statistic; above, a seeded random subsample


def calibration_batches(data: Tensor | Iterable, batch_size: int = 256) -> Iterable[Tensor]:
    """Input batches of calibration data.

    Arguments:
        data: a tensor ``[N, ...]`` or an iterable of tensors or ``(x, y)`` tuples.
        batch_size: samples per batch when ``data`` is a tensor.

    Returns:
        An iterator of input tensors ``[B, ...]``.
    """
    if isinstance(data, Tensor):
        if data.dim() < 2 or len(data) == 0:
            raise UserError(
                f"calibration_data has shape {tuple(data.shape)}; expected [N, ...] with N >= 1"
            )
        yield from data.split(batch_size)
        return
    count = 0
    for item in data:
        x = item[0] if isinstance(item, tuple | list) else item
        if not isinstance(x, Tensor):
            raise UserError(
                f"calibration_data yields {type(x).__name__}; expected tensors or (x, y) tuples"
            )
        count += 1
        yield x
    if count == 0:
        raise UserError("calibration_data is empty; expected at least one batch of inputs")


def _statistic(values: Tensor, q: float) -> Tensor:
    positive = values[values > 0].float()
    if positive.numel() == 0:
        return torch.ones(())
    if positive.numel() > MAX_VALUES:
        g = torch.Generator().manual_seed(0)
        pick = torch.randint(positive.numel(), (MAX_VALUES,), generator=g)
        positive = positive[pick.to(positive.device)]
    if q >= 100:
        return positive.max().cpu()
    return torch.quantile(positive, q / 100).cpu()


@torch.no_grad()
def activation_scales(
    layers: list[nn.Module],
    calibration_data: Tensor | Iterable,
    *,
    method: str = "percentile",
    percentile: float = 99.9,
    channel_wise: bool = False,
    batch_size: int = 256,
) -> tuple[list[Tensor | None], list[torch.Size]]:
    """The scale of every activation layer of ``layers`` (a simplified ANN, see ``simplify``).

    Arguments:
        layers: the ANN's layers in order (batch norm folded, no dropout).
        calibration_data: inputs ``[N, ...]`` (or an iterable of batches / ``(x, y)`` tuples), in
            the units the ANN takes.
        method: ``"max"`` or ``"percentile"``.
        percentile: the percentile in ``(0, 100]`` for ``"percentile"``.
        channel_wise: one scale per channel (dim 1 of the activation) instead of per layer.
        batch_size: calibration batch size (samples).

    Returns:
        ``(scales, input_shapes)``: for each layer, its scale (a 0-dim tensor, a ``[C]`` tensor
        when channel-wise, or ``None`` for a layer that is not an activation), and each layer's
        per-sample input shape.
    """
    check_choice("method", method, NORMALIZATIONS)
    check_range("percentile", percentile, 0, 100, low_open=True)
    q = 100.0 if method == "max" else percentile
    collected: list[list[Tensor]] = [[] for _ in layers]
    shapes: list[torch.Size] = []
    for x in calibration_batches(calibration_data, batch_size):
        shapes = []
        device = next((p.device for layer in layers for p in layer.parameters()), x.device)
        x = x.to(device)
        for i, layer in enumerate(layers):
            shapes.append(x.shape[1:])
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                collected[i].append(x.transpose(0, 1).reshape(x.shape[1], -1).cpu())
    scales: list[Tensor | None] = []
    for layer, chunks in zip(layers, collected, strict=True):
        if isinstance(layer, QCFS):
            scales.append(layer.threshold.detach().abs().clamp_min(1e-6).cpu().reshape(()))
        elif isinstance(layer, nn.ReLU):
            values = torch.cat(chunks, dim=1)  # [C, N * spatial]
            if channel_wise:
                scales.append(torch.stack([_statistic(row, q) for row in values]))
            else:
                scales.append(_statistic(values, q))
        else:
            scales.append(None)
    return scales, shapes
