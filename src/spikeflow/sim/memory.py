"""Memory estimates checked before a large allocation, so that a network too large for this
machine is refused at once, with the argument to change, instead of failing (or swapping) later."""

from __future__ import annotations

import os

from spikeflow.errors import UserError

GIB = 2**30


def available_bytes() -> int:
    """Memory this process can still take: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else
    the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


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


def check_fits(what: str, needed: float, available: int | None = None) -> None:
    """Raise :class:`UserError` when ``needed`` bytes exceed the available memory.

    Arguments:
        what: what needs the memory, naming the argument that sets its size.
        needed: the estimate in bytes.
        available: the memory to compare with (default :func:`available_bytes`).
    """
    have = available_bytes() if available is None else available
    if needed > have:
        raise UserError(
            f"{what} need about {needed / GIB:.1f} GiB, but this machine has {have / GIB:.1f} GiB "
            "of memory available; expected a smaller network"
        )
