"""spikeflow: spiking neural networks on PyTorch.

    import spikeflow as sf
    lif = sf.nn.LIF(beta=0.9)
    spikes, state = lif(x)        # x: [T, B, ...]

Sub-packages that pull in heavy dependencies (plotting, data sets, training, the simulator,
conversion, interop) are imported on first use: ``sf.plot``, ``sf.data``, ``sf.train`` and so on.
"""

import importlib
from types import ModuleType

from spikeflow import encode as encode
from spikeflow import functional as functional
from spikeflow import nn as nn
from spikeflow import surrogate as surrogate
from spikeflow.errors import UserError as UserError
from spikeflow.functional import Trace as Trace

__version__ = "0.1.0"

_LAZY = (
    "convert",
    "data",
    "energy",
    "interop",
    "kernels",
    "loss",
    "models",
    "plasticity",
    "plot",
    "sim",
    "train",
)


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY:
        return importlib.import_module(f"spikeflow.{name}")
    raise AttributeError(f"module 'spikeflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
