"""Spiking multi-layer perceptron: ``Flatten -> [Linear -> neuron] x k -> Linear -> out``."""

from __future__ import annotations

import math

from torch import nn

from spikeflow import nn as snn
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
    ) -> None:
        neuron = neuron or NeuronConfig()
        layers = [
            nn.Flatten(),
            *dense_stack(math.prod(input_shape), hidden, num_classes, neuron, dropout),
        ]
        super().__init__(snn.Sequential(*layers), make_neuron(neuron))
