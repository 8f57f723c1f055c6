"""Figures for spiking networks, built with matplotlib (Agg, no display).

Every function takes torch tensors or numpy arrays and returns a
:class:`matplotlib.figure.Figure`; :func:`save` writes it to a PNG (or SVG/PDF) file.
"""

from spikeflow.plot._common import PALETTE as PALETTE
from spikeflow.plot._common import save as save
from spikeflow.plot.conversion import accuracy_vs_steps as accuracy_vs_steps
from spikeflow.plot.neuron import membrane_trace as membrane_trace
from spikeflow.plot.neuron import neuron as neuron
from spikeflow.plot.raster import layer_rasters as layer_rasters
from spikeflow.plot.raster import raster as raster
from spikeflow.plot.raster import rate_histogram as rate_histogram
from spikeflow.plot.sim import weight_grid as weight_grid
from spikeflow.plot.training import confusion_matrix as confusion_matrix
from spikeflow.plot.training import training_curves as training_curves
