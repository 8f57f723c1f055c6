"""Flatten an ANN into its supported layers and fold batch norm into the layer before it."""

from __future__ import annotations

import copy

import torch
from torch import nn

from spikeflow.convert.qcfs import QCFS
from spikeflow.errors import UserError

WEIGHT = (nn.Linear, nn.Conv1d, nn.Conv2d)
NORM = (nn.BatchNorm1d, nn.BatchNorm2d)
WeightLayer = nn.Linear | nn.Conv1d | nn.Conv2d
Norm = nn.BatchNorm1d | nn.BatchNorm2d
ACTIVATION = (nn.ReLU, QCFS)
POOL = (nn.AvgPool1d, nn.AvgPool2d, nn.MaxPool1d, nn.MaxPool2d)
KEEP = (*WEIGHT, *ACTIVATION, *POOL, nn.Flatten)
DROP = (nn.Dropout, nn.Identity)
SUPPORTED = (
    "Linear, Conv1d, Conv2d (with or without bias), BatchNorm1d/2d after one of them, ReLU, QCFS, "
    "AvgPool1d/2d, MaxPool1d/2d, Flatten, Dropout and Identity (removed), nested nn.Sequential"
)


def flatten_layers(model: nn.Module) -> list[nn.Module]:
    """The leaf layers of ``model`` in order (nested ``nn.Sequential`` unrolled).

    Raises :class:`UserError` naming the first layer that is not supported.
    """
    if isinstance(model, nn.Sequential):
        return [leaf for child in model for leaf in flatten_layers(child)]
    if isinstance(model, (*KEEP, *NORM, *DROP)):
        return [model]
    raise UserError(
        f"layer {type(model).__name__} ({model}) is not supported for conversion; "
        f"expected an nn.Sequential of: {SUPPORTED}"
    )


def fold_batchnorm(weight_layer: WeightLayer, bn: Norm) -> WeightLayer:
    """A copy of ``weight_layer`` (Linear/Conv) with the eval-mode batch norm ``bn`` folded in.

    ``bn(layer(x)) = gamma * (W x + b - mean) / sqrt(var + eps) + beta`` becomes ``W' x + b'``
    with ``W' = W * s`` (per output channel), ``b' = (b - mean) * s + beta`` and
    ``s = gamma / sqrt(var + eps)``.
    """
    if bn.num_features != _out_channels(weight_layer):
        raise UserError(
            f"{type(bn).__name__}(num_features={bn.num_features}) does not match the "
            f"{_out_channels(weight_layer)} outputs of {type(weight_layer).__name__} before it"
        )
    if bn.running_mean is None or bn.running_var is None:
        raise UserError(f"{type(bn).__name__} has no running statistics to fold; expected them")
    fused = copy.deepcopy(weight_layer)
    with torch.no_grad():
        gamma = bn.weight if bn.affine else torch.ones_like(bn.running_mean)
        beta = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        scale = gamma / torch.sqrt(bn.running_var + bn.eps)
        shape = (-1,) + (1,) * (fused.weight.dim() - 1)
        fused.weight.mul_(scale.reshape(shape))
        bias = fused.bias if fused.bias is not None else torch.zeros_like(scale)
        new_bias = (bias - bn.running_mean) * scale + beta
        fused.bias = nn.Parameter(new_bias.to(fused.weight.dtype))
    return fused


def simplify(model: nn.Module) -> list[nn.Module]:
    """Supported layers of ``model`` with dropout removed and batch norm folded (copies).

    A max-pool directly before an activation is moved after it (both are monotone, so the result
    is the same) so that the spiking network pools spikes.
    """
    layers = [layer for layer in flatten_layers(model) if not isinstance(layer, DROP)]
    out: list[nn.Module] = []
    for layer in layers:
        if isinstance(layer, NORM):
            before = out[-1] if out else None
            if not isinstance(before, WEIGHT):
                raise UserError(
                    f"{type(layer).__name__} follows {type(before).__name__ if out else 'nothing'}; "
                    "expected it directly after a Linear or Conv layer (to fold it)"
                )
            out[-1] = fold_batchnorm(before, layer)
        else:
            out.append(copy.deepcopy(layer))
    for i in range(len(out) - 1):
        if isinstance(out[i], (nn.MaxPool1d, nn.MaxPool2d)) and isinstance(out[i + 1], ACTIVATION):
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def _out_channels(layer: WeightLayer) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
