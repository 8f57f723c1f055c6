"""The device tables of the PyTorch engine: a :class:`~spikeflow.sim.compiled.CompiledNetwork`'s
neuron and synapse arrays uploaded once and rearranged for whole-network tensor operations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeflow.errors import UserError
from spikeflow.sim import layout as E
from spikeflow.sim.compiled import CompiledNetwork


@dataclass
class Segment:
    """Consecutive groups with the same kind, channel count and adaptivity: one update."""

    start: int
    stop: int
    kind: int
    nch: int
    adapt: bool


def segments(groups: np.ndarray) -> list[Segment]:
    """The updates of a group table ``[G, N_GROUP_COLS]`` (spike generators need none)."""
    out: list[Segment] = []
    for row in groups:
        kind = int(row[E.G_KIND])
        if kind == E.KIND_GENERATOR:
            continue
        seg = Segment(int(row[E.G_START]), int(row[E.G_STOP]), kind, int(row[E.G_NCH]),
                      bool(row[E.G_ADAPT]))  # fmt: skip
        last = out[-1] if out else None
        if last is not None and last.stop == seg.start and (last.kind, last.nch, last.adapt) == (
            seg.kind, seg.nch, seg.adapt
        ):  # fmt: skip
            last.stop = seg.stop
        else:
            out.append(seg)
    return out


class DeviceTables:
    """The static arrays of ``compiled`` on ``device`` (see :class:`TorchEngine`)."""

    def __init__(self, compiled: CompiledNetwork, device) -> None:
        import torch

        syn, nrn = compiled.synapses, compiled.neurons
        rewarded = list(compiled.layout.reward_row)
        if rewarded:
            raise UserError(
                f"synapses {rewarded} use reward-modulated STDP (stdp=RewardSTDP(...)); "
                "reward-modulated synapses run on the CPU engine only (device=None)"
            )
        self.torch, self.device = torch, device
        self.neurons, self.synapses = nrn, syn  # what these tables were made from
        self.segments = segments(nrn.groups)
        t = self.tensor
        self.P = t(nrn.params)
        self.decay, self.coupling, self.erev = t(nrn.ch_decay), t(nrn.ch_coupling), t(nrn.ch_erev)
        self.one_minus_dm = 1.0 - self.P[E.P_DECAY_M]
        self.ref_steps = t(nrn.ref_steps)
        self.neuron_group = t(nrn.neuron_group)
        self.gen_idx = t(nrn.gen_idx)
        self.B, self.N, self.C = compiled.batch, compiled.n_neurons, compiled.n_channels
        # synapses: global pre index and ring-buffer target (without the slot) of every synapse
        pre, post_g, rule, tgt, to_v, to_ch = [], [], [], [], False, False
        for row in syn.proj:
            j0, a0, off = row[E.J_SYN_OFF], row[E.J_PRE_START], row[E.J_PTR_OFF]
            n = syn.ptr[off + row[E.J_PRE_N]] - syn.ptr[off]
            ch = int(row[E.J_CHANNEL])
            to_v, to_ch = to_v or ch == E.TARGET_V, to_ch or ch != E.TARGET_V
            pre.append(a0 + syn.pre_local[j0 : j0 + n])
            post = row[E.J_POST_START] + syn.post_local[j0 : j0 + n]
            post_g.append(post)
            rule.append(np.full(n, row[E.J_PLASTIC], dtype=np.int64))
            acc_row = E.ACC_V if ch == E.TARGET_V else E.ACC_CH0 + ch
            tgt.append(acc_row * self.N + post)
        self.n_syn = compiled.n_synapses

        def cat(parts):
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        pre, post_g = cat(pre), cat(post_g)
        self.pre = t(pre)
        self.tgt0 = t(cat(tgt))
        self.delays = t(syn.delays)
        self.D = compiled.ring_depth
        self.to_v, self.to_ch = to_v, to_ch
        self.K = syn.stdp.shape[0]
        if self.K:
            self._stdp_tables(syn, pre, post_g, cat(rule))

    def tensor(self, a: np.ndarray):
        return self.torch.as_tensor(np.ascontiguousarray(a), device=self.device)

    def _stdp_tables(self, syn, pre: np.ndarray, post: np.ndarray, rule: np.ndarray) -> None:
        """Given the global pre and post neuron and the STDP row (or -1) of every synapse; per
        plastic synapse: its column of ``W``, its rule's parameters, and the columns of its
        pre and post traces in the flat device traces ``[B, K * N_TRACES * N]`` (layout
        ``[B, K, N_TRACES, N]``); per rule and neuron: decay factors (1 outside the rule's
        groups, as the numba engine leaves those alone) and the masks of the neurons whose
        traces it bumps."""
        t, N, K, R = self.tensor, self.N, self.K, E.N_TRACES
        dx, dy = np.ones((1, K, R, N)), np.ones((1, K, R, N))
        pre_mask, post_mask = np.zeros((1, K, 1, N), bool), np.zeros((1, K, 1, N), bool)
        for row in syn.proj:
            k = row[E.J_PLASTIC]
            if k < 0:
                continue
            a = slice(row[E.J_PRE_START], row[E.J_PRE_START] + row[E.J_PRE_N])
            o = slice(row[E.J_POST_START], row[E.J_POST_START] + row[E.J_POST_N])
            dx[0, k, [E.TR_FAST, E.TR_SLOW], a] = syn.stdp[k, [E.SP_DX1, E.SP_DX2], None]
            dy[0, k, [E.TR_FAST, E.TR_SLOW], o] = syn.stdp[k, [E.SP_DY1, E.SP_DY2], None]
            pre_mask[0, k, 0, a] = True
            post_mask[0, k, 0, o] = True
        self.dx, self.dy, self.pre_mask, self.post_mask = t(dx), t(dy), t(pre_mask), t(post_mask)
        self.nearest = t(syn.stdp[:, E.SP_NEAREST] > 0.5).view(1, K, 1, 1)
        cols = np.flatnonzero(rule >= 0)
        k, pre, post = rule[cols], pre[cols], post[cols]
        self.sp_all = cols.size == self.n_syn
        self.sp_cols, self.sp_pre, self.sp_post = t(cols), t(pre), t(post)
        self.sp_x = {r: t((R * k + r) * N + pre) for r in (E.TR_FAST, E.TR_SLOW)}
        self.sp_y = {r: t((R * k + r) * N + post) for r in (E.TR_FAST, E.TR_SLOW)}
        par = syn.stdp[k]
        self.sp_par = {
            name: t(par[:, col])
            for name, col in (
                ("a2p", E.SP_A2P), ("a3p", E.SP_A3P), ("a2m", E.SP_A2M), ("a3m", E.SP_A3M),
                ("wmin", E.SP_WMIN), ("wmax", E.SP_WMAX),
            )
        }  # fmt: skip
        mult = par[:, E.SP_MULT] > 0.5
        self.sp_mult = t(mult) if mult.any() else None
