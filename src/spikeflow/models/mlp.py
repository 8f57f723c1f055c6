"""Spiking multi-layer perceptron: ``Flatten -> [Linear -> neuron] x k -> Linear -> out``, with
learnable synaptic delays on every Linear on request."""

from __future__ import annotations

import math

from torch import nn

from spikeflow import nn as snn
from spikeflow.errors import check_positive_int
from spikeflow.models.classifier import SpikingClassifier, dense_stack
from spikeflow.models.neurons import NeuronConfig, make_neuron


class SpikingMLP(SpikingClassifier):
    """A fully connected SNN.

    Arguments:
        input_shape: shape of one time step of one sample, e.g. ``(1, 8, 8)`` (flattened inside).
        num_classes: output neurons ``C``.
        hidden: widths of the hidden spiking layers, e.g. ``(256,)`` or ``(512, 256)``.
        neuron: neuron options of every spiking layer (the output layer too).
        dropout: dropout probability after each hidden layer (one mask across time).
        delays: ``0`` for plain Linear layers; else every Linear (the output's too) is a
            :class:`~spikeflow.nn.DelayedLinear` whose synapses learn delays of up to ``delays``
            steps (Hammouamri et al. 2023).

    Input ``[T, B, *input_shape]`` -> :class:`~spikeflow.models.classifier.ClassifierOutput`.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        *,
        hidden: tuple[int, ...] = (256,),
        neuron: NeuronConfig | None = None,
        dropout: float = 0.0,
        delays: int = 0,
    ) -> None:
        neuron = neuron or NeuronConfig()
        check_positive_int("delays", delays, allow_zero=True)
        layers = [
            nn.Flatten(),
            *dense_stack(math.prod(input_shape), hidden, num_classes, neuron, dropout),
        ]
        if delays:
            layers = [_delayed(layer, delays) for layer in layers]
        super().__init__(snn.Sequential(*layers), make_neuron(neuron))


def _delayed(layer: nn.Module, max_delay: int) -> nn.Module:
    """A :class:`~spikeflow.nn.DelayedLinear` of the same shape in place of a Linear."""
    if not isinstance(layer, nn.Linear):
        return layer
    return snn.DelayedLinear(layer.in_features, layer.out_features, max_delay)
