"""The network: groups, synapses and monitors flattened into arrays for the compiled engine.

Example (a Poisson input driving 10 LIF neurons, 100 ms)::

    from spikeflow import sim
    inp = sim.PoissonGroup(50, rates=20.0)
    out = sim.LIFGroup(10, tau_m=20.0, v_th=-50.0)
    syn = sim.Synapses(inp, out, target="e", p=0.5, weight=2.0)
    spikes = sim.SpikeMonitor(out)
    net = sim.Network(inp, out, syn, spikes, dt=0.1, seed=0)
    net.run(100.0)

Units: ms, mV, Hz (see :mod:`spikeflow.sim.groups`). ``batch=B`` runs ``B`` independent copies
at once (own state, random draws, weights and parameters when given as ``[B, N]``).
"""

from __future__ import annotations

import numpy as np

from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.plasticity.rstdp import RewardSTDP
from spikeflow.sim import engine
from spikeflow.sim import layout as E
from spikeflow.sim.groups import NeuronGroup
from spikeflow.sim.inputs import PoissonGroup, SpikeGeneratorGroup, check_rates
from spikeflow.sim.monitors import PopulationRateMonitor, SpikeMonitor, StateMonitor
from spikeflow.sim.reward import RewardSignals
from spikeflow.sim.synapses import Synapses
from spikeflow.sim.torch_engine import TorchEngine, torch_device
from spikeflow.sim.values import Drive, resolve_drive

_MONITORS = (SpikeMonitor, StateMonitor, PopulationRateMonitor)


class Network(RewardSignals):
    """A set of groups, synapses and monitors advanced together by :meth:`run`.

    Arguments:
        objects: groups, synapses and monitors (more can be added with :meth:`add` until the
            first run).
        dt: time step in ms.
        batch: number of independent copies ``B``.
        seed: seed for everything random (connectivity, random values, Poisson spikes): the same
            seed and the same sequence of calls give the same results.
        device: ``None`` or ``"cpu"``: the numba engine; a torch device string (``"cuda"``) or
            ``"cpu-torch"``: the PyTorch engine on that device (see
            :mod:`spikeflow.sim.torch_engine`; no reward-modulated synapses).
    """

    def __init__(
        self,
        *objects,
        dt: float = 0.1,
        batch: int = 1,
        seed: int = 0,
        device: str | None = None,
    ) -> None:
        check_range("dt", dt, 0.0, low_open=True)
        check_positive_int("batch", batch)
        check_positive_int("seed", seed, allow_zero=True)
        self.dt, self.batch, self.seed = float(dt), batch, seed
        self.groups: list[NeuronGroup] = []
        self.synapses: list[Synapses] = []
        self.monitors: list = []
        self.t_step = 0
        self._runs = 0
        self._built = False
        self._torch = None
        self.set_device(device)
        self.add(*objects)

    @property
    def t(self) -> float:
        """The network's clock in ms."""
        return self.t_step * self.dt

    def set_device(self, device: str | None) -> None:
        """Choose the engine before the first run (see the ``device`` argument)."""
        if self._built:
            raise UserError("cannot change the device of a network after its first run")
        self._device = torch_device(device)
        self.device = device

    def add(self, *objects) -> None:
        if self._built:
            raise UserError("cannot add objects to a network after its first run")
        for obj in objects:
            if isinstance(obj, NeuronGroup):
                if any(g.name == obj.name for g in self.groups):
                    raise UserError(f"two groups are named {obj.name!r}; give each a unique name")
                self.groups.append(obj)
            elif isinstance(obj, Synapses):
                self.synapses.append(obj)
            elif isinstance(obj, _MONITORS):
                obj.dt = self.dt
                self.monitors.append(obj)
            else:
                raise UserError(
                    f"cannot add {obj!r} to a network; expected groups, synapses, monitors"
                )

    # ----------------------------------------------------------------------------- build
    def _build(self) -> None:
        for obj in (*self.synapses, *self.monitors):
            for g in (obj.pre, obj.post) if isinstance(obj, Synapses) else (obj.group,):
                if g not in self.groups:
                    raise UserError(f"{obj!r} uses group {g.name!r}, which is not in the network")
        rng = np.random.default_rng(self.seed)
        B, dt = self.batch, self.dt
        self._start = {}
        n_total = 0
        for g in self.groups:
            self._start[g.name] = n_total
            n_total += g.n
        n_ch = max([len(g.channels) for g in self.groups] + [0])
        self.P = np.zeros((E.N_PARAMS, B, n_total))
        self.X = np.zeros((E.S_G0 + n_ch, B, n_total))
        self.ref = np.zeros((B, n_total), dtype=np.int64)
        self.ref_steps = np.zeros((B, n_total), dtype=np.int64)
        self.ch = np.zeros((3, max(n_ch, 1), B, n_total))  # decay, coupling, e_rev
        self.groups_tab = np.zeros((len(self.groups), 10), dtype=np.int64)
        self.neuron_group = np.zeros(n_total, dtype=np.int64)
        self._drive: list[tuple[np.ndarray, int]] = []
        gen_steps, gen_idx = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for gi, g in enumerate(self.groups):
            s = self._slice(g)
            arrays = g.build(B, rng, dt)
            for k, v in arrays.params.items():
                self.P[k, :, s] = v
            for k, v in arrays.state.items():
                self.X[k, :, s] = v
            for c, parts in enumerate(arrays.channels):
                for r, v in enumerate(parts):
                    self.ch[r, c, :, s] = v
            self.ref_steps[:, s] = arrays.ref_steps
            self.groups_tab[gi, :4] = s.start, s.stop, arrays.kind, len(g.channels)
            self.groups_tab[gi, E.G_PSTRIDE] = 0 if self._uniform(s, len(g.channels)) else 1
            adapt = np.any(self.P[E.P_THETA_JUMP, :, s] != 0) or np.any(
                self.X[E.S_THETA, :, s] != 0
            )
            self.groups_tab[gi, E.G_ADAPT] = int(adapt)
            self.neuron_group[s] = gi
            self._drive.append((arrays.drive, arrays.drive_every))
            if isinstance(g, SpikeGeneratorGroup):
                steps, idx = g.schedule(dt)
                gen_steps.append(steps)
                gen_idx.append(idx + s.start)
        order = np.argsort(np.concatenate(gen_steps), kind="stable")
        self.gen_steps = np.concatenate(gen_steps)[order]
        self.gen_idx = np.concatenate(gen_idx)[order]
        self.gen_ptr = np.zeros(1, dtype=np.int64)
        self._pack_drive()
        self.X0 = self.X.copy()
        self._build_synapses(rng, n_total)
        if self._device is not None:
            self._torch = TorchEngine(self, self._device)
        self._built = True

    def _build_synapses(self, rng: np.random.Generator, n_total: int) -> None:
        B = self.batch
        self.proj = np.zeros((len(self.synapses), E.N_PROJ_COLS), dtype=np.int64)
        ptrs, pres, posts, dels, ws, cols, col_syn, rules = [], [], [], [], [], [], [], []
        rew, rpar = [], []
        self._syn_slice, self._conn, self._reward_row = {}, {}, {}
        n_syn = n_ptr = n_col = n_elig = 0
        for p, syn in enumerate(self.synapses):
            conn = syn.connectivity(rng)
            s = conn.pre.size
            ptr = np.zeros(syn.pre.n + 1, dtype=np.int64)
            np.cumsum(np.bincount(conn.pre, minlength=syn.pre.n), out=ptr[1:])
            by_post = np.argsort(conn.post, kind="stable")
            colptr = np.zeros(syn.post.n + 1, dtype=np.int64)
            np.cumsum(np.bincount(conn.post, minlength=syn.post.n), out=colptr[1:])
            k = r = -1
            if isinstance(syn.stdp, RewardSTDP):
                r = self._reward_row[syn.name] = len(rew)
                rew.append((p, s, n_elig))
                rpar.append(syn.stdp.engine_params(self.dt))
                n_elig += s
            if syn.stdp is not None:
                k = len(rules)
                rule = syn.stdp.rule if r >= 0 else syn.stdp
                rules.append(rule.engine_params(self.dt))
            self.proj[p] = (
                self._start[syn.pre.name], syn.pre.n, self._start[syn.post.name], syn.post.n,
                n_ptr, n_syn, syn.channel, k, n_col, r,
            )  # fmt: skip
            ptrs.append(ptr)
            cols.append(colptr + n_syn)
            col_syn.append(by_post + n_syn)
            pres.append(conn.pre)
            posts.append(conn.post)
            dels.append(syn.delays(conn))
            ws.append(syn.weights(conn, B, rng))
            self._syn_slice[syn.name] = slice(n_syn, n_syn + s)
            self._conn[syn.name] = conn
            n_syn, n_ptr, n_col = n_syn + s, n_ptr + syn.pre.n + 1, n_col + syn.post.n + 1

        def cat(parts, dtype, shape=(0,)):
            return np.concatenate(parts, axis=-1).astype(dtype) if parts else np.zeros(shape, dtype)

        self.ptr, self.colptr = cat(ptrs, np.int64), cat(cols, np.int64)
        self.col_syn = cat(col_syn, np.int64)
        self.pre_local, self.post_local = cat(pres, np.int64), cat(posts, np.int64)
        self.delays = cat(dels, np.int64)
        self.W = np.ascontiguousarray(cat(ws, np.float64, (B, 0)))
        self.stdp = np.array(rules, dtype=np.float64).reshape(len(rules), 12)
        self.trX = np.zeros((len(rules), 2, B, n_total))
        self.trY = np.zeros((len(rules), 2, B, n_total))
        self.rew = np.array(rew, dtype=np.int64).reshape(len(rew), 3)
        self.rpar = np.array(rpar, dtype=np.float64).reshape(len(rew), 3)
        self.elig = np.zeros((B, n_elig))
        self.escale = np.ones((len(rew), B))
        self.level = np.zeros((len(rew), B))
        max_delay = int(self.delays.max()) if self.delays.size else 0
        depth = max_delay + 1 if max_delay > 0 else 1
        self.acc = np.zeros((depth, self.X.shape[0] - E.S_G0 + 1, B, n_total if max_delay else 0))

    def _uniform(self, s: slice, n_ch: int) -> bool:
        """Whether a group's parameters are the same for all its neurons and copies."""
        parts = [self.P[:, :, s], self.ch[:, :n_ch, :, s], self.ref_steps[None, :, s]]
        return all(np.all(p == p[..., :1, :1]) for p in parts)

    def _pack_drive(self) -> None:
        off, flat = 0, []
        for gi, (rows, every) in enumerate(self._drive):
            uniform = bool(np.all(rows == rows[:, :1, :1]))
            data = rows[:, 0, 0] if uniform else rows.ravel()
            self.groups_tab[gi, E.G_DOFF : E.G_DSTRIDE + 1] = (
                off,
                rows.shape[0],
                every,
                int(not uniform),
            )
            flat.append(data)
            off += data.size
        self.drive = np.concatenate(flat) if flat else np.zeros(0)

    # ----------------------------------------------------------------------------- run
    def run(self, duration: float, *, plasticity: bool = True, reward=None) -> Network:
        """Advance the network by ``duration`` ms (a whole number of steps) in compiled code.

        ``plasticity=False`` freezes the weights of plastic synapses for this run (traces and
        eligibility too; reward levels still decay). ``reward`` adds a per-step reward to the
        reward level of reward-modulated synapses during this run: an array ``[steps]`` or
        ``[steps, B]`` for all of them, or a dict ``{synapses: array}``.
        """
        check_range("duration", duration, 0.0, low_open=True)
        ratio = duration / self.dt
        n_steps = round(ratio)
        if n_steps < 1 or abs(ratio - n_steps) > 1e-6 * max(1.0, ratio):
            raise UserError(
                f"duration={duration!r} ms is not a whole number of steps of dt={self.dt!r} ms"
            )
        if not self._built:
            self._build()
        B, t0 = self.batch, self.t_step
        sched = self._reward_schedule(reward, n_steps)
        run_seed = (self.seed * 1_000_003 + self._runs) % (2**32)
        self._runs += 1
        spike_mons = [m for m in self.monitors if isinstance(m, SpikeMonitor)]
        state_mons = [m for m in self.monitors if isinstance(m, StateMonitor)]
        rec = np.zeros(self.X.shape[2], dtype=np.uint8)
        for m in spike_mons:
            rec[self._slice(m.group)] = 1
        if self._torch is not None:
            mon, mon_idx, _, _ = self._monitor_tables(state_mons, t0, n_steps)
            spk, n, counts, mon_out = self._torch.run(
                t0, n_steps, run_seed, rec, mon, mon_idx, plastic=plasticity
            )
            self.t_step += n_steps
            self._collect(spike_mons, state_mons, spk, n, counts, mon, mon_out, t0, n_steps)
            return self
        engine.seed(run_seed)
        n_rec = int(rec.sum())
        cap = max(4096, 4 * B * n_rec)
        spk = [np.zeros(cap, dtype=np.int64) for _ in range(3)]
        n_spk = np.zeros(1, dtype=np.int64)
        counts = np.zeros((n_steps, len(self.groups), B), dtype=np.int32)
        mon, mon_idx, mon_out, mon_rows = self._monitor_tables(state_mons, t0, n_steps)
        spiked = np.zeros((B, self.X.shape[2]), dtype=np.int64)
        nspk = np.zeros(B, dtype=np.int64)
        done = 0
        while done < n_steps:
            done += engine.run_steps(
                t0 + done, n_steps - done, self.dt, plasticity,
                self.groups_tab, self.neuron_group, self.P, self.X, self.ref, self.ref_steps,
                self.ch[0], self.ch[1], self.ch[2], self.drive,
                self.gen_steps, self.gen_idx, self.gen_ptr,
                self.proj, self.ptr, self.pre_local, self.post_local, self.delays, self.W,
                self.colptr, self.col_syn, self.stdp, self.trX, self.trY, self.acc,
                self.rew, self.rpar, self.elig, self.escale, self.level, sched, t0,
                rec, n_rec, spk[0], spk[1], spk[2], n_spk, counts[done:],
                mon, mon_idx, mon_out, mon_rows, spiked, nspk,
            )  # fmt: skip
            if done < n_steps:
                spk = [np.concatenate([a, np.zeros_like(a)]) for a in spk]
        self.t_step += n_steps
        self._collect(spike_mons, state_mons, spk, int(n_spk[0]), counts, mon, mon_out, t0, n_steps)
        return self

    def _monitor_tables(self, mons: list[StateMonitor], t0: int, n_steps: int):
        rows, idx, off, ioff = [], [], 0, 0
        for m in mons:
            n_rows = -(-(t0 + n_steps) // m.every) - (-(-t0 // m.every))
            var = (
                E.S_G0 + m.group.channels.index(m.var)
                if m.var in m.group.channels
                else ({"v": E.S_V, "theta": E.S_THETA, "u": E.S_U}[m.var])
            )
            rows.append((var, ioff, m.indices.size, m.every, off))
            idx.append(m.indices + self._start[m.group.name])
            off += n_rows * self.batch * m.indices.size
            ioff += m.indices.size
        mon = np.array(rows, dtype=np.int64).reshape(len(rows), 5)
        mon_idx = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
        return mon, mon_idx, np.zeros(off), np.zeros(len(rows), dtype=np.int64)

    def _collect(self, spike_mons, state_mons, spk, n, counts, mon, mon_out, t0, n_steps) -> None:
        t, b, i = (a[:n] for a in spk)
        for m in self.monitors:
            gi = self.groups.index(m.group)
            start, stop = self.groups_tab[gi, 0], self.groups_tab[gi, 1]
            if isinstance(m, SpikeMonitor):
                keep = (i >= start) & (i < stop)
                m._append(t[keep], b[keep], i[keep] - start)
            elif isinstance(m, PopulationRateMonitor):
                m._append(np.arange(t0, t0 + n_steps), counts[:, gi, :].astype(np.int64))
        for k, m in enumerate(state_mons):
            first = -(-t0 // m.every) * m.every
            steps = np.arange(first, t0 + n_steps, m.every)
            vals = mon_out[mon[k, E.M_OUT_OFF] :][: steps.size * self.batch * m.indices.size]
            m._append(steps, vals.reshape(steps.size, self.batch, m.indices.size))

    # ----------------------------------------------------------------------------- access
    def _slice(self, group: NeuronGroup) -> slice:
        start = self._start[group.name]
        return slice(start, start + group.n)

    def _require_built(self) -> None:
        if not self._built:
            self._build()

    def state(self, group: NeuronGroup, var: str) -> np.ndarray:
        """A copy of ``var`` (``"v"``, ``"theta"``, ``"u"`` or a channel) of ``group``, ``[B, N]``."""
        self._require_built()
        return self.X[self._var_row(group, var), :, self._slice(group)].copy()

    def set_state(self, group: NeuronGroup, var: str, value) -> None:
        """Set ``var`` of ``group`` to a number, ``[N]`` or ``[B, N]``."""
        self._require_built()
        self.X[self._var_row(group, var), :, self._slice(group)] = np.broadcast_to(
            np.asarray(value, dtype=np.float64), (self.batch, group.n)
        )

    def _var_row(self, group: NeuronGroup, var: str) -> int:
        if var in group.channels:
            return E.S_G0 + group.channels.index(var)
        rows = {"v": E.S_V, "theta": E.S_THETA, "u": E.S_U}
        if var not in group.state_vars:
            raise UserError(f"var={var!r} is not a variable of group {group.name!r}")
        return rows[var]

    def weights(self, syn: Synapses) -> np.ndarray:
        """A copy of the weights of ``syn``, ``[B, S]`` in (pre, post)-sorted order."""
        self._require_built()
        return self.W[:, self._syn_slice[syn.name]].copy()

    def set_weights(self, syn: Synapses, w) -> None:
        self._require_built()
        self.W[:, self._syn_slice[syn.name]] = np.broadcast_to(
            np.asarray(w, np.float64), self.weights(syn).shape
        )

    def connectivity(self, syn: Synapses) -> tuple[np.ndarray, np.ndarray]:
        """Local ``(pre, post)`` indices of every synapse of ``syn``, ``[S]`` each."""
        self._require_built()
        conn = self._conn[syn.name]
        return conn.pre.copy(), conn.post.copy()

    def set_drive(self, group: NeuronGroup, value: Drive) -> None:
        """Replace the rates (Poisson groups, Hz) or external current (mV) of ``group``."""
        self._require_built()
        gi = self.groups.index(group)
        rows, every = resolve_drive(
            f"{group.name} drive", value, group.n, self.batch, np.random.default_rng(0), self.dt
        )
        if isinstance(group, PoissonGroup):
            check_rates(f"{group.name}.rates", rows, self.dt)
        self._drive[gi] = (rows, every)
        self._pack_drive()

    def rest(self) -> None:
        """Put the network back at rest: ``v``, ``u`` and channels to their initial values, no
        refractoriness, plasticity traces and eligibility zero, decaying reward levels zero,
        spikes in flight dropped. Adaptive thresholds ``theta``, weights and held reward levels
        are kept (as after a long pause, as in Diehl & Cook's rest period).
        """
        self._require_built()
        keep = self.X[E.S_THETA].copy()
        self.X[:] = self.X0
        self.X[E.S_THETA] = keep
        self.ref[:] = 0
        self.trX[:] = 0.0
        self.trY[:] = 0.0
        self.elig[:] = 0.0
        self.escale[:] = 1.0
        self.level[self.rpar[:, E.RP_DECAY_D] < 1.0] = 0.0
        self.acc[:] = 0.0
