"""Convolutional SNN: ``[Conv3x3 -> BatchNorm -> MaxPool2 -> neuron] x k -> dense layers``."""

from __future__ import annotations

import math

from torch import nn

from spikeflow import nn as snn
from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.models.classifier import SpikingClassifier, dense_stack
from spikeflow.models.neurons import NeuronConfig, make_neuron


class SpikingCNN(SpikingClassifier):
    """Conv-pool-neuron blocks, then a fully connected spiking layer and the spiking output layer.

    Each block is a 3x3 convolution (padding 1, no bias), batch norm (over time and batch), 2x2
    max pooling of the currents, then the neuron, so spikes leave at half the resolution.

    Arguments:
        input_shape: ``(channels, height, width)`` of one time step.
        num_classes: output neurons ``C``.
        channels: output channels of each block, e.g. ``(32, 64)``; each block halves H and W.
        hidden: widths of the fully connected spiking layers after the blocks (may be empty).
        neuron: neuron options of every spiking layer. dropout: before each fully connected layer.

    Input ``[T, B, C_in, H, W]`` -> :class:`~spikeflow.models.classifier.ClassifierOutput`.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        *,
        channels: tuple[int, ...] = (32, 64),
        hidden: tuple[int, ...] = (256,),
        neuron: NeuronConfig | None = None,
        dropout: float = 0.0,
    ) -> None:
        neuron = neuron or NeuronConfig()
        if len(input_shape) != 3:
            raise UserError(
                f"input_shape={tuple(input_shape)} is not valid for the cnn model; "
                "expected (channels, height, width) images"
            )
        check_range("dropout", dropout, 0, 1, high_open=True)
        c_in, h, w = input_shape
        if min(h, w) < 2 ** len(channels):
            raise UserError(
                f"channels={tuple(channels)} has {len(channels)} blocks, each halving the image; "
                f"{h}x{w} inputs allow at most {int(math.log2(min(h, w)))}"
            )
        layers: list[nn.Module] = []
        for c_out in channels:
            check_positive_int("channels", c_out)
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.MaxPool2d(2),
                make_neuron(neuron),
            ]
            c_in, h, w = c_out, h // 2, w // 2
        layers.append(nn.Flatten())
        layers += dense_stack(c_in * h * w, hidden, num_classes, neuron, dropout)
        super().__init__(snn.Sequential(*layers), make_neuron(neuron))
