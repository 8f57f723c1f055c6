"""Interoperability with other tools: NIR graphs (:mod:`spikeflow.interop.nir`)."""

from spikeflow.interop.nir import from_nir as from_nir
from spikeflow.interop.nir import to_nir as to_nir
from spikeflow.interop.nodes import LeakyIntegrator as LeakyIntegrator
from spikeflow.interop.nodes import Scale as Scale
from spikeflow.interop.nodes import Threshold as Threshold

__all__ = ["LeakyIntegrator", "Scale", "Threshold", "from_nir", "to_nir"]
