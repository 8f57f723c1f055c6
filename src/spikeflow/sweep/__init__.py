"""Hyperparameter sweeps over any train option with Optuna (``spikeflow sweep``).

:func:`load` reads and checks a sweep file (:mod:`spikeflow.sweep.config`), :func:`run` runs or
continues it (:mod:`spikeflow.sweep.runner`), :mod:`spikeflow.sweep.results` writes the table and
the figure. Optuna is the optional extra ``sweep``: ``pip install 'spikeflow[sweep]'``.
"""

from spikeflow.sweep.config import SweepConfig as SweepConfig
from spikeflow.sweep.config import load as load
from spikeflow.sweep.runner import Outcome as Outcome
from spikeflow.sweep.runner import run as run
