"""The PyTorch engine: the same flattened network as :mod:`spikeflow.sim.engine`, on a torch device.

Selected by ``Network(..., device="cuda")`` (any torch device string; ``"cpu-torch"`` runs it on
CPU tensors, for tests). It reads the arrays :class:`~spikeflow.sim.Network` builds (parameters,
exact-integration coefficients, weights, delays, drives), so both engines integrate the same
model with the same coefficients, in float64 and in the same floating-point order of operations.

One Python iteration per step, each a handful of whole-network tensor operations:

1. every run of consecutive groups of the same kind integrates and tests its threshold
   (vectorised over neurons and copies); Poisson groups draw from a torch generator on the
   device; spike generators' spikes of the step are set from indices known on the host;
2. all synapses at once: ``W * spike[pre]`` is added (``index_add_``) into a ring buffer
   ``[B, D, channels + 1, N]`` at slot ``(t + delay) % D`` (``D`` = max delay + 1);
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
host once at the end of :meth:`TorchEngine.run`, and the network state goes back into the
network's numpy arrays, and so do the weights and traces of plastic synapses (so ``state``,
``set_state``, ``weights``, ``set_weights``, ``set_drive`` and ``rest`` work as with the numba
engine; each run uploads the state, weights and traces again).

Differences from the numba engine: Poisson spikes come from torch's generator (seeded from the
network's seed and run count, reproducible on one device, not equal to numba's draws); synaptic
inputs arriving in the same step are summed in another order (results agree to rounding, and
exactly when the sums are exact); on CUDA, ``index_add_`` sums in a non-deterministic order.
Reward-modulated STDP is not supported: :class:`TorchEngine` raises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeflow.errors import UserError
from spikeflow.sim import layout as E
from spikeflow.sim.monitors import PopulationRateMonitor

CPU_TORCH = "cpu-torch"
_CHUNK = 256  # steps of spikes kept unpacked on the device before bit-packing


def torch_device(device: str | None):
    """The torch device for ``Network(device=...)``, or ``None`` for the numba engine.

    ``None`` and ``"cpu"`` select the numba engine; ``"cpu-torch"`` the torch engine on CPU
    tensors; any other torch device string (``"cuda"``, ``"cuda:1"``) the torch engine there.
    """
    if device is None or device == "cpu":
        return None
    import torch

    if device == CPU_TORCH:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(
            f"device={device!r} is not a torch device; expected None, 'cpu' (numba engine), "
            f"'{CPU_TORCH}' or a torch device such as 'cuda'"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"device={device!r} but torch.cuda.is_available() is False; expected a machine with "
            f"a GPU, or device=None (numba engine) or '{CPU_TORCH}'"
        )
    return dev


@dataclass
class _Segment:
    """Consecutive groups with the same kind, channel count and adaptivity: one update."""

    start: int
    stop: int
    kind: int
    nch: int
    adapt: bool


class TorchEngine:
    """Runs a built :class:`~spikeflow.sim.Network` on ``device`` (see the module docstring)."""

    def __init__(self, net, device) -> None:
        import torch

        rewarded = [s.name for p, s in enumerate(net.synapses) if net.proj[p, E.J_REWARD] >= 0]
        if rewarded:
            raise UserError(
                f"synapses {rewarded} use reward-modulated STDP (stdp=RewardSTDP(...)); "
                "reward-modulated synapses run on the CPU engine only (device=None)"
            )
        self.net, self.device, self.torch = net, device, torch
        tab = net.groups_tab
        self.segments: list[_Segment] = []
        for g in range(tab.shape[0]):
            kind = int(tab[g, E.G_KIND])
            if kind == E.KIND_GENERATOR:
                continue
            seg = _Segment(int(tab[g, E.G_START]), int(tab[g, E.G_STOP]), kind,
                           int(tab[g, E.G_NCH]), bool(tab[g, E.G_ADAPT]))  # fmt: skip
            last = self.segments[-1] if self.segments else None
            if last and last.stop == seg.start and (last.kind, last.nch, last.adapt) == (
                seg.kind, seg.nch, seg.adapt,
            ):  # fmt: skip
                last.stop = seg.stop
            else:
                self.segments.append(seg)
        t = self._t
        self.P, self.ch = t(net.P), t(net.ch)
        self.one_minus_dm = 1.0 - self.P[E.P_DECAY_M]
        self.ref_steps = t(net.ref_steps)
        self.neuron_group = t(net.neuron_group)
        self.gen_idx = t(net.gen_idx)
        B, N = net.X.shape[1], net.X.shape[2]
        self.B, self.N, self.C = B, N, net.X.shape[0] - E.S_G0
        # synapses: global pre index and ring-buffer target (without the slot) of every synapse
        pre, post_g, rule, tgt, to_v, to_ch = [], [], [], [], False, False
        for p in range(net.proj.shape[0]):
            j0, s0 = net.proj[p, E.J_SYN_OFF], net.proj[p, E.J_PRE_START]
            n = (net.ptr[net.proj[p, E.J_PTR_OFF] + net.proj[p, E.J_PRE_N]]
                 - net.ptr[net.proj[p, E.J_PTR_OFF]])  # fmt: skip
            ch = int(net.proj[p, E.J_CHANNEL])
            to_v, to_ch = to_v or ch == E.TARGET_V, to_ch or ch != E.TARGET_V
            pre.append(s0 + net.pre_local[j0 : j0 + n])
            post = net.proj[p, E.J_POST_START] + net.post_local[j0 : j0 + n]
            post_g.append(post)
            rule.append(np.full(n, net.proj[p, E.J_PLASTIC], dtype=np.int64))
            tgt.append((ch + 1) * N + post)
        self.n_syn = net.W.shape[1]

        def cat(parts):
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        pre, post_g = cat(pre), cat(post_g)
        self.pre = t(pre)
        self.tgt0 = t(cat(tgt))
        self.delays = t(net.delays)
        self.D = net.acc.shape[0]
        self.to_v, self.to_ch = to_v, to_ch
        self._stdp_tables(pre, post_g, cat(rule))

    def _stdp_tables(self, pre: np.ndarray, post: np.ndarray, rule: np.ndarray) -> None:
        """Given the global pre and post neuron and the STDP row (or -1) of every synapse; per
        plastic synapse: its column of ``W``, its rule's parameters, and the columns of its
        pre and post traces in the flat device traces ``[B, K * 2 * N]`` (layout ``[B, K, 2, N]``,
        ``K`` rules); per rule and neuron: decay factors (1 outside the rule's groups, as the
        numba engine leaves those alone) and the masks of the neurons whose traces it bumps."""
        net, t, N = self.net, self._t, self.N
        self.K = K = net.stdp.shape[0]
        if K == 0:
            return
        dx, dy = np.ones((1, K, 2, N)), np.ones((1, K, 2, N))
        pre_mask, post_mask = np.zeros((1, K, 1, N), bool), np.zeros((1, K, 1, N), bool)
        for p in range(net.proj.shape[0]):
            k = net.proj[p, E.J_PLASTIC]
            if k < 0:
                continue
            a0, o0 = net.proj[p, E.J_PRE_START], net.proj[p, E.J_POST_START]
            a = slice(a0, a0 + net.proj[p, E.J_PRE_N])
            o = slice(o0, o0 + net.proj[p, E.J_POST_N])
            dx[0, k, :, a] = net.stdp[k, [E.SP_DX1, E.SP_DX2], None]
            dy[0, k, :, o] = net.stdp[k, [E.SP_DY1, E.SP_DY2], None]
            pre_mask[0, k, 0, a] = True
            post_mask[0, k, 0, o] = True
        self.dx, self.dy, self.pre_mask, self.post_mask = t(dx), t(dy), t(pre_mask), t(post_mask)
        self.nearest = t(net.stdp[:, E.SP_NEAREST] > 0.5).view(1, K, 1, 1)
        cols = np.flatnonzero(rule >= 0)
        k, pre, post = rule[cols], pre[cols], post[cols]
        self.sp_all = cols.size == self.n_syn
        self.sp_cols, self.sp_pre, self.sp_post = t(cols), t(pre), t(post)
        self.sp_x = [t((2 * k + c) * N + pre) for c in (0, 1)]
        self.sp_y = [t((2 * k + c) * N + post) for c in (0, 1)]
        par = net.stdp[k]
        self.sp_par = {
            name: t(par[:, col])
            for name, col in (
                ("a2p", E.SP_A2P), ("a3p", E.SP_A3P), ("a2m", E.SP_A2M), ("a3m", E.SP_A3M),
                ("wmin", E.SP_WMIN), ("wmax", E.SP_WMAX),
            )
        }  # fmt: skip
        mult = par[:, E.SP_MULT] > 0.5
        self.sp_mult = t(mult) if mult.any() else None

    def _t(self, a: np.ndarray):
        return self.torch.as_tensor(np.ascontiguousarray(a), device=self.device)

    # ----------------------------------------------------------------------------- drive
    def _drives(self):
        """(constant drive ``[B, N]``, [(slice, rows ``[S, B, n]``, every)] for time-varying)."""
        net = self.net
        base = np.zeros((self.B, self.N))
        timed = []
        for gi, (rows, every) in enumerate(net._drive):
            s = slice(int(net.groups_tab[gi, E.G_START]), int(net.groups_tab[gi, E.G_STOP]))
            base[:, s] = rows[0]
            if rows.shape[0] > 1:
                timed.append((s, self._t(rows), int(every)))
        return self._t(base), timed

    # ----------------------------------------------------------------------------- run
    def run(
        self, t0: int, n_steps: int, seed: int, rec: np.ndarray, mon: np.ndarray, mon_idx,
        plastic: bool = True,
    ):  # fmt: skip
        """Advance ``n_steps`` steps from step ``t0``; returns what the numba engine fills in:
        ``(spk [t, b, i], n_spikes, counts [n_steps, G, B], mon_out)`` (numpy, flat layout of
        :meth:`Network._monitor_tables`). ``rec`` marks the neurons of spike monitors.
        ``plastic=False`` freezes plastic synapses (weights and traces) for this run."""
        torch, net, dev = self.torch, self.net, self.device
        B, N, C, D, dt = self.B, self.N, self.C, self.D, net.dt
        f64 = torch.float64
        X, ref, W = self._t(net.X), self._t(net.ref), self._t(net.W)
        plastic = plastic and self.K > 0
        if plastic:  # traces [B, K, 2, N] on the device
            trX = self._t(net.trX).permute(2, 0, 1, 3).contiguous()
            trY = self._t(net.trY).permute(2, 0, 1, 3).contiguous()
        acc = torch.zeros((B, D, C + 1, N), dtype=f64, device=dev)
        if D > 1:
            acc.copy_(self._t(net.acc).permute(2, 0, 1, 3))
        acc_flat = acc.view(B, D * (C + 1) * N)
        drv0, timed = self._drives()
        gen = torch.Generator(device=dev)
        gen.manual_seed(seed)
        # spikes of a step: [B, N + 1], the last column always False (padding of recordings)
        spk = torch.zeros((B, N + 1), dtype=torch.bool, device=dev)
        rec_idx = np.flatnonzero(rec)
        n_rec = rec_idx.size
        n_pad = -(-n_rec // 8) * 8
        rec_t = self._t(np.concatenate([rec_idx, np.full(n_pad - n_rec, N)]))
        chunk = torch.zeros((_CHUNK, B, n_pad), dtype=torch.bool, device=dev)
        packed = torch.zeros((n_steps, B, n_pad // 8), dtype=torch.uint8, device=dev)
        pow2 = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8, device=dev)
        n_groups = net.groups_tab.shape[0]
        want_counts = any(isinstance(m, PopulationRateMonitor) for m in net.monitors)
        counts = torch.zeros((n_steps if want_counts else 0, B, n_groups), dtype=torch.int32,
                             device=dev)  # fmt: skip
        mon_rows, mon_bufs = [], []
        for m in range(mon.shape[0]):
            every, nidx = int(mon[m, E.M_EVERY]), int(mon[m, E.M_NIDX])
            rows = -(-(t0 + n_steps) // every) - (-(-t0 // every))
            idx = self._t(mon_idx[mon[m, E.M_IDX_OFF] :][:nidx])
            mon_rows.append((int(mon[m, E.M_VAR]), every, idx))
            mon_bufs.append(torch.zeros((rows, B, nidx), dtype=f64, device=dev))
        mon_next = [0] * len(mon_rows)
        lo = np.searchsorted(net.gen_steps, np.arange(t0, t0 + n_steps + 1), side="left")
        stride = (C + 1) * N
        ref_zero = None

        def flush(end: int) -> None:
            k = (end - 1) % _CHUNK + 1
            bits = chunk[:k].view(k, B, n_pad // 8, 8).to(torch.uint8) * pow2
            packed[end - k : end] = bits.sum(-1, dtype=torch.uint8)

        for it in range(n_steps):
            ta = t0 + it
            drv = drv0
            if timed:
                drv = drv0.clone()
                for s, rows, every in timed:
                    drv[:, s] = rows[min(ta // every, rows.shape[0] - 1)]
            spk.zero_()
            for seg in self.segments:
                self._update(seg, X, ref, drv, spk, gen, dt)
            if lo[it + 1] > lo[it]:
                spk[:, self.gen_idx[lo[it] : lo[it + 1]]] = True
            if plastic:
                trX.mul_(self.dx)
                trY.mul_(self.dy)
            if self.n_syn:
                contrib = spk[:, :N].index_select(1, self.pre).to(f64).mul_(W)
                tgt = self.tgt0
                if D > 1:
                    tgt = tgt + torch.remainder(self.delays + ta, D) * stride
                acc_flat.index_add_(1, tgt, contrib)
                slot = acc[:, ta % D]
                if self.to_ch:
                    X[E.S_G0 :] += slot[:, 1:].transpose(0, 1)
                if self.to_v:
                    ref_zero = ref == 0
                    X[E.S_V] += torch.where(ref_zero, slot[:, 0], 0.0)
                slot.zero_()
            if plastic:
                self._stdp_step(spk[:, :N], W, trX, trY)
            if n_rec:
                torch.index_select(spk, 1, rec_t, out=chunk[it % _CHUNK])
                if (it + 1) % _CHUNK == 0:
                    flush(it + 1)
            if want_counts:
                counts[it].index_add_(1, self.neuron_group, spk[:, :N].to(torch.int32))
            for m, (var, every, idx) in enumerate(mon_rows):
                if ta % every == 0:
                    torch.index_select(X[var], 1, idx, out=mon_bufs[m][mon_next[m]])
                    mon_next[m] += 1
        if n_rec and n_steps % _CHUNK:
            flush(n_steps)
        # back to the host, once
        net.X[:] = X.cpu().numpy()
        net.ref[:] = ref.cpu().numpy()
        if plastic:
            net.W[:] = W.cpu().numpy()
            net.trX[:] = trX.permute(1, 2, 0, 3).cpu().numpy()
            net.trY[:] = trY.permute(1, 2, 0, 3).cpu().numpy()
        if D > 1:
            net.acc[:] = acc.permute(1, 2, 0, 3).cpu().numpy()
        net.gen_ptr[0] = lo[-1]
        spk_out = self._spikes(packed.cpu().numpy(), rec_idx, t0) if n_rec else [np.zeros(0)] * 3
        counts_np = counts.permute(0, 2, 1).cpu().numpy()
        if not want_counts:
            counts_np = np.zeros((n_steps, n_groups, B), dtype=np.int32)
        flat = [b.cpu().numpy().ravel() for b in mon_bufs]
        mon_out = np.concatenate(flat) if flat else np.zeros(0)
        return spk_out, spk_out[0].size, counts_np, mon_out

    def _stdp_step(self, spk, W, trX, trY) -> None:
        """Depression on presynaptic spikes, then potentiation on postsynaptic spikes, then the
        trace bumps (the numba engine's ``_propagate``, ``_potentiate`` and ``_traces``, over all
        plastic synapses at once, with the same floating-point operations). ``spk`` ``[B, N]``;
        ``W`` ``[B, S]``, ``trX`` and ``trY`` ``[B, K, 2, N]`` are updated in place."""
        torch, par, mult = self.torch, self.sp_par, self.sp_mult
        x, y = trX.view(spk.shape[0], -1), trY.view(spk.shape[0], -1)
        lo, hi = par["wmin"], par["wmax"]
        w = W if self.sp_all else W.index_select(1, self.sp_cols)
        dep = y.index_select(1, self.sp_y[0]) * (
            par["a2m"] + par["a3m"] * x.index_select(1, self.sp_x[1])
        )
        if mult is not None:
            dep = torch.where(mult, dep * (w - lo), dep)
        w = torch.where(spk.index_select(1, self.sp_pre), torch.clamp(w - dep, lo, hi), w)
        pot = x.index_select(1, self.sp_x[0]) * (
            par["a2p"] + par["a3p"] * y.index_select(1, self.sp_y[1])
        )
        if mult is not None:
            pot = torch.where(mult, pot * (hi - w), pot)
        w = torch.where(spk.index_select(1, self.sp_post), torch.clamp(w + pot, lo, hi), w)
        if self.sp_all:
            W.copy_(w)
        else:
            W.index_copy_(1, self.sp_cols, w)
        for tr, mask in ((trX, self.pre_mask), (trY, self.post_mask)):
            hit = spk[:, None, None, :] & mask
            tr.copy_(torch.where(hit, torch.where(self.nearest, 1.0, tr + 1.0), tr))

    @staticmethod
    def _spikes(packed: np.ndarray, rec_idx: np.ndarray, t0: int) -> list[np.ndarray]:
        """Bit-packed ``[T, B, bytes]`` -> (steps, copies, global indices), sorted like numba's."""
        out = [[], [], []]
        for s0 in range(0, packed.shape[0], 4096):
            bits = np.unpackbits(packed[s0 : s0 + 4096], axis=-1, bitorder="little")
            t, b, k = np.nonzero(bits[..., : rec_idx.size])
            for lst, a in zip(out, (t + t0 + s0, b, rec_idx[k]), strict=True):
                lst.append(a.astype(np.int64))
        return [np.concatenate(a) for a in out]

    def _update(self, seg: _Segment, X, ref, drv, spk, gen, dt: float) -> None:
        """One step of the neurons ``seg.start:seg.stop`` (the numba engine's update, vectorised
        over neurons and copies, in the same order of floating-point operations)."""
        torch = self.torch
        s = slice(seg.start, seg.stop)
        d = drv[:, s]
        if seg.kind == E.KIND_POISSON:
            u = torch.rand(d.shape, generator=gen, dtype=torch.float64, device=self.device)
            spk[:, s] = u < d * (dt * 1e-3)
            return
        P, (decay, coup, erev) = self.P, self.ch
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
        vr = P[E.P_V_REST, :, s]
        if seg.kind == E.KIND_LIF:
            vn = vr + (v - vr) * P[E.P_DECAY_M, :, s] + d * self.one_minus_dm[:, s]
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
        r.copy_(torch.where(fire, self.ref_steps[:, s], r_next))
        spk[:, s] = fire
