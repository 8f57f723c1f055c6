"""The memory a simulated network needs, estimated before it is built (checked with
:func:`spikeflow.memory.check_fits`)."""

from __future__ import annotations

# float64 numbers per neuron and copy: parameters, state, channel coefficients and the
# delay buffer's rows, with room for the temporaries of the build
NUMBERS_PER_NEURON = 32
# peak bytes per synapse while a network is built, besides its weights (16 per copy): local pre
# and post indices, delays and the by-post index, drawn, sorted and concatenated (int64)
BYTES_PER_SYNAPSE = 96


def network_bytes(synapses: float, neurons: int, batch: int, channels: int) -> float:
    """Peak memory (bytes) of building and running a network of this size.

    Arguments:
        synapses: number of synapses (expected). neurons: number of neurons.
        batch: copies ``B``. channels: synaptic channels per neuron.
    """
    per_neuron = 8 * batch * (NUMBERS_PER_NEURON + 4 * channels)
    return synapses * (BYTES_PER_SYNAPSE + 16 * batch) + neurons * per_neuron
