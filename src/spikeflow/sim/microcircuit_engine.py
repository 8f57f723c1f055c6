"""The microcircuit's engine: ``iaf_psc_exp`` neurons on compact synapses, on every core.

One step ``t`` (NEST's order for ``iaf_psc_exp``, exact integration, ``V`` relative to ``E_L``):

1. every neuron not refractory integrates ``V <- P33 V + P31 I + P30 I_dc``; a refractory one
   counts down instead;
2. ``I <- P11 I`` plus the spikes arriving in this step (the delay ring buffer's slot ``t``)
   plus ``k * w_ext``, ``k`` its Poisson background count of the step;
3. ``V >= V_th - E_L`` spikes: ``V = V_reset - E_L``, refractory for ``round(t_ref / dt)`` steps;
4. thalamic neurons (during their pulse) emit Poisson counts; every spike of the step, in
   neuron order, is sent through its synapses: a spike at step ``t`` through a synapse of delay
   ``d`` lands in slot ``t + d``, so it acts on the integration of step ``t + d + 1``.

Steps 1-3 and the delivery of step 4 run in parallel over the fixed target parts of
:mod:`spikeflow.sim.compact` (``prange``; a part's thread updates the neurons it delivers to, see
:func:`run_steps`); the spikes of a step are sent in a fixed order (by part, then neuron), so
each target's sum is taken in the same order whatever the number of threads; random numbers
come from a counter-based hash of (seed, step, neuron); so the spikes do not depend on the thread
count. Spikes go to a file chunk by chunk
(:func:`run_to_file`), never all held in memory.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from numba import prange

from spikeflow._numba_cache import njit
from spikeflow.sim.compact import PART_BLOCK
from spikeflow.sim.microcircuit import Microcircuit

CHUNK_STEPS = 1000  # steps per engine call; spikes reach the file after each call
SPIKE_DTYPE = np.dtype([("step", np.int32), ("neuron", np.int32)])
_MASK64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """splitmix64's finaliser on a Python int (the engine's seed is mixed with it once)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@njit(cache=True, inline="always")
def _uniform(key, t, j):
    """A uniform number in [0, 1) from (``key``, step ``t``, index ``j``): splitmix64 of the three."""
    z = key ^ ((np.uint64(t) << np.uint64(32)) | np.uint64(j))
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def poisson_cdf(lam: np.ndarray) -> np.ndarray:
    """The CDF of Poisson(``lam[g]``) at ``0, 1, ...`` ``[G, K]``, up to where its tail is below
    1e-15 (the last column is set to 1).

    Arguments:
        lam: mean counts ``[G]``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    k_max = int(np.max(lam, initial=0.0) + 12.0 * np.sqrt(np.max(lam, initial=0.0)) + 20.0)
    p = np.exp(-lam)[:, None] * np.ones(k_max)
    for k in range(1, k_max):
        p[:, k] = p[:, k - 1] * lam / k
    cdf = np.cumsum(p, axis=1)
    cdf[:, -1] = 1.0
    return cdf


@njit(cache=True, inline="always")
def _poisson(u, cdf):
    """The Poisson count whose CDF (the row ``cdf``) first reaches ``u`` (inversion)."""
    k = 0
    while u > cdf[k]:
        k += 1
    return k


@njit(cache=True, inline="always")
def _deliver(part, slot, spk, mult, n, part_ptr, post, weight, delay, acc):
    """Add the ``n`` spikes ``spk`` (of the step whose ring slot is ``slot``) to the targets of
    ``part``: a synapse of delay ``d`` lands in slot ``slot + d``."""
    D = acc.shape[0]
    for s in range(n):
        i = spk[s]
        m = mult[s]
        for q in range(part_ptr[i, part], part_ptr[i, part + 1]):
            a = slot + delay[q]
            if a >= D:
                a -= D
            acc[a, post[q]] += m * weight[q]


@njit(cache=True, parallel=True)
def run_steps(
    t0, n_steps, key, V, I, ref, acc, pop, prop, cdf, dc, th, part_ptr, post, weight, delay,
    spk, mult, part_spk, part_n, out_step, out_idx,
):  # fmt: skip
    """Advance steps ``t0 .. t0 + n_steps - 1``; returns the number of spikes written to
    ``out_step``/``out_idx`` (sized for the most the refractory period allows; within a step,
    by neuron).

    One parallel region per step, over the target parts: each part first takes the previous
    step's spikes into its targets' ring slots (every delay is at least one step, so nothing
    lands in a slot already read), then updates its own neurons (those of its blocks), which
    read only their own slots. The last step's spikes are delivered before returning.

    ``prop`` = (P33, P31, P30, P11, theta, v_reset, ref_steps, w_ext) (relative to E_L);
    ``cdf``: per population the CDF of its background count per step (:func:`poisson_cdf`), and
    last the thalamic neurons'; ``dc``: DC current per population (pA); ``pop`` int ``[N]``;
    ``th`` = (first thalamic index, count, first step, last step + 1).
    """
    N = V.size
    D = acc.shape[0]
    parts = part_ptr.shape[1] - 1
    n_blk = -(-N // PART_BLOCK)
    p33, p31, p30, p11 = prop[0], prop[1], prop[2], prop[3]
    theta, v_reset, w_ext = prop[4], prop[5], prop[7]
    ref_steps = int(prop[6])
    th0, n_th, th_a, th_z = th[0], th[1], th[2], th[3]
    th_cdf = cdf[cdf.shape[0] - 1]
    n_out = 0
    n = 0
    for it in range(n_steps):
        t = t0 + it
        slot = t % D
        prev = (t - 1) % D
        for part in prange(parts):
            _deliver(part, prev, spk, mult, n, part_ptr, post, weight, delay, acc)
            c = 0
            for blk in range(part, n_blk, parts):
                for j in range(blk * PART_BLOCK, min(N, (blk + 1) * PART_BLOCK)):
                    g = pop[j]
                    if ref[j] == 0:
                        V[j] = p33 * V[j] + p31 * I[j] + p30 * dc[g]
                    else:
                        ref[j] -= 1
                    k = _poisson(_uniform(key, t, j), cdf[g])
                    I[j] = p11 * I[j] + acc[slot, j] + k * w_ext
                    acc[slot, j] = 0.0
                    if V[j] >= theta:
                        V[j] = v_reset
                        ref[j] = ref_steps
                        part_spk[part, c] = j
                        c += 1
            part_n[part] = c
        n = 0
        for part in range(parts):
            for q in range(part_n[part]):
                spk[n] = part_spk[part, q]
                mult[n] = 1.0
                n += 1
        out_step[n_out : n_out + n] = t
        out_idx[n_out : n_out + n] = np.sort(spk[:n])
        n_out += n
        if th_a <= t < th_z:
            for r in range(n_th):
                k = _poisson(_uniform(key, t, th0 + r), th_cdf)
                if k > 0:
                    spk[n] = th0 + r
                    mult[n] = k
                    n += 1
    last = (t0 + n_steps - 1) % D
    for part in prange(parts):
        _deliver(part, last, spk, mult, n, part_ptr, post, weight, delay, acc)
    return n_out


class MicrocircuitState:
    """What a run changes: membrane potentials, currents, refractory counters, ring buffer."""

    def __init__(self, net: Microcircuit) -> None:
        spec = net.spec
        self.V = net.v0 - spec.e_l
        self.I = np.zeros(spec.n_neurons)
        self.ref = np.zeros(spec.n_neurons, dtype=np.int32)
        depth = int(net.synapses.delay.max()) + 1 if net.synapses.n else 1
        self.acc = np.zeros((depth, spec.n_neurons))
        self.t = 0


def _tables(net: Microcircuit):
    """The engine's constants: (prop, pop, cdf, dc, th)."""
    s = net.spec
    h = s.dt
    p33 = math.exp(-h / s.tau_m)
    p11 = math.exp(-h / s.tau_syn)
    p31 = s.tau_m * s.tau_syn / (s.c_m * (s.tau_m - s.tau_syn)) * (p33 - p11)
    p30 = s.tau_m / s.c_m * (1.0 - p33)
    ref_steps = round(s.t_ref / h)
    prop = np.array([p33, p31, p30, p11, s.v_th - s.e_l, s.v_reset - s.e_l, ref_steps, s.w_ext])
    pop = np.repeat(np.arange(s.n.size, dtype=np.int32), s.n)
    lam = np.append(s.bg_rate * s.k_ext * h * 1e-3, s.th_rate * h * 1e-3)
    th_a = round(s.th_start / h)
    th = np.array([s.n_neurons, s.n_th, th_a, th_a + round(s.th_duration / h)], dtype=np.int64)
    return prop, pop, poisson_cdf(lam), s.dc.astype(np.float64), th


def run_to_file(
    net: Microcircuit, state: MicrocircuitState, n_steps: int, seed: int, handle
) -> int:
    """Run ``n_steps`` steps, appending every spike to the binary ``handle`` as
    :data:`SPIKE_DTYPE` records (step, neuron), chunk by chunk; returns the number of spikes.

    Arguments:
        net: the network. state: its state (advanced in place). n_steps: steps to run.
        seed: seed of the Poisson draws. handle: an open binary file.
    """
    prop, pop, cdf, dc, th = _tables(net)
    syn = net.synapses
    N = net.spec.n_neurons
    ref_steps = int(prop[6])
    parts = syn.part_ptr.shape[1] - 1
    n_src = syn.part_ptr.shape[0]
    spk = np.zeros(n_src, dtype=np.int64)
    mult = np.zeros(n_src)
    per_part = -(-N // (PART_BLOCK * parts)) * PART_BLOCK
    part_spk = np.zeros((parts, per_part), dtype=np.int64)
    part_n = np.zeros(parts, dtype=np.int64)
    key = np.uint64(mix64(seed))
    total = 0
    done = 0
    while done < n_steps:
        m = min(CHUNK_STEPS, n_steps - done)
        cap = N * -(-m // (ref_steps + 1))
        out_step = np.empty(cap, dtype=np.int32)
        out_idx = np.empty(cap, dtype=np.int32)
        n = run_steps(
            state.t, m, key, state.V, state.I, state.ref, state.acc, pop, prop, cdf, dc, th,
            syn.part_ptr, syn.post, syn.weight, syn.delay, spk, mult, part_spk, part_n, out_step,
            out_idx,
        )  # fmt: skip
        rec = np.empty(n, dtype=SPIKE_DTYPE)
        rec["step"], rec["neuron"] = out_step[:n], out_idx[:n]
        handle.write(rec.tobytes())
        total += n
        state.t += m
        done += m
    return total


def write_npy_from_raw(raw: Path, handle, n_records: int) -> None:
    """Write an ``.npy`` of ``n_records`` :data:`SPIKE_DTYPE` records to ``handle``, copying the
    raw records of the file ``raw`` block by block (no full copy in memory)."""
    np.lib.format.write_array_header_1_0(
        handle,
        {"descr": np.lib.format.dtype_to_descr(SPIKE_DTYPE), "fortran_order": False,
         "shape": (n_records,)},
    )  # fmt: skip
    with open(raw, "rb") as src:
        while block := src.read(1 << 24):
            handle.write(block)
    if os.path.getsize(raw) != n_records * SPIKE_DTYPE.itemsize:
        raise RuntimeError(f"{raw} does not hold {n_records} spike records")
