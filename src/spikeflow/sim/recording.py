"""What a run records and the one interface every engine implements.

A :class:`RecordPlan` says what to record (made by the network from its monitors); an engine's
:meth:`Engine.run` advances a :class:`~spikeflow.sim.compiled.State` over ``n_steps`` steps of a
:class:`~spikeflow.sim.compiled.CompiledNetwork` and returns a :class:`Recording`, which the
monitors read (:meth:`spikeflow.sim.SpikeMonitor.read` and the others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np

from spikeflow.sim import layout as E
from spikeflow.sim.compiled import CompiledNetwork, State

if TYPE_CHECKING:
    from spikeflow.sim.monitors import StateMonitor


class RecordPlan(NamedTuple):
    """What to record in a run (numba takes it as an argument).

    ``spikes`` marks the neurons whose spikes are kept (uint8 ``[N]``, ``n_rec`` of them);
    ``table`` has one row per state monitor (``layout.M_*`` columns) and ``indices`` their
    neurons (global indices, concatenated); ``counts`` says whether spike counts per group and
    step are wanted.
    """

    spikes: np.ndarray
    n_rec: int
    table: np.ndarray
    indices: np.ndarray
    counts: bool


def state_rows(t0: int, n_steps: int, every: int) -> np.ndarray:
    """The steps in ``[t0, t0 + n_steps)`` that are multiples of ``every``."""
    first = -(-t0 // every) * every
    return np.arange(first, t0 + n_steps, every)


def plan_recording(
    compiled: CompiledNetwork,
    spike_groups: Sequence[str],
    state_monitors: Sequence[StateMonitor],
    counts: bool,
    t0: int,
    n_steps: int,
) -> RecordPlan:
    """The plan for a run of ``n_steps`` from step ``t0``.

    Arguments:
        compiled: the network. spike_groups: names of the groups whose spikes are kept.
        state_monitors: their variables are written into one flat buffer, monitor after monitor.
        counts: whether per-group spike counts are wanted. t0, n_steps: the run's steps.
    """
    lay = compiled.layout
    spikes = np.zeros(compiled.n_neurons, dtype=np.uint8)
    for name in spike_groups:
        g = lay.group_names.index(name)
        grp = compiled.neurons.groups[g]
        spikes[grp[E.G_START] : grp[E.G_STOP]] = 1
    table = np.zeros((len(state_monitors), E.N_MON_COLS), dtype=np.int64)
    idx, off, ioff = [], 0, 0
    for k, m in enumerate(state_monitors):
        n_rows = state_rows(t0, n_steps, m.every).size
        table[k, E.M_VAR] = m.row()
        table[k, E.M_IDX_OFF], table[k, E.M_NIDX] = ioff, m.indices.size
        table[k, E.M_EVERY], table[k, E.M_OUT_OFF] = m.every, off
        idx.append(m.indices + lay.group_start[m.group.name])
        off += n_rows * compiled.batch * m.indices.size
        ioff += m.indices.size
    indices = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
    return RecordPlan(spikes, int(spikes.sum()), table, indices, counts)


@dataclass(frozen=True, eq=False)
class Recording:
    """What one run recorded.

    Arguments:
        t0, n_steps: the run's first step and its number of steps.
        spike_steps, spike_copy, spike_index: every kept spike ``[S]`` (absolute step, copy,
            global neuron index), sorted by step.
        counts: spikes per step, group and copy, int ``[n_steps, G, B]`` (zeros when not
            planned).
        states: per state monitor of the plan, its values ``[rows, B, K]``.
    """

    t0: int
    n_steps: int
    spike_steps: np.ndarray
    spike_copy: np.ndarray
    spike_index: np.ndarray
    counts: np.ndarray
    states: Mapping[StateMonitor, np.ndarray]


class Engine(Protocol):
    """An engine advances a compiled network: the numba engine
    (:class:`spikeflow.sim.engine.NumbaEngine`) and the PyTorch engine
    (:class:`spikeflow.sim.torch_engine.TorchEngine`)."""

    def run(
        self,
        compiled: CompiledNetwork,
        state: State,
        n_steps: int,
        *,
        t0: int,
        seed: int,
        plastic: bool,
        reward: np.ndarray,
        plan: RecordPlan,
        state_monitors: Sequence[StateMonitor],
    ) -> Recording:
        """Advance ``state`` (in place) by ``n_steps`` steps from absolute step ``t0``.

        Arguments:
            compiled: the network. state: its state, updated in place.
            n_steps: steps to run. t0: the absolute step of the first one.
            seed: seed of this run's random draws (Poisson groups).
            plastic: ``False`` freezes weights, traces and eligibility.
            reward: scheduled reward per step ``[R, n_steps, B]`` (no steps: none).
            plan: what to record. state_monitors: the monitors of ``plan.table``'s rows.

        Returns:
            The :class:`Recording` of the run.
        """
        ...
