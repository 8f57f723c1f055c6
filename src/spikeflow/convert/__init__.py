"""ANN-to-SNN conversion: fold batch norm, normalise activations, map ReLUs onto IF neurons.

snn = sf.convert.convert(ann, x_calibration, normalization="percentile")
scores = sf.convert.snn_outputs(snn, x_test, num_steps=32).mean(0)   # [B, classes]

The whole experiment (train the ANN, convert, test at many ``T``, energy, plot) is
:func:`run_conversion` with a :class:`ConvertConfig`, as ``spikeflow convert`` runs it.
"""

from typing import Any

from spikeflow.convert.config import ConvertConfig as ConvertConfig
from spikeflow.convert.convert import convert as convert
from spikeflow.convert.fold import SUPPORTED as SUPPORTED
from spikeflow.convert.fold import fold_batchnorm as fold_batchnorm
from spikeflow.convert.fold import simplify as simplify
from spikeflow.convert.neurons import ConvertedIF as ConvertedIF
from spikeflow.convert.neurons import SpikingMaxPool as SpikingMaxPool
from spikeflow.convert.normalize import NORMALIZATIONS as NORMALIZATIONS
from spikeflow.convert.normalize import activation_scales as activation_scales
from spikeflow.convert.pipeline import run_conversion as run_conversion
from spikeflow.convert.qcfs import QCFS as QCFS
from spikeflow.convert.run import ENCODERS as ENCODERS
from spikeflow.convert.run import accuracy_vs_num_steps as accuracy_vs_num_steps
from spikeflow.convert.run import encode_input as encode_input
from spikeflow.convert.run import snn_outputs as snn_outputs
from spikeflow.deprecation import warn_renamed

__all__ = [
    "ENCODERS",
    "NORMALIZATIONS",
    "QCFS",
    "SUPPORTED",
    "ConvertConfig",
    "ConvertedIF",
    "SpikingMaxPool",
    "accuracy_vs_num_steps",
    "activation_scales",
    "convert",
    "encode_input",
    "fold_batchnorm",
    "run_conversion",
    "simplify",
    "snn_outputs",
]

#: Old public names that still work for one release (with a ``FutureWarning``).
_RENAMED = {
    "NORMALISATIONS": "NORMALIZATIONS",
    "INPUT_MODES": "ENCODERS",
    "accuracy_vs_timesteps": "accuracy_vs_num_steps",
}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        warn_renamed(f"spikeflow.convert.{name}", f"spikeflow.convert.{_RENAMED[name]}", "name")
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module 'spikeflow.convert' has no attribute {name!r}")
