"""The PyTorch engine: the same flattened network as :mod:`spikeflow.sim.engine`, on a torch device.

Selected by ``Network(..., device="cuda")`` (or ``"auto"`` on a machine with a GPU, ``"cuda:K"``;
``"cpu-torch"`` runs it on CPU tensors, for tests; see :func:`torch_device`). It implements
:class:`spikeflow.sim.recording.Engine` on the same
:class:`~spikeflow.sim.compiled.CompiledNetwork` as the numba engine (parameters,
exact-integration coefficients, weights, delays, drives; uploaded once by
:class:`~spikeflow.sim.torch_tables.DeviceTables`), so both engines integrate the same model with
the same coefficients, in float64 and in the same floating-point order of operations.

One Python iteration per step, each a handful of whole-network tensor operations:

1. every run of consecutive groups of the same kind integrates and tests its threshold
   (vectorised over neurons and copies); Poisson groups draw from a torch generator on the
   device; spike generators' spikes of the step are set from indices known on the host;
2. all synapses at once: ``W * spike[pre]`` is added (``index_add_``) into a ring buffer
   ``[B, D, ACC_CH0 + channels, N]`` at slot ``(t + delay) % D`` (``D`` = max delay + 1);
3. STDP (when the network has plastic synapses and the run is plastic), over all plastic
   synapses at once and in the numba engine's order: traces decay by one step before step 2;
   after it, synapses whose presynaptic neuron spiked are depressed
   (``w - y1[post] * (a2- + a3- * x2[pre])``, times ``w - w_min`` when multiplicative), then
   those whose postsynaptic neuron spiked are potentiated (``w + x1[pre] * (a2+ + a3+ *
   y2[post])``, times ``w_max - w`` when multiplicative), each clipped to ``[w_min, w_max]``,
   with the traces of before this step's spikes; then the traces of spiking neurons are bumped
   (``+1``, or set to 1 with nearest-spike pairing). Step 2 uses the weights of before step 3;
4. the slot of the step is delivered into the channels (and into ``v`` of non-refractory
   neurons) and cleared; this equals the numba engine's direct delivery of delay-0 synapses;
5. monitors write into preallocated device buffers (spikes bit-packed every 256 steps).

Nothing in the loop waits for the device: the recorded spikes, rows and counts are copied to the
host once at the end of :meth:`TorchEngine.run`, and the state goes back into the
:class:`~spikeflow.sim.compiled.State`'s numpy arrays, and so do the weights and traces of plastic
synapses (so ``state``, ``set_state``, ``weights``, ``set_weights``, ``set_drive`` and ``rest``
work as with the numba engine; each run uploads the state, weights and traces again).

Differences from the numba engine: Poisson spikes come from torch's generator (seeded from the
network's seed and run count, reproducible on one device, not equal to numba's draws); synaptic
inputs arriving in the same step are summed in another order (results agree to rounding, and
exactly when the sums are exact); on CUDA, ``index_add_`` sums in a non-deterministic order.
Reward-modulated STDP is not supported: :class:`TorchEngine` raises.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from spikeflow.device import DEVICES, resolve_device
from spikeflow.errors import UserError
from spikeflow.sim import layout as E
from spikeflow.sim.compiled import CompiledNetwork, State
from spikeflow.sim.monitors import StateMonitor
from spikeflow.sim.recording import Recording, RecordPlan, state_rows
from spikeflow.sim.torch_tables import DeviceTables, Segment

CPU_TORCH = "cpu-torch"
_CHUNK = 256  # steps of spikes kept unpacked on the device before bit-packing
_BITS = 8  # spikes per byte of the packed recording
_UNPACK_STEPS = 4096  # steps unpacked at once on the host


def torch_device(device: str | None) -> torch.device | None:
    """The torch device for ``Network(device=...)``, or ``None`` for the numba engine.

    The names are those of :data:`spikeflow.device.DEVICES`, resolved by
    :func:`spikeflow.device.resolve_device` (the resolver training and conversion use), with the
    simulator's own meanings: ``None`` and ``"cpu"`` select the numba engine; ``"auto"`` the
    PyTorch engine on CUDA when PyTorch sees a GPU, else the numba engine; ``"cuda"`` (or
    ``"cuda:K"``) the PyTorch engine on that GPU (a :class:`UserError` without one);
    ``"cpu-torch"`` the PyTorch engine on CPU tensors.
    """
    if device is None or device == "cpu":
        return None
    if device == CPU_TORCH:
        return torch.device("cpu")
    base, colon, index = str(device).partition(":")
    if base not in DEVICES or (colon and (base != "cuda" or not index.isdigit())):
        raise UserError(
            f"device={device!r} is not valid; expected None, 'auto', 'cpu' (numba engine), "
            f"'{CPU_TORCH}', 'cuda' or 'cuda:K'"
        )
    dev = resolve_device(base)
    if dev.type == "cpu":
        return None
    return torch.device("cuda", int(index)) if colon else dev


class TorchEngine:
    """Runs a compiled network on ``device`` (see the module docstring); its device tables are
    made on the first run and again when the network's record changes."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.tables: DeviceTables | None = None

    def _tables(self, compiled: CompiledNetwork) -> DeviceTables:
        tab = self.tables
        if (
            tab is None
            or tab.neurons is not compiled.neurons
            or tab.synapses is not compiled.synapses
        ):
            tab = self.tables = DeviceTables(compiled, self.device)
        return tab

    @staticmethod
    def _drives(compiled: CompiledNetwork, tab: DeviceTables):
        """(constant drive ``[B, N]``, [(slice, rows ``[S, B, n]``, every)] for time-varying)."""
        base = np.zeros((tab.B, tab.N))
        timed = []
        for g, grp in enumerate(compiled.neurons.groups):
            s = slice(int(grp[E.G_START]), int(grp[E.G_STOP]))
            rows, every = compiled.drive_rows(g)
            base[:, s] = rows[0]
            if rows.shape[0] > 1:
                timed.append((s, tab.tensor(rows), every))
        return tab.tensor(base), timed

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
        """See :meth:`spikeflow.sim.recording.Engine.run` (``reward`` has no rows here)."""
        tab = self._tables(compiled)
        t, dev = tab.tensor, self.device
        B, N, C, D, dt = tab.B, tab.N, tab.C, tab.D, compiled.dt
        f64 = torch.float64
        X, ref, W = t(state.X), t(state.ref), t(state.W)
        plastic = plastic and tab.K > 0
        if plastic:  # traces [B, K, N_TRACES, N] on the device
            trX = t(state.trX).permute(2, 0, 1, 3).contiguous()
            trY = t(state.trY).permute(2, 0, 1, 3).contiguous()
        acc = torch.zeros((B, D, E.ACC_CH0 + C, N), dtype=f64, device=dev)
        if D > 1:
            acc.copy_(t(state.acc).permute(2, 0, 1, 3))
        acc_flat = acc.view(B, -1)
        drv0, timed = self._drives(compiled, tab)
        gen = torch.Generator(device=dev)
        gen.manual_seed(seed)
        # spikes of a step: [B, N + 1], the last column always False (padding of recordings)
        spk = torch.zeros((B, N + 1), dtype=torch.bool, device=dev)
        rec_idx = np.flatnonzero(plan.spikes)
        n_rec = rec_idx.size
        n_pad = -(-n_rec // _BITS) * _BITS
        rec_t = t(np.concatenate([rec_idx, np.full(n_pad - n_rec, N)]))
        chunk = torch.zeros((_CHUNK, B, n_pad), dtype=torch.bool, device=dev)
        packed = torch.zeros((n_steps, B, n_pad // _BITS), dtype=torch.uint8, device=dev)
        pow2 = torch.tensor([1 << k for k in range(_BITS)], dtype=torch.uint8, device=dev)
        n_groups = compiled.n_groups
        counts = torch.zeros((n_steps if plan.counts else 0, B, n_groups), dtype=torch.int32,
                             device=dev)  # fmt: skip
        mon_rows: list[tuple[int, int, torch.Tensor]] = []
        mon_bufs: list[torch.Tensor] = []
        for k, m in enumerate(state_monitors):
            idx = t(plan.indices[plan.table[k, E.M_IDX_OFF] :][: m.indices.size])
            mon_rows.append((int(plan.table[k, E.M_VAR]), m.every, idx))
            rows = state_rows(t0, n_steps, m.every).size
            mon_bufs.append(torch.zeros((rows, B, m.indices.size), dtype=f64, device=dev))
        mon_next = [0] * len(mon_rows)
        gen_steps = compiled.neurons.gen_steps
        lo = np.searchsorted(gen_steps, np.arange(t0, t0 + n_steps + 1), side="left")
        stride = (E.ACC_CH0 + C) * N

        def flush(end: int) -> None:
            k = (end - 1) % _CHUNK + 1
            bits = chunk[:k].view(k, B, n_pad // _BITS, _BITS).to(torch.uint8) * pow2
            packed[end - k : end] = bits.sum(-1, dtype=torch.uint8)

        for it in range(n_steps):
            ta = t0 + it
            drv = drv0
            if timed:
                drv = drv0.clone()
                for s, rows, every in timed:
                    drv[:, s] = rows[min(ta // every, rows.shape[0] - 1)]
            spk.zero_()
            for seg in tab.segments:
                self._update(tab, seg, X, ref, drv, spk, gen, dt)
            if lo[it + 1] > lo[it]:
                spk[:, tab.gen_idx[lo[it] : lo[it + 1]]] = True
            if plastic:
                trX.mul_(tab.dx)
                trY.mul_(tab.dy)
            if tab.n_syn:
                contrib = spk[:, :N].index_select(1, tab.pre).to(f64).mul_(W)
                tgt = tab.tgt0
                if D > 1:
                    tgt = tgt + torch.remainder(tab.delays + ta, D) * stride
                acc_flat.index_add_(1, tgt, contrib)
                slot = acc[:, ta % D]
                if tab.to_ch:
                    X[E.S_G0 :] += slot[:, E.ACC_CH0 :].transpose(0, 1)
                if tab.to_v:
                    X[E.S_V] += torch.where(ref == 0, slot[:, E.ACC_V], 0.0)
                slot.zero_()
            if plastic:
                self._stdp_step(tab, spk[:, :N], W, trX, trY)
            if n_rec:
                torch.index_select(spk, 1, rec_t, out=chunk[it % _CHUNK])
                if (it + 1) % _CHUNK == 0:
                    flush(it + 1)
            if plan.counts:
                counts[it].index_add_(1, tab.neuron_group, spk[:, :N].to(torch.int32))
            for j, (var, every, idx) in enumerate(mon_rows):
                if ta % every == 0:
                    torch.index_select(X[var], 1, idx, out=mon_bufs[j][mon_next[j]])
                    mon_next[j] += 1
        if n_rec and n_steps % _CHUNK:
            flush(n_steps)
        # back to the host, once
        state.X[:] = X.cpu().numpy()
        state.ref[:] = ref.cpu().numpy()
        if plastic:
            state.W[:] = W.cpu().numpy()
            state.trX[:] = trX.permute(1, 2, 0, 3).cpu().numpy()
            state.trY[:] = trY.permute(1, 2, 0, 3).cpu().numpy()
        if D > 1:
            state.acc[:] = acc.permute(1, 2, 0, 3).cpu().numpy()
        state.gen_ptr[0] = lo[-1]
        empty = np.zeros(0, dtype=np.int64)
        spikes: tuple[np.ndarray, np.ndarray, np.ndarray] = (empty, empty, empty)
        if n_rec:
            spikes = self._spikes(packed.cpu().numpy(), rec_idx, t0)
        counts_np = counts.permute(0, 2, 1).cpu().numpy()
        if not plan.counts:
            counts_np = np.zeros((n_steps, n_groups, B), dtype=np.int32)
        states = {m: b.cpu().numpy() for m, b in zip(state_monitors, mon_bufs, strict=True)}
        return Recording(t0, n_steps, *spikes, counts_np, states)

    @staticmethod
    def _stdp_step(tab: DeviceTables, spk, W, trX, trY) -> None:
        """Depression on presynaptic spikes, then potentiation on postsynaptic spikes, then the
        trace bumps (the numba engine's ``_propagate``, ``_potentiate`` and ``_traces``, over all
        plastic synapses at once, with the same floating-point operations). ``spk`` ``[B, N]``;
        ``W`` ``[B, S]``, ``trX`` and ``trY`` ``[B, K, 2, N]`` are updated in place."""
        par, mult = tab.sp_par, tab.sp_mult
        x, y = trX.view(spk.shape[0], -1), trY.view(spk.shape[0], -1)
        lo, hi = par["wmin"], par["wmax"]
        w = W if tab.sp_all else W.index_select(1, tab.sp_cols)
        dep = y.index_select(1, tab.sp_y[E.TR_FAST]) * (
            par["a2m"] + par["a3m"] * x.index_select(1, tab.sp_x[E.TR_SLOW])
        )
        if mult is not None:
            dep = torch.where(mult, dep * (w - lo), dep)
        w = torch.where(spk.index_select(1, tab.sp_pre), torch.clamp(w - dep, lo, hi), w)
        pot = x.index_select(1, tab.sp_x[E.TR_FAST]) * (
            par["a2p"] + par["a3p"] * y.index_select(1, tab.sp_y[E.TR_SLOW])
        )
        if mult is not None:
            pot = torch.where(mult, pot * (hi - w), pot)
        w = torch.where(spk.index_select(1, tab.sp_post), torch.clamp(w + pot, lo, hi), w)
        if tab.sp_all:
            W.copy_(w)
        else:
            W.index_copy_(1, tab.sp_cols, w)
        for tr, mask in ((trX, tab.pre_mask), (trY, tab.post_mask)):
            hit = spk[:, None, None, :] & mask
            tr.copy_(torch.where(hit, torch.where(tab.nearest, 1.0, tr + 1.0), tr))

    @staticmethod
    def _spikes(
        packed: np.ndarray, rec_idx: np.ndarray, t0: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bit-packed ``[T, B, bytes]`` -> (steps, copies, global indices), sorted like numba's."""
        out: tuple[list[np.ndarray], ...] = ([], [], [])
        for s0 in range(0, packed.shape[0], _UNPACK_STEPS):
            bits = np.unpackbits(packed[s0 : s0 + _UNPACK_STEPS], axis=-1, bitorder="little")
            t, b, k = np.nonzero(bits[..., : rec_idx.size])
            for lst, a in zip(out, (t + t0 + s0, b, rec_idx[k]), strict=True):
                lst.append(a.astype(np.int64))
        steps, copies, index = (np.concatenate(a) for a in out)
        return steps, copies, index

    def _update(self, tab: DeviceTables, seg: Segment, X, ref, drv, spk, gen, dt: float) -> None:
        """One step of the neurons ``seg.start:seg.stop`` (the numba engine's update, vectorised
        over neurons and copies, in the same order of floating-point operations)."""
        s = slice(seg.start, seg.stop)
        d = drv[:, s]
        if seg.kind == E.KIND_POISSON:
            u = torch.rand(d.shape, generator=gen, dtype=torch.float64, device=self.device)
            spk[:, s] = u < d * (dt * 1e-3)
            return
        P, decay, coup, erev = tab.P, tab.decay, tab.coupling, tab.erev
        g = [X[E.S_G0 + c, :, s] for c in range(seg.nch)]
        v = X[E.S_V, :, s]
        if seg.kind == E.KIND_IZHIKEVICH:
            u = X[E.S_U, :, s]
            cur = d
            for c in range(seg.nch):
                cur = cur + g[c]
                g[c].mul_(decay[c, :, s])
            vn = v + dt * ((0.04 * v * v + 5.0 * v + 140.0 - u) + cur)
            un = u + dt * P[E.P_IZ_A, :, s] * (P[E.P_IZ_B, :, s] * v - u)
            fire = vn >= 30.0
            v.copy_(torch.where(fire, P[E.P_IZ_C, :, s], vn))
            u.copy_(torch.where(fire, un + P[E.P_IZ_D, :, s], un))
            spk[:, s] = fire
            return
        if seg.kind == E.KIND_ADLIF:
            w, cur = X[E.S_U, :, s], d
            for c in range(seg.nch):
                cur = cur + g[c]
                g[c].mul_(decay[c, :, s])
            beta, th = P[E.P_AD_BETA, :, s], P[E.P_V_TH, :, s]
            un = beta * v + (1.0 - beta) * (cur - w)
            wn = P[E.P_AD_RHO, :, s] * w + P[E.P_AD_A, :, s] * un
            fire = un - th >= 0
            v.copy_(torch.where(fire, un - th, un))
            w.copy_(torch.where(fire, wn + P[E.P_AD_B, :, s], wn))
            spk[:, s] = fire
            return
        vr = P[E.P_V_REST, :, s]
        if seg.kind == E.KIND_LIF:
            vn = vr + (v - vr) * P[E.P_DECAY_M, :, s] + d * tab.one_minus_dm[:, s]
            for c in range(seg.nch):
                vn = vn + g[c] * coup[c, :, s]
        else:
            gt, num = 1.0, vr + d
            for c in range(seg.nch):
                gt = gt + g[c]
                num = num + g[c] * erev[c, :, s]
            v_inf = num / gt
            vn = v_inf + (v - v_inf) * torch.exp(-dt * gt / P[E.P_TAU_M, :, s])
        for c in range(seg.nch):
            g[c].mul_(decay[c, :, s])
        r = ref[:, s]
        free = r <= 0
        held = torch.where(free, vn, v)
        r_next = torch.where(free, r, r - 1)
        if seg.adapt:
            theta = X[E.S_THETA, :, s] * P[E.P_THETA_DECAY, :, s]
            fire = free & (vn >= P[E.P_V_TH, :, s] + theta)
            X[E.S_THETA, :, s] = torch.where(fire, theta + P[E.P_THETA_JUMP, :, s], theta)
        else:
            fire = held >= P[E.P_V_TH, :, s]
        v.copy_(torch.where(fire, P[E.P_V_RESET, :, s], held))
        r.copy_(torch.where(fire, tab.ref_steps[:, s], r_next))
        spk[:, s] = fire
