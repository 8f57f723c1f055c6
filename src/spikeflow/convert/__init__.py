"""ANN-to-SNN conversion: fold batch norm, normalise activations, map ReLUs onto IF neurons.

snn = sf.convert.convert(ann, x_calibration, normalisation="percentile")
scores = sf.convert.snn_outputs(snn, x_test, timesteps=32).mean(0)   # [B, classes]
"""

from spikeflow.convert.convert import convert as convert
from spikeflow.convert.fold import SUPPORTED as SUPPORTED
from spikeflow.convert.fold import fold_batchnorm as fold_batchnorm
from spikeflow.convert.fold import simplify as simplify
from spikeflow.convert.neurons import ConvertedIF as ConvertedIF
from spikeflow.convert.neurons import SpikingMaxPool as SpikingMaxPool
from spikeflow.convert.normalise import NORMALISATIONS as NORMALISATIONS
from spikeflow.convert.normalise import activation_scales as activation_scales
from spikeflow.convert.qcfs import QCFS as QCFS
from spikeflow.convert.run import INPUT_MODES as INPUT_MODES
from spikeflow.convert.run import accuracy_vs_timesteps as accuracy_vs_timesteps
from spikeflow.convert.run import encode_input as encode_input
from spikeflow.convert.run import snn_outputs as snn_outputs

__all__ = [
    "INPUT_MODES",
    "NORMALISATIONS",
    "QCFS",
    "SUPPORTED",
    "ConvertedIF",
    "SpikingMaxPool",
    "accuracy_vs_timesteps",
    "activation_scales",
    "convert",
    "encode_input",
    "fold_batchnorm",
    "simplify",
    "snn_outputs",
]
