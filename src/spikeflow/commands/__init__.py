"""Sub-commands of the ``spikeflow`` CLI, one module each (see :mod:`spikeflow.cli`)."""
