"""The compiled engine: advances a whole network over a stretch of steps in one numba call.

:class:`NumbaEngine` implements :class:`spikeflow.sim.recording.Engine` on the arrays of a
:class:`~spikeflow.sim.compiled.CompiledNetwork`; no Python runs per step. One step ``ta`` does,
in this order:

1. every group integrates from ``ta * dt`` to ``(ta + 1) * dt`` (see :mod:`spikeflow.sim.groups`)
   and tests its threshold; spiking neurons reset (and turn refractory); generators emit;
2. plastic synapses' traces decay by one step;
3. every spike is sent through its outgoing synapses: delay 0 adds the weight to the target now,
   delay ``d`` puts it in a ring buffer; STDP depresses on presynaptic spikes, then potentiates on
   postsynaptic spikes (with traces taken before this step's spikes), then traces are bumped;
   on reward-modulated projections the same terms go into the eligibility trace instead (which
   decayed by one step first), and the weights move by ``lr * r * e`` where the step's reward
   ``r`` (level plus schedule) is non-zero; then the reward levels decay;
4. the ring buffer slot of this step is delivered;
5. monitors record (spikes, spike counts per group, state variables every ``k`` steps).

The eligibility of a reward-modulated projection is stored as ``e / scale`` with one ``scale``
per projection and copy that carries the decay, so that a step without reward costs nothing per
synapse; the scale is folded back into the stored values when it falls below ``ELIG_RESCALE``.

Weights and state are per batch copy (axis ``B``); copies never interact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from spikeflow._numba_cache import njit
from spikeflow.sim.compiled import CompiledNetwork, State
from spikeflow.sim.layout import (
    ACC_CH0,
    ACC_V,
    ELIG_RESCALE,
    J_CHANNEL,
    J_COL_OFF,
    J_PLASTIC,
    J_POST_N,
    J_POST_START,
    J_PRE_N,
    J_PRE_START,
    J_PTR_OFF,
    J_REWARD,
    J_SYN_OFF,
    M_EVERY,
    M_IDX_OFF,
    M_NIDX,
    M_OUT_OFF,
    M_VAR,
    RP_DECAY_D,
    RP_DECAY_E,
    RP_LR,
    RW_ELIG_OFF,
    RW_N,
    RW_PROJ,
    S_G0,
    S_V,
    SP_A2M,
    SP_A2P,
    SP_A3M,
    SP_A3P,
    SP_DX1,
    SP_DX2,
    SP_DY1,
    SP_DY2,
    SP_MULT,
    SP_NEAREST,
    SP_WMAX,
    SP_WMIN,
    TARGET_V,
    TR_FAST,
    TR_SLOW,
)
from spikeflow.sim.monitors import StateMonitor
from spikeflow.sim.neuron_kernels import _update_groups
from spikeflow.sim.recording import Recording, RecordPlan, state_rows

# the spike buffer starts with room for this many spikes, or 4 steps of every recorded neuron
MIN_SPIKE_CAPACITY = 4096
SPIKE_CAPACITY_STEPS = 4


@njit(cache=True)
def seed_rng(value: int) -> None:
    """Seed numba's random generator (used by Poisson groups)."""
    np.random.seed(value)


@njit(cache=True, inline="always")
def _bump(trace, nearest):
    return 1.0 if nearest > 0.5 else trace + 1.0


@njit(cache=True, inline="always")
def _clip(w, lo, hi):
    return min(max(w, lo), hi)


@njit(cache=True)
def _propagate(
    ta, plastic_on, X, ref, proj, ptr, post_local, delays, W, stdp, trX, trY, acc, spiked, nspk,
    rew, elig, escale,
):  # fmt: skip
    D = acc.shape[0]
    for b in range(X.shape[1]):
        for s in range(nspk[b]):
            i = spiked[b, s]
            for p in range(proj.shape[0]):
                pre_start = proj[p, J_PRE_START]
                if i < pre_start or i >= pre_start + proj[p, J_PRE_N]:
                    continue
                li = i - pre_start
                ch, k, rw = proj[p, J_CHANNEL], proj[p, J_PLASTIC], proj[p, J_REWARD]
                off, soff, post_start = (
                    proj[p, J_PTR_OFF],
                    proj[p, J_SYN_OFF],
                    proj[p, J_POST_START],
                )
                eoff = rew[rw, RW_ELIG_OFF] - soff if rw >= 0 else 0
                for q in range(ptr[off + li], ptr[off + li + 1]):
                    kk = soff + q
                    j = post_start + post_local[kk]
                    w = W[b, kk]
                    d = delays[kk]
                    if d > 0:
                        acc[(ta + d) % D, ACC_CH0 + ch, b, j] += w
                    elif ch == TARGET_V:
                        if ref[b, j] == 0:
                            X[S_V, b, j] += w
                    else:
                        X[S_G0 + ch, b, j] += w
                    if plastic_on and k >= 0:
                        dep = trY[k, TR_FAST, b, j] * (
                            stdp[k, SP_A2M] + stdp[k, SP_A3M] * trX[k, TR_SLOW, b, i]
                        )
                        if rw >= 0:
                            elig[b, kk + eoff] -= dep / escale[rw, b]
                            continue
                        if stdp[k, SP_MULT] > 0.5:
                            dep *= w - stdp[k, SP_WMIN]
                        W[b, kk] = _clip(w - dep, stdp[k, SP_WMIN], stdp[k, SP_WMAX])


@njit(cache=True)
def _potentiate(
    proj, pre_local, W, colptr, col_syn, stdp, trX, trY, spiked, nspk, rew, elig, escale
):
    for b in range(W.shape[0]):
        for s in range(nspk[b]):
            j = spiked[b, s]
            for p in range(proj.shape[0]):
                k, post_start = proj[p, J_PLASTIC], proj[p, J_POST_START]
                if k < 0 or j < post_start or j >= post_start + proj[p, J_POST_N]:
                    continue
                lj, coff, pre_start = j - post_start, proj[p, J_COL_OFF], proj[p, J_PRE_START]
                gain = stdp[k, SP_A2P] + stdp[k, SP_A3P] * trY[k, TR_SLOW, b, j]
                rw = proj[p, J_REWARD]
                eoff = rew[rw, RW_ELIG_OFF] - proj[p, J_SYN_OFF] if rw >= 0 else 0
                for q in range(colptr[coff + lj], colptr[coff + lj + 1]):
                    kk = col_syn[q]
                    i = pre_start + pre_local[kk]
                    w = W[b, kk]
                    pot = trX[k, TR_FAST, b, i] * gain
                    if rw >= 0:
                        elig[b, kk + eoff] += pot / escale[rw, b]
                        continue
                    if stdp[k, SP_MULT] > 0.5:
                        pot *= stdp[k, SP_WMAX] - w
                    W[b, kk] = _clip(w + pot, stdp[k, SP_WMIN], stdp[k, SP_WMAX])


@njit(cache=True)
def _traces(decay_only, proj, stdp, trX, trY, spiked, nspk):
    """Decay every plastic projection's traces by one step, or bump them for this step's spikes."""
    B = trX.shape[2]
    for p in range(proj.shape[0]):
        k = proj[p, J_PLASTIC]
        if k < 0:
            continue
        a0, a1 = proj[p, J_PRE_START], proj[p, J_PRE_START] + proj[p, J_PRE_N]
        o0, o1 = proj[p, J_POST_START], proj[p, J_POST_START] + proj[p, J_POST_N]
        near = stdp[k, SP_NEAREST]
        for b in range(B):
            if decay_only:
                for i in range(a0, a1):
                    trX[k, TR_FAST, b, i] *= stdp[k, SP_DX1]
                    trX[k, TR_SLOW, b, i] *= stdp[k, SP_DX2]
                for j in range(o0, o1):
                    trY[k, TR_FAST, b, j] *= stdp[k, SP_DY1]
                    trY[k, TR_SLOW, b, j] *= stdp[k, SP_DY2]
                continue
            for s in range(nspk[b]):
                i = spiked[b, s]
                if a0 <= i < a1:
                    for r in range(trX.shape[1]):
                        trX[k, r, b, i] = _bump(trX[k, r, b, i], near)
                if o0 <= i < o1:
                    for r in range(trY.shape[1]):
                        trY[k, r, b, i] = _bump(trY[k, r, b, i], near)


@njit(cache=True)
def _decay_eligibility(rew, rpar, elig, escale):
    """Decay every reward-modulated projection's eligibility by one step (through its scale)."""
    for r in range(rew.shape[0]):
        o, n = rew[r, RW_ELIG_OFF], rew[r, RW_N]
        for b in range(escale.shape[1]):
            g = escale[r, b] * rpar[r, RP_DECAY_E]
            if g < ELIG_RESCALE:
                for q in range(o, o + n):
                    elig[b, q] *= g
                g = 1.0
            escale[r, b] = g


@njit(cache=True)
def _reward_weights(step, plastic, rew, rpar, proj, stdp, W, elig, escale, level, sched):
    """``w <- clip(w + lr * r * e)`` on every reward-modulated projection and copy whose reward of
    this step (``level`` plus ``sched[:, step]`` when a schedule is given) is non-zero, when
    ``plastic``; then the reward levels decay by one step."""
    for r in range(rew.shape[0]):
        p = rew[r, RW_PROJ]
        k, s0 = proj[p, J_PLASTIC], proj[p, J_SYN_OFF]
        lo, hi = stdp[k, SP_WMIN], stdp[k, SP_WMAX]
        o, n = rew[r, RW_ELIG_OFF], rew[r, RW_N]
        for b in range(W.shape[0]):
            rv = level[r, b]
            if sched.shape[1] > 0:
                rv += sched[r, step, b]
            if plastic and rv != 0.0:
                c = rpar[r, RP_LR] * rv * escale[r, b]
                for q in range(n):
                    W[b, s0 + q] = _clip(W[b, s0 + q] + c * elig[b, o + q], lo, hi)
            level[r, b] *= rpar[r, RP_DECAY_D]


@njit(cache=True)
def _deliver(ta, X, ref, acc):
    slot = ta % acc.shape[0]
    for c in range(acc.shape[1]):
        for b in range(acc.shape[2]):
            for j in range(acc.shape[3]):
                a = acc[slot, c, b, j]
                if a != 0.0:
                    if c == ACC_V:
                        if ref[b, j] == 0:
                            X[S_V, b, j] += a
                    else:
                        X[S_G0 + c - ACC_CH0, b, j] += a
                    acc[slot, c, b, j] = 0.0


class Buffers(NamedTuple):
    """Where :func:`run_steps` writes: kept spikes (step, copy, global index) and their number,
    spike counts ``[n_steps, G, B]``, state-monitor values (flat, see ``RecordPlan``) and rows
    written per monitor, and the spikes of the current step per copy (``spiked``, ``nspk``)."""

    spk_t: np.ndarray
    spk_b: np.ndarray
    spk_i: np.ndarray
    n_spk: np.ndarray
    counts: np.ndarray
    mon_out: np.ndarray
    mon_rows: np.ndarray
    spiked: np.ndarray
    nspk: np.ndarray


@njit(cache=True)
def run_steps(t0, done, n_steps, dt, plastic_on, nrn, drive, syn, st, sched, plan, out):
    """Advance steps ``done`` to ``n_steps`` of a run that starts at absolute step ``t0``; returns
    the number of the run's steps done.

    Fewer steps are done only when the spike buffer could overflow in the next step; the caller
    grows it and calls again. ``sched[r, it, b]`` is the scheduled reward of the run's step
    ``it`` (``sched`` has no steps when none is given). ``nrn``, ``drive``, ``syn``, ``st``,
    ``plan``, ``out``: :class:`NeuronArrays`, :class:`DriveArrays`, :class:`SynapseArrays`,
    :class:`State`, :class:`RecordPlan`, :class:`Buffers`.
    """
    X, ref, W = st.X, st.ref, st.W
    proj, stdp, rew = syn.proj, syn.stdp, syn.reward
    trX, trY, acc, elig, escale = st.trX, st.trY, st.acc, st.elig, st.escale
    gen_steps, gen_idx, gen_ptr = nrn.gen_steps, nrn.gen_idx, st.gen_ptr
    spiked, nspk, n_spk = out.spiked, out.nspk, out.n_spk
    rec_spike, n_rec, mon, mon_idx, mon_rows = (
        plan.spikes,
        plan.n_rec,
        plan.table,
        plan.indices,
        out.mon_rows,
    )
    B = X.shape[1]
    cap = out.spk_t.shape[0]
    plastic = plastic_on and stdp.shape[0] > 0
    rewarded = rew.shape[0] > 0
    for it in range(done, n_steps):
        ta = t0 + it
        if n_spk[0] + B * n_rec > cap:
            return it
        nspk[:] = 0
        _update_groups(
            ta, dt, nrn.groups, drive.table, nrn.params, X, ref, nrn.ref_steps, nrn.ch_decay,
            nrn.ch_coupling, nrn.ch_erev, drive.values, spiked, nspk,
        )  # fmt: skip
        while gen_ptr[0] < gen_steps.shape[0] and gen_steps[gen_ptr[0]] < ta:
            gen_ptr[0] += 1
        while gen_ptr[0] < gen_steps.shape[0] and gen_steps[gen_ptr[0]] == ta:
            for b in range(B):
                spiked[b, nspk[b]] = gen_idx[gen_ptr[0]]
                nspk[b] += 1
            gen_ptr[0] += 1
        if plastic:
            _traces(True, proj, stdp, trX, trY, spiked, nspk)
            if rewarded:
                _decay_eligibility(rew, syn.reward_params, elig, escale)
        _propagate(
            ta, plastic, X, ref, proj, syn.ptr, syn.post_local, syn.delays, W, stdp, trX, trY,
            acc, spiked, nspk, rew, elig, escale,
        )  # fmt: skip
        if plastic:
            _potentiate(
                proj, syn.pre_local, W, syn.colptr, syn.col_syn, stdp, trX, trY, spiked, nspk,
                rew, elig, escale,
            )  # fmt: skip
            _traces(False, proj, stdp, trX, trY, spiked, nspk)
        if rewarded:
            _reward_weights(
                it, plastic, rew, syn.reward_params, proj, stdp, W, elig, escale, st.level, sched
            )
        if acc.shape[0] > 1:
            _deliver(ta, X, ref, acc)
        for b in range(B):
            for s in range(nspk[b]):
                i = spiked[b, s]
                out.counts[it, nrn.neuron_group[i], b] += 1
                if rec_spike[i]:
                    out.spk_t[n_spk[0]], out.spk_b[n_spk[0]], out.spk_i[n_spk[0]] = ta, b, i
                    n_spk[0] += 1
        for m in range(mon.shape[0]):
            if ta % mon[m, M_EVERY] != 0:
                continue
            var, ioff, nidx = mon[m, M_VAR], mon[m, M_IDX_OFF], mon[m, M_NIDX]
            base = mon[m, M_OUT_OFF] + mon_rows[m] * B * nidx
            for b in range(B):
                for q in range(nidx):
                    out.mon_out[base + b * nidx + q] = X[var, b, mon_idx[ioff + q]]
            mon_rows[m] += 1
    return n_steps


class NumbaEngine:
    """The compiled CPU engine (:class:`spikeflow.sim.recording.Engine`)."""

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
        """See :meth:`spikeflow.sim.recording.Engine.run`."""
        B, N = compiled.batch, compiled.n_neurons
        seed_rng(seed)
        cap = max(MIN_SPIKE_CAPACITY, SPIKE_CAPACITY_STEPS * B * plan.n_rec)
        n_out = int(
            sum(state_rows(t0, n_steps, m.every).size * B * m.indices.size for m in state_monitors)
        )
        out = Buffers(
            spk_t=np.zeros(cap, dtype=np.int64),
            spk_b=np.zeros(cap, dtype=np.int64),
            spk_i=np.zeros(cap, dtype=np.int64),
            n_spk=np.zeros(1, dtype=np.int64),
            counts=np.zeros((n_steps, compiled.n_groups, B), dtype=np.int32),
            mon_out=np.zeros(n_out),
            mon_rows=np.zeros(len(state_monitors), dtype=np.int64),
            spiked=np.zeros((B, N), dtype=np.int64),
            nspk=np.zeros(B, dtype=np.int64),
        )
        done = 0
        while done < n_steps:
            done = run_steps(
                t0, done, n_steps, compiled.dt, plastic, compiled.neurons, compiled.drive,
                compiled.synapses, state, reward, plan, out,
            )  # fmt: skip
            if done < n_steps:
                grown = [np.concatenate([a, np.zeros_like(a)]) for a in out[:3]]
                out = out._replace(spk_t=grown[0], spk_b=grown[1], spk_i=grown[2])
        n = int(out.n_spk[0])
        states = {}
        for k, m in enumerate(state_monitors):
            rows = state_rows(t0, n_steps, m.every).size
            off = plan.table[k, M_OUT_OFF]
            states[m] = out.mon_out[off : off + rows * B * m.indices.size].reshape(rows, B, -1)
        return Recording(
            t0, n_steps, out.spk_t[:n], out.spk_b[:n], out.spk_i[:n], out.counts, states
        )
