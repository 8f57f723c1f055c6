"""The compiled network: the frozen record a :class:`~spikeflow.sim.Network` builds for the
engines (arrays and layout tables), and the mutable state the engines advance.

The record holds the model (parameters, exact-integration coefficients, synapses, plasticity
rules, drives); nothing in it changes while a network runs, and ``Network.set_drive`` makes a
new record with other drives. :class:`State` holds what does change (state variables,
refractory counters, weights, traces, eligibility, reward levels, spikes in flight); engines
update its arrays in place. Table columns and rows are named in :mod:`spikeflow.sim.layout`.
All arrays are NamedTuples of numpy arrays, which numba takes as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from spikeflow.sim import layout as E


class NeuronArrays(NamedTuple):
    """Every neuron, all groups side by side (``N`` neurons, ``B`` copies, ``C`` channels)."""

    groups: np.ndarray  # int64 [G, N_GROUP_COLS]
    neuron_group: np.ndarray  # int64 [N]: the group of each neuron
    params: np.ndarray  # float64 [N_PARAMS, B, N]
    ref_steps: np.ndarray  # int64 [B, N]: refractory period in steps
    ch_decay: np.ndarray  # float64 [C, B, N]: per-step decay of each channel
    ch_coupling: np.ndarray  # float64 [C, B, N]: channel -> v coupling (current-based)
    ch_erev: np.ndarray  # float64 [C, B, N]: reversal potentials (conductance-based)
    gen_steps: np.ndarray  # int64 [E]: steps of generator spikes, sorted
    gen_idx: np.ndarray  # int64 [E]: their global neuron indices


class DriveArrays(NamedTuple):
    """External drives (Poisson rates in Hz, currents in mV), packed flat per group."""

    table: np.ndarray  # int64 [G, N_DRIVE_COLS]
    values: np.ndarray  # float64 [...]: per group [rows] (uniform) or [rows, B, n]


class SynapseArrays(NamedTuple):
    """Every projection's synapses in CSR order (by pre, then post), with a CSC index."""

    proj: np.ndarray  # int64 [P, N_PROJ_COLS]
    ptr: np.ndarray  # int64 [sum(n_pre + 1)]: CSR row pointers, per projection
    pre_local: np.ndarray  # int64 [S]
    post_local: np.ndarray  # int64 [S]
    delays: np.ndarray  # int64 [S]: steps
    colptr: np.ndarray  # int64 [sum(n_post + 1)]: CSC column pointers into col_syn
    col_syn: np.ndarray  # int64 [S]: synapses sorted by post
    stdp: np.ndarray  # float64 [K, N_STDP_PARAMS]
    reward: np.ndarray  # int64 [R, N_REWARD_COLS]
    reward_params: np.ndarray  # float64 [R, N_REWARD_PARAMS]


class State(NamedTuple):
    """What a run changes; engines update these arrays in place."""

    X: np.ndarray  # float64 [S_G0 + C, B, N]: v, theta, u, channels
    ref: np.ndarray  # int64 [B, N]: refractory steps left
    W: np.ndarray  # float64 [B, S]: weights
    trX: np.ndarray  # float64 [K, N_TRACES, B, N]: presynaptic STDP traces
    trY: np.ndarray  # float64 [K, N_TRACES, B, N]: postsynaptic STDP traces
    acc: np.ndarray  # float64 [D, ACC_CH0 + C, B, N or 0]: delay ring buffer
    elig: np.ndarray  # float64 [B, S_reward]: eligibility, in units of escale
    escale: np.ndarray  # float64 [R, B]: pending decay of each row's eligibility
    level: np.ndarray  # float64 [R, B]: reward levels
    gen_ptr: np.ndarray  # int64 [1]: next generator spike


@dataclass(frozen=True, eq=False)
class Layout:
    """Where each named group and projection lives in the arrays."""

    group_names: tuple[str, ...]
    group_start: dict[str, int]  # first global neuron index of each group
    syn_slice: dict[str, slice]  # columns of W of each projection
    syn_pre: dict[str, np.ndarray]  # local pre index of each synapse, CSR order
    syn_post: dict[str, np.ndarray]  # local post index of each synapse
    reward_row: dict[str, int]  # row of the reward tables of reward-modulated projections

    def group_slice(self, name: str, n: int) -> slice:
        start = self.group_start[name]
        return slice(start, start + n)


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """The frozen record of a built network (see the module docstring).

    Arguments:
        dt: time step (ms). batch: number of copies ``B``.
        neurons, drive, synapses: the arrays. layout: names to positions.
        initial: the state variables at build time ``[S_G0 + C, B, N]`` (for ``rest``).
    """

    dt: float
    batch: int
    neurons: NeuronArrays
    drive: DriveArrays
    synapses: SynapseArrays
    layout: Layout
    initial: np.ndarray

    @property
    def n_neurons(self) -> int:
        return self.initial.shape[2]

    @property
    def n_channels(self) -> int:
        return self.initial.shape[0] - E.S_G0

    @property
    def n_groups(self) -> int:
        return self.neurons.groups.shape[0]

    @property
    def n_synapses(self) -> int:
        return self.synapses.pre_local.size

    @property
    def n_rules(self) -> int:
        return self.synapses.stdp.shape[0]

    @property
    def ring_depth(self) -> int:
        """Slots of the delay ring buffer: the largest delay + 1 (1 without delays)."""
        d = self.synapses.delays
        return int(d.max()) + 1 if d.size else 1

    def with_drive(self, drive: DriveArrays) -> CompiledNetwork:
        return replace(self, drive=drive)

    def drive_rows(self, g: int) -> tuple[np.ndarray, int]:
        """The drive of group ``g`` as (``[rows, B, n]``, steps per row)."""
        tab, grp = self.drive.table[g], self.neurons.groups[g]
        n = int(grp[E.G_STOP] - grp[E.G_START])
        rows, off = int(tab[E.D_ROWS]), int(tab[E.D_OFF])
        if tab[E.D_STRIDE]:
            data = self.drive.values[off : off + rows * self.batch * n].reshape(rows, self.batch, n)
        else:
            data = np.broadcast_to(
                self.drive.values[off : off + rows, None, None], (rows, self.batch, n)
            )
        return data, int(tab[E.D_EVERY])

    def new_state(self, weights: np.ndarray) -> State:
        """The state at build time with ``weights`` ``[B, S]``: nothing refractory, traces and
        eligibility zero, no reward, no spikes in flight."""
        B, N = self.batch, self.n_neurons
        syn = self.synapses
        n_rew = syn.reward.shape[0]
        n_elig = int(syn.reward[:, E.RW_N].sum()) if n_rew else 0
        depth = self.ring_depth
        traces = (self.n_rules, E.N_TRACES, B, N)
        return State(
            X=self.initial.copy(),
            ref=np.zeros((B, N), dtype=np.int64),
            W=weights,
            trX=np.zeros(traces),
            trY=np.zeros(traces),
            acc=np.zeros((depth, E.ACC_CH0 + self.n_channels, B, N if depth > 1 else 0)),
            elig=np.zeros((B, n_elig)),
            escale=np.ones((n_rew, B)),
            level=np.zeros((n_rew, B)),
            gen_ptr=np.zeros(1, dtype=np.int64),
        )


def pack_drive(parts: list[tuple[np.ndarray, int]]) -> DriveArrays:
    """Pack per-group drives (``[rows, B, n]``, steps per row) into :class:`DriveArrays`; a drive
    uniform over neurons and copies keeps one value per row."""
    table = np.zeros((len(parts), E.N_DRIVE_COLS), dtype=np.int64)
    off, flat = 0, []
    for g, (rows, every) in enumerate(parts):
        uniform = bool(np.all(rows == rows[:, :1, :1]))
        data = rows[:, 0, 0] if uniform else rows.ravel()
        table[g, [E.D_OFF, E.D_ROWS, E.D_EVERY, E.D_STRIDE]] = (
            off,
            rows.shape[0],
            every,
            not uniform,
        )
        flat.append(data)
        off += data.size
    return DriveArrays(table, np.concatenate(flat) if flat else np.zeros(0))
