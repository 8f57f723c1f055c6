"""Monitors: what a network records while it runs (spikes, state variables, population rates).

Add monitors to the :class:`~spikeflow.sim.Network` together with the groups. Times are in ms
(step ``k`` is reported as ``k * dt``); recordings accumulate over successive runs until
:meth:`clear`. After each run, every monitor reads its part of the engine's
:class:`~spikeflow.sim.recording.Recording` (:meth:`read`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spikeflow.errors import UserError, check_positive_int
from spikeflow.sim import layout as E
from spikeflow.sim.groups import NeuronGroup
from spikeflow.sim.recording import state_rows

if TYPE_CHECKING:
    from spikeflow.sim.compiled import Layout
    from spikeflow.sim.recording import Recording


class SpikeMonitor:
    """Records every spike of ``group``: arrays ``t`` (ms), ``i`` (local index), ``b`` (copy)."""

    def __init__(self, group: NeuronGroup) -> None:
        self.group = group
        self.dt = 1.0
        self.clear()

    def clear(self) -> None:
        self.steps = np.zeros(0, dtype=np.int64)
        self.i = np.zeros(0, dtype=np.int64)
        self.b = np.zeros(0, dtype=np.int64)

    def read(self, rec: Recording, layout: Layout) -> None:
        """Append the spikes of this monitor's group from a run's recording."""
        start = layout.group_start[self.group.name]
        keep = (rec.spike_index >= start) & (rec.spike_index < start + self.group.n)
        self.steps = np.concatenate([self.steps, rec.spike_steps[keep]])
        self.b = np.concatenate([self.b, rec.spike_copy[keep]])
        self.i = np.concatenate([self.i, rec.spike_index[keep] - start])

    @property
    def t(self) -> np.ndarray:
        """Spike times in ms."""
        return self.steps * self.dt

    def count(self, batch: int) -> np.ndarray:
        """Spike counts per copy and neuron, ``[batch, N]``."""
        flat = np.bincount(self.b * self.group.n + self.i, minlength=batch * self.group.n)
        return flat.reshape(batch, self.group.n)

    def trains(self, b: int = 0) -> list[np.ndarray]:
        """Spike times (ms) of each neuron of copy ``b``."""
        keep = self.b == b
        t, i = self.t[keep], self.i[keep]
        return [t[i == k] for k in range(self.group.n)]


class StateMonitor:
    """Records ``var`` of neurons ``indices`` (default all) every ``every`` steps.

    ``var`` is ``"v"``, ``"theta"`` (adaptive LIF), ``"u"`` (Izhikevich) or a synaptic channel
    name. ``values`` is ``[R, B, K]`` (rows, batch copies, recorded neurons), ``t`` is ``[R]`` ms.
    A row holds the state at the end of its step.
    """

    def __init__(self, group: NeuronGroup, var: str, indices=None, every: int = 1) -> None:
        valid = (*group.state_vars, *group.channels)
        if var not in valid:
            raise UserError(
                f"var={var!r} is not a variable of group {group.name!r}; expected one of {valid}"
            )
        check_positive_int("every", every)
        idx = np.arange(group.n) if indices is None else np.asarray(indices, dtype=np.int64).ravel()
        if idx.size == 0 or idx.min() < 0 or idx.max() >= group.n:
            raise UserError(f"indices must be non-empty and within [0, {group.n - 1}]")
        self.group, self.var, self.indices, self.every = group, var, idx, every
        self.dt = 1.0
        self.clear()

    def clear(self) -> None:
        self.steps = np.zeros(0, dtype=np.int64)
        self.values = np.zeros((0, 0, self.indices.size))

    def row(self) -> int:
        """The row of ``var`` in the state array (``layout.S_*``)."""
        if self.var in self.group.channels:
            return E.S_G0 + self.group.channels.index(self.var)
        return E.STATE_ROWS[self.var]

    def read(self, rec: Recording, layout: Layout) -> None:
        """Append the rows this monitor planned for a run (every ``every``-th step)."""
        values = rec.states[self]
        self.steps = np.concatenate([self.steps, state_rows(rec.t0, rec.n_steps, self.every)])
        self.values = values if self.values.shape[0] == 0 else np.concatenate([self.values, values])

    @property
    def t(self) -> np.ndarray:
        return self.steps * self.dt


class PopulationRateMonitor:
    """Population rate of ``group`` per step: ``rate`` ``[T, B]`` in Hz, ``t`` ``[T]`` ms."""

    def __init__(self, group: NeuronGroup) -> None:
        self.group = group
        self.dt = 1.0
        self.clear()

    def clear(self) -> None:
        self.steps = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros((0, 0), dtype=np.int64)

    def read(self, rec: Recording, layout: Layout) -> None:
        """Append the group's spike count of every step of a run."""
        counts = rec.counts[:, layout.group_names.index(self.group.name), :].astype(np.int64)
        self.steps = np.concatenate([self.steps, np.arange(rec.t0, rec.t0 + rec.n_steps)])
        self.counts = counts if self.counts.shape[0] == 0 else np.concatenate([self.counts, counts])

    @property
    def t(self) -> np.ndarray:
        return self.steps * self.dt

    @property
    def rate(self) -> np.ndarray:
        """Spikes per neuron per second in each step, ``[T, B]`` Hz."""
        return self.counts / (self.group.n * self.dt * 1e-3)

    def mean_rate(self) -> np.ndarray:
        """Mean rate over the whole recording, ``[B]`` Hz."""
        return self.counts.sum(0) / (self.group.n * self.counts.shape[0] * self.dt * 1e-3)
