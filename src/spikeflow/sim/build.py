"""Building a :class:`~spikeflow.sim.compiled.CompiledNetwork` from groups and synapses.

Groups are laid side by side (global neuron index = group start + local index) in the order
given; every random draw (values, connectivity, weights) comes from one generator seeded with the
network's seed, in a fixed order (groups, then each projection's synapses and weights), so the
same seed gives the same network.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from spikeflow._numba_cache import njit
from spikeflow.memory import check_fits
from spikeflow.plasticity.rstdp import RewardSTDP
from spikeflow.sim import layout as E
from spikeflow.sim.compiled import (
    CompiledNetwork,
    Layout,
    NeuronArrays,
    State,
    SynapseArrays,
    pack_drive,
)
from spikeflow.sim.connect import PROGRESS_MIN
from spikeflow.sim.groups import NeuronGroup
from spikeflow.sim.inputs import SpikeGeneratorGroup
from spikeflow.sim.memory import network_bytes
from spikeflow.sim.plastic_rows import reward_row, stdp_row
from spikeflow.sim.synapses import Synapses


def compile_network(
    groups: Sequence[NeuronGroup],
    synapses: Sequence[Synapses],
    *,
    dt: float,
    batch: int,
    seed: int,
) -> tuple[CompiledNetwork, State]:
    """Resolve every value, draw the synapses and pack all of it for the engines.

    Arguments:
        groups: the neuron groups, in order (names unique).
        synapses: the projections between them.
        dt: time step (ms). batch: number of copies ``B``. seed: seed of every random draw.

    Returns:
        The frozen record and the initial state (weights as drawn).
    """
    estimate = sum(syn.expected_count() for syn in synapses)
    n_ch = max([len(g.channels) for g in groups] + [0])
    check_fits(
        f"{estimate:.3g} synapses ({'; '.join(s.size_text() for s in synapses)}) and "
        f"{sum(g.n for g in groups)} neurons (batch={batch})",
        network_bytes(estimate, sum(g.n for g in groups), batch, n_ch),
    )
    rng = np.random.default_rng(seed)
    starts, n_total = {}, 0
    for g in groups:
        starts[g.name] = n_total
        n_total += g.n
    B = batch
    P = np.zeros((E.N_PARAMS, B, n_total))
    X = np.zeros((E.S_G0 + n_ch, B, n_total))
    ref_steps = np.zeros((B, n_total), dtype=np.int64)
    ch = np.zeros((E.N_CH_ROWS, max(n_ch, 1), B, n_total))
    tab = np.zeros((len(groups), E.N_GROUP_COLS), dtype=np.int64)
    neuron_group = np.zeros(n_total, dtype=np.int64)
    drives: list[tuple[np.ndarray, int]] = []
    gen_steps, gen_idx = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for gi, g in enumerate(groups):
        s = slice(starts[g.name], starts[g.name] + g.n)
        arrays = g.build(B, rng, dt)
        for k, v in arrays.params.items():
            P[k, :, s] = v
        for k, v in arrays.state.items():
            X[k, :, s] = v
        for c, parts in enumerate(arrays.channels):
            for r, v in enumerate(parts):
                ch[r, c, :, s] = v
        ref_steps[:, s] = arrays.ref_steps
        blocks = [P[:, :, s], ch[:, : len(g.channels), :, s], ref_steps[None, :, s]]
        uniform = all(np.all(b == b[..., :1, :1]) for b in blocks)
        adapt = np.any(P[E.P_THETA_JUMP, :, s] != 0) or np.any(X[E.S_THETA, :, s] != 0)
        tab[gi, [E.G_START, E.G_STOP, E.G_KIND, E.G_NCH]] = (
            s.start,
            s.stop,
            arrays.kind,
            len(g.channels),
        )
        tab[gi, E.G_PSTRIDE] = 0 if uniform else 1
        tab[gi, E.G_ADAPT] = int(adapt)
        neuron_group[s] = gi
        drives.append((arrays.drive, arrays.drive_every))
        if isinstance(g, SpikeGeneratorGroup):
            steps, idx = g.schedule(dt)
            gen_steps.append(steps)
            gen_idx.append(idx + s.start)
    order = np.argsort(np.concatenate(gen_steps), kind="stable")
    neurons = NeuronArrays(
        groups=tab,
        neuron_group=neuron_group,
        params=P,
        ref_steps=ref_steps,
        ch_decay=ch[E.CH_DECAY],
        ch_coupling=ch[E.CH_COUPLING],
        ch_erev=ch[E.CH_EREV],
        gen_steps=np.concatenate(gen_steps)[order],
        gen_idx=np.concatenate(gen_idx)[order],
    )
    syn_arrays, weights, layout = _synapses(synapses, starts, rng, dt, B)
    layout = Layout(tuple(g.name for g in groups), starts, *layout)
    compiled = CompiledNetwork(dt, B, neurons, pack_drive(drives), syn_arrays, layout, X)
    return compiled, compiled.new_state(weights)


def _synapses(synapses: Sequence[Synapses], starts: dict[str, int], rng, dt: float, B: int):
    """(SynapseArrays, weights [B, S], (syn_slice, syn_pre, syn_post, reward_row))."""
    proj = np.zeros((len(synapses), E.N_PROJ_COLS), dtype=np.int64)
    ptrs, pres, posts, dels, ws, cols, col_syn, rpar = ([] for _ in range(8))
    rules: list[np.ndarray] = []
    rew: list[tuple[int, int, int]] = []
    syn_slice, syn_pre, syn_post, reward_rows = {}, {}, {}, {}
    n_syn = n_ptr = n_col = n_elig = 0
    expected = sum(syn.expected_count() for syn in synapses)
    bar = tqdm(
        synapses, desc="building synapses", unit="projection", file=sys.stderr,
        disable=expected < PROGRESS_MIN, leave=False,
    )  # fmt: skip
    for p, syn in enumerate(bar):
        conn = syn.connectivity(rng)
        s = conn.pre.size
        ptr = np.zeros(syn.pre.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(conn.pre, minlength=syn.pre.n), out=ptr[1:])
        colptr = np.zeros(syn.post.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(conn.post, minlength=syn.post.n), out=colptr[1:])
        by_post = _by_post(conn.post, colptr)
        k = r = -1
        if isinstance(syn.stdp, RewardSTDP):
            r = reward_rows[syn.name] = len(rew)
            rew.append((p, s, n_elig))
            rpar.append(reward_row(syn.stdp, dt))
            n_elig += s
        if syn.stdp is not None:
            k = len(rules)
            rule = syn.stdp.rule if isinstance(syn.stdp, RewardSTDP) else syn.stdp
            rules.append(stdp_row(rule, dt))
        row = proj[p]
        row[E.J_PRE_START], row[E.J_PRE_N] = starts[syn.pre.name], syn.pre.n
        row[E.J_POST_START], row[E.J_POST_N] = starts[syn.post.name], syn.post.n
        row[E.J_PTR_OFF], row[E.J_SYN_OFF], row[E.J_COL_OFF] = n_ptr, n_syn, n_col
        row[E.J_CHANNEL], row[E.J_PLASTIC], row[E.J_REWARD] = syn.channel, k, r
        ptrs.append(ptr)
        cols.append(colptr + n_syn)
        col_syn.append(by_post + n_syn)
        pres.append(conn.pre)
        posts.append(conn.post)
        dels.append(syn.delays(conn))
        ws.append(syn.weights(conn, B, rng))
        syn_slice[syn.name] = slice(n_syn, n_syn + s)
        syn_pre[syn.name], syn_post[syn.name] = conn.pre, conn.post
        n_syn, n_ptr, n_col = n_syn + s, n_ptr + syn.pre.n + 1, n_col + syn.post.n + 1

    def cat(parts, dtype=np.int64, shape=(0,)):
        if not parts:
            return np.zeros(shape, dtype)
        return np.concatenate(parts, axis=-1).astype(dtype, copy=False)

    arrays = SynapseArrays(
        proj=proj,
        ptr=cat(ptrs),
        pre_local=cat(pres),
        post_local=cat(posts),
        delays=cat(dels),
        colptr=cat(cols),
        col_syn=cat(col_syn),
        stdp=np.array(rules, dtype=np.float64).reshape(len(rules), E.N_STDP_PARAMS),
        reward=np.array(rew, dtype=np.int64).reshape(len(rew), E.N_REWARD_COLS),
        reward_params=np.array(rpar, dtype=np.float64).reshape(len(rew), E.N_REWARD_PARAMS),
    )
    weights = np.ascontiguousarray(cat(ws, np.float64, (B, 0)))
    return arrays, weights, (syn_slice, syn_pre, syn_post, reward_rows)


@njit(cache=True)
def _by_post(post, colptr):
    """The synapses ordered by post neuron, stably (a counting sort: one pass over ``post``
    ``[S]``, with ``colptr`` ``[n_post + 1]`` the start of each post neuron's synapses)."""
    nxt = colptr[:-1].copy()
    out = np.empty(post.size, dtype=np.int64)
    for q in range(post.size):
        j = post[q]
        out[nxt[j]] = q
        nxt[j] += 1
    return out
