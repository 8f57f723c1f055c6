"""Turn a trained ReLU (or QCFS) network into a spiking network of integrate-and-fire neurons.

Rate coding: an IF neuron with threshold 1 and reset by subtraction, driven by a constant current
``z``, fires at rate ``clip(z, 0, 1)`` (spikes per step) as ``T`` grows. So each layer's weights and
bias are rescaled to make its current the ANN activation divided by the activation's scale ``lam``
(see :mod:`spikeflow.convert.normalize`), and every spike of that layer stands for ``lam``::

    W'_l = W_l * lam_{l-1} / lam_l        b'_l = b_l / lam_l        threshold = 1

(per channel when the scales are channel-wise; ``lam_0 = 1``: the input is fed as is). The last
weight layer, with no activation after it, gets ``lam_l = 1``: the SNN's output at each step is the
output current, whose mean over the ``T`` steps approaches the ANN's logits.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from spikeflow.convert.fold import ACTIVATION, WEIGHT, WeightLayer, simplify
from spikeflow.convert.neurons import ConvertedIF, SpikingMaxPool
from spikeflow.convert.normalize import activation_scales
from spikeflow.convert.qcfs import QCFS
from spikeflow.deprecation import renamed_kwargs
from spikeflow.errors import UserError, check_range
from spikeflow.nn import Sequential, TimeDistributed


@renamed_kwargs(normalisation="normalization")
def convert(
    model: nn.Module,
    calibration_data: Tensor | Iterable | None,
    *,
    normalization: str = "percentile",
    percentile: float = 99.9,
    channel_wise: bool = False,
    v_init: float = 0.5,
    batch_size: int = 256,
    backend: str = "auto",
) -> Sequential:
    """Convert a trained ANN into a :class:`spikeflow.nn.Sequential` spiking network.

    Arguments:
        model: an ``nn.Sequential`` (nested ones allowed) of Linear, Conv1d/2d, BatchNorm (folded
            into the layer before), ReLU or :class:`~spikeflow.convert.QCFS`, AvgPool, MaxPool
            (becomes :class:`~spikeflow.convert.SpikingMaxPool`), Flatten, Dropout (removed).
            The model is not modified.
        calibration_data: ANN inputs ``[N, ...]`` (or an iterable of batches or ``(x, y)`` tuples)
            for the ReLU scales; may be ``None`` when every activation is a QCFS layer.
        normalization: ``"max"`` or ``"percentile"`` (ReLU layers; QCFS layers use their clip).
        percentile: the percentile in ``(0, 100]`` for ``"percentile"`` (99.9 by default).
        channel_wise: one scale per channel instead of per layer.
        v_init: initial membrane as a fraction of the threshold, in ``[0, 1)``; 0.5 (half
            threshold) rounds instead of flooring and suits QCFS-trained networks.
        batch_size: calibration batch size (samples).
        backend: the IF neurons' kernel (``"auto" | "reference" | "cpu" | "triton"``).

    Returns:
        The SNN: ``TimeDistributed`` weight and pooling layers, :class:`ConvertedIF` neurons
        (``sf.nn.IF`` with reset by subtraction), :class:`SpikingMaxPool`. It maps ``[T, B, ...]``
        input currents (or rate-coded spikes, see :func:`encode_input`) to output currents
        ``[T, B, classes]``.
    """
    check_range("v_init", v_init, 0, 1, high_open=True)
    layers = simplify(model)
    if not any(isinstance(layer, WEIGHT) for layer in layers):
        raise UserError("model has no Linear or Conv layer; expected at least one to convert")
    for layer in layers:  # copies: the caller's model keeps its mode
        layer.eval()
    if calibration_data is None:
        if any(isinstance(layer, nn.ReLU) for layer in layers):
            raise UserError(
                "calibration_data=None is only valid when every activation is QCFS; "
                "the model has ReLU layers, whose scales come from data"
            )
        scales = [_qcfs_scale(layer) for layer in layers]
        shapes: list = [None] * len(layers)
    else:
        scales, shapes = activation_scales(
            layers,
            calibration_data,
            method=normalization,
            percentile=percentile,
            channel_wise=channel_wise,
            batch_size=batch_size,
        )
    built = _build(layers, scales, shapes, v_init, backend)
    return Sequential(*built)


def _qcfs_scale(layer: nn.Module) -> Tensor | None:
    return layer.threshold.detach().abs().clamp_min(1e-6).cpu() if isinstance(layer, QCFS) else None


def _next_scale(layers: list[nn.Module], scales: list, start: int) -> Tensor | None:
    """The scale of the activation that follows the weight layer at ``start`` (None: output)."""
    for j in range(start + 1, len(layers)):
        if isinstance(layers[j], WEIGHT):
            return None
        if isinstance(layers[j], ACTIVATION):
            return scales[j]
    return None


def _build(
    layers: list[nn.Module], scales: list, shapes: list, v_init: float, backend: str
) -> list[nn.Module]:
    out: list[nn.Module] = []
    s_in = torch.ones(())
    for i, layer in enumerate(layers):
        if isinstance(layer, WEIGHT):
            s_out = _next_scale(layers, scales, i)
            out.append(TimeDistributed(_rescale(layer, s_in, s_out)))
        elif isinstance(layer, ACTIVATION):
            out.append(ConvertedIF(threshold=1.0, v_init=v_init, backend=backend))
            s_in = scales[i]
        elif isinstance(layer, nn.MaxPool1d | nn.MaxPool2d):
            out.append(SpikingMaxPool.from_pool(layer))
        elif isinstance(layer, nn.Flatten):
            if layer.start_dim != 1 or layer.end_dim != -1:
                raise UserError(
                    f"Flatten(start_dim={layer.start_dim}, end_dim={layer.end_dim}) is not "
                    "supported; expected Flatten(start_dim=1, end_dim=-1)"
                )
            if s_in.dim() == 1 and shapes[i] is not None:
                s_in = s_in.repeat_interleave(int(torch.Size(shapes[i][1:]).numel()))
            out.append(TimeDistributed(copy.deepcopy(layer)))
        else:  # average pooling: linear and per channel, scales pass through
            out.append(TimeDistributed(copy.deepcopy(layer)))
    return out


def _rescale(layer: WeightLayer, s_in: Tensor, s_out: Tensor | None) -> WeightLayer:
    """A copy of a Linear/Conv layer with ``W * s_in / s_out`` and ``b / s_out`` (per channel)."""
    new = copy.deepcopy(layer)
    w = new.weight
    n_out, n_in_group = w.shape[:2]
    groups = getattr(new, "groups", 1)
    s_in = s_in.to(w)
    s_out = torch.ones((), device=w.device, dtype=w.dtype) if s_out is None else s_out.to(w)
    for name, s, n in (("input", s_in, n_in_group * groups), ("output", s_out, n_out)):
        if s.dim() == 1 and s.numel() != n:
            raise UserError(
                f"channel-wise scales of size {s.numel()} do not match the {n} {name} channels of "
                f"{type(layer).__name__}; use layer-wise normalisation (channel_wise=False)"
            )
    if s_in.dim() == 1:
        s_in = s_in.reshape(groups, 1, n_in_group).expand(groups, n_out // groups, n_in_group)
        s_in = s_in.reshape(n_out, n_in_group)
    extra = (1,) * (w.dim() - 2)
    s_in_w = s_in.reshape(*s_in.shape, *extra) if s_in.dim() else s_in
    s_out_w = s_out.reshape(-1, 1, *extra) if s_out.dim() else s_out
    with torch.no_grad():
        w.mul_(s_in_w / s_out_w)
        if new.bias is not None:
            new.bias.div_(s_out)
    return new
