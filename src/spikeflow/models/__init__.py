"""Spiking classifiers built from :mod:`spikeflow.nn`, and a registry to build them by name.

Every model takes input ``[T, B, *input_shape]`` and returns a :class:`ClassifierOutput`
(output spikes and membrane ``[T, B, C]``, firing rate of each spiking layer).
"""

from spikeflow.models.classifier import ClassifierOutput as ClassifierOutput
from spikeflow.models.classifier import SpikingClassifier as SpikingClassifier
from spikeflow.models.cnn import SpikingCNN as SpikingCNN
from spikeflow.models.mlp import SpikingMLP as SpikingMLP
from spikeflow.models.neurons import NEURON_KINDS as NEURON_KINDS
from spikeflow.models.neurons import NEURONS as NEURONS
from spikeflow.models.neurons import NeuronConfig as NeuronConfig
from spikeflow.models.neurons import NeuronKind as NeuronKind
from spikeflow.models.neurons import build_neuron as build_neuron
from spikeflow.models.registry import available as available
from spikeflow.models.registry import build as build
from spikeflow.models.registry import register as register
from spikeflow.models.rsnn import RecurrentSNN as RecurrentSNN
