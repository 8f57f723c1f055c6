"""spikeflow: spiking neural networks on PyTorch.

    import spikeflow as sf
    lif = sf.nn.LIF(beta=0.9)
    spikes, state = lif(x)        # x: [T, B, ...]
"""

from spikeflow import functional as functional
from spikeflow import nn as nn
from spikeflow import surrogate as surrogate
from spikeflow.errors import UserError as UserError
from spikeflow.functional import Trace as Trace

__version__ = "0.1.0"
