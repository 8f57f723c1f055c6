"""Fused multi-step neuron kernels (CPU: numba; GPU: triton) and the backend dispatch."""

from spikeflow.kernels.dispatch import BACKENDS as BACKENDS
from spikeflow.kernels.dispatch import multi_step as multi_step
