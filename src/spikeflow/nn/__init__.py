"""Spiking neuron modules and containers over time-major spike trains ``[T, B, ...]``."""

from spikeflow.nn.adlif import AdLIF as AdLIF
from spikeflow.nn.adlif import RAdLIF as RAdLIF
from spikeflow.nn.alif import ALIF as ALIF
from spikeflow.nn.delay import Delay as Delay
from spikeflow.nn.delay import DelayedLinear as DelayedLinear
from spikeflow.nn.delay import sharpen_delays as sharpen_delays
from spikeflow.nn.izhikevich import PRESETS as IZHIKEVICH_PRESETS
from spikeflow.nn.izhikevich import Izhikevich as Izhikevich
from spikeflow.nn.layers import Dropout as Dropout
from spikeflow.nn.layers import TimeDistributed as TimeDistributed
from spikeflow.nn.lif import IF as IF
from spikeflow.nn.lif import LIF as LIF
from spikeflow.nn.lif import PLIF as PLIF
from spikeflow.nn.neuron import Neuron as Neuron
from spikeflow.nn.neuron import ThresholdNeuron as ThresholdNeuron
from spikeflow.nn.recurrent import RLIF as RLIF
from spikeflow.nn.recurrent import Recurrent as Recurrent
from spikeflow.nn.recurrent import RSynaptic as RSynaptic
from spikeflow.nn.sequential import Sequential as Sequential
from spikeflow.nn.synaptic import Synaptic as Synaptic

__all__ = [
    "ALIF",
    "IF",
    "IZHIKEVICH_PRESETS",
    "LIF",
    "PLIF",
    "RLIF",
    "AdLIF",
    "Delay",
    "DelayedLinear",
    "Dropout",
    "Izhikevich",
    "Neuron",
    "RAdLIF",
    "RSynaptic",
    "Recurrent",
    "Sequential",
    "Synaptic",
    "ThresholdNeuron",
    "TimeDistributed",
    "sharpen_delays",
]
