"""Recurrent SNN: ``Flatten -> [Linear -> recurrent neuron] x k -> Linear -> out``."""

from __future__ import annotations

import math

from torch import nn

from spikeflow import nn as snn
from spikeflow.errors import check_choice, check_positive_int, check_range
from spikeflow.models.classifier import SpikingClassifier
from spikeflow.models.neurons import NeuronConfig, make_neuron
from spikeflow.nn.recurrent import CONNECTIVITY


class RecurrentSNN(SpikingClassifier):
    """Spiking layers that feed their own spikes back (``RLIF`` for ``neuron.kind="lif"``,
    ``RAdLIF`` with per-neuron parameters for ``"adlif"``).

    Each hidden layer receives ``W_in x[t] + W_rec s[t-1]`` (see :class:`spikeflow.nn.Recurrent`).

    Arguments:
        input_shape: shape of one time step of one sample (flattened inside).
        num_classes: output neurons ``C``.
        hidden: widths of the recurrent layers. connectivity: ``"dense"`` or ``"one_to_one"``.
        neuron: neuron options of every layer (the output layer is not recurrent).
        dropout: after each recurrent layer (one mask across time).

    Input ``[T, B, *input_shape]`` -> :class:`~spikeflow.models.classifier.ClassifierOutput`.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        *,
        hidden: tuple[int, ...] = (128,),
        connectivity: str = "dense",
        neuron: NeuronConfig | None = None,
        dropout: float = 0.0,
    ) -> None:
        neuron = neuron or NeuronConfig()
        check_choice("connectivity", connectivity, CONNECTIVITY)
        check_range("dropout", dropout, 0, 1, high_open=True)
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(input_shape)
        for width in hidden:
            check_positive_int("hidden", width)
            layers += [
                nn.Linear(width_in, width),
                snn.Recurrent(make_neuron(neuron, width), width, connectivity),
            ]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers.append(nn.Linear(width_in, num_classes))
        super().__init__(snn.Sequential(*layers), make_neuron(neuron))
