"""The network: groups, synapses and monitors, compiled into one record that an engine runs.

Example (a Poisson input driving 10 LIF neurons, 100 ms)::

    from spikeflow import sim
    inp = sim.PoissonGroup(50, rates=20.0)
    out = sim.LIFGroup(10, tau_m=20.0, v_th=-50.0)
    syn = sim.Synapses(inp, out, target="e", p=0.5, weight=2.0)
    spikes = sim.SpikeMonitor(out)
    net = sim.Network(inp, out, syn, spikes, dt=0.1, seed=0)
    net.run(100.0)

Units: ms, mV, Hz (see :mod:`spikeflow.sim.groups`). ``batch=B`` runs ``B`` independent copies
at once (own state, random draws, weights and parameters when given as ``[B, N]``). The first
run (or the first access to the state) builds a frozen
:class:`~spikeflow.sim.compiled.CompiledNetwork` and its :class:`~spikeflow.sim.compiled.State`;
each run hands both to the engine and the monitors read the engine's recording.
"""

from __future__ import annotations

import math

import numpy as np

from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.sim import layout as E
from spikeflow.sim.build import compile_network
from spikeflow.sim.compiled import CompiledNetwork, State, pack_drive
from spikeflow.sim.engine import NumbaEngine
from spikeflow.sim.groups import NeuronGroup
from spikeflow.sim.inputs import PoissonGroup, check_rates
from spikeflow.sim.monitors import PopulationRateMonitor, SpikeMonitor, StateMonitor
from spikeflow.sim.recording import Engine, plan_recording
from spikeflow.sim.reward import RewardSignals
from spikeflow.sim.synapses import Synapses
from spikeflow.sim.torch_engine import TorchEngine, torch_device
from spikeflow.sim.values import Drive, resolve_drive

_MONITORS = (SpikeMonitor, StateMonitor, PopulationRateMonitor)


def whole_steps(duration: float, dt: float) -> int:
    """``duration / dt`` (both ms) as a whole number of steps, or :class:`UserError`."""
    check_range("duration", duration, 0.0, low_open=True)
    ratio = duration / dt
    n_steps = round(ratio) if math.isfinite(ratio) else 0  # NaN and inf pass the range checks
    if n_steps < 1 or abs(ratio - n_steps) > 1e-6 * max(1.0, ratio):
        raise UserError(f"duration={duration!r} ms is not a whole number of steps of dt={dt!r} ms")
    return n_steps


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
        self._compiled: CompiledNetwork | None = None
        self._state: State | None = None
        self.set_device(device)
        self.add(*objects)

    @property
    def t(self) -> float:
        """The network's clock in ms."""
        return self.t_step * self.dt

    @property
    def compiled(self) -> CompiledNetwork:
        """The frozen record the engines run (built on first use)."""
        return self._built()[0]

    @property
    def engine_state(self) -> State:
        """The arrays a run changes (built on first use): state variables, weights, traces."""
        return self._built()[1]

    def set_device(self, device: str | None) -> None:
        """Choose the engine before the first run (see the ``device`` argument)."""
        if self._compiled is not None:
            raise UserError("cannot change the device of a network after its first run")
        dev = torch_device(device)
        self._engine: Engine = NumbaEngine() if dev is None else TorchEngine(dev)
        self.device = device

    def add(self, *objects) -> None:
        if self._compiled is not None:
            raise UserError("cannot add objects to a network after its first run")
        for obj in objects:
            if isinstance(obj, NeuronGroup):
                if any(g.name == obj.name for g in self.groups):
                    raise UserError(f"two groups are named {obj.name!r}; give each a unique name")
                self.groups.append(obj)
            elif isinstance(obj, Synapses):
                if any(s.name == obj.name for s in self.synapses):
                    raise UserError(f"two synapses are named {obj.name!r}; give each a unique name")
                self.synapses.append(obj)
            elif isinstance(obj, _MONITORS):
                obj.dt = self.dt
                self.monitors.append(obj)
            else:
                raise UserError(
                    f"cannot add {obj!r} to a network; expected groups, synapses, monitors"
                )

    def _built(self) -> tuple[CompiledNetwork, State]:
        compiled, state = self._compiled, self._state
        if compiled is None or state is None:  # both are set together
            for obj in (*self.synapses, *self.monitors):
                for g in (obj.pre, obj.post) if isinstance(obj, Synapses) else (obj.group,):
                    if g not in self.groups:
                        raise UserError(
                            f"{obj!r} uses group {g.name!r}, which is not in the network"
                        )
            compiled, state = self._compiled, self._state = compile_network(
                self.groups, self.synapses, dt=self.dt, batch=self.batch, seed=self.seed
            )
        return compiled, state

    # ----------------------------------------------------------------------------- run
    def run(self, duration: float, *, plasticity: bool = True, reward=None) -> Network:
        """Advance the network by ``duration`` ms (a whole number of steps) in compiled code.

        ``plasticity=False`` freezes the weights of plastic synapses for this run (traces and
        eligibility too; reward levels still decay). ``reward`` adds a per-step reward to the
        reward level of reward-modulated synapses during this run: an array ``[steps]`` or
        ``[steps, B]`` for all of them, or a dict ``{synapses: array}``.
        """
        n_steps = whole_steps(duration, self.dt)
        compiled, state = self._built()
        sched = self._reward_schedule(reward, n_steps)
        run_seed = (self.seed * 1_000_003 + self._runs) % (2**32)
        self._runs += 1
        state_mons = [m for m in self.monitors if isinstance(m, StateMonitor)]
        plan = plan_recording(
            compiled,
            [m.group.name for m in self.monitors if isinstance(m, SpikeMonitor)],
            state_mons,
            any(isinstance(m, PopulationRateMonitor) for m in self.monitors),
            self.t_step,
            n_steps,
        )
        rec = self._engine.run(
            compiled, state, n_steps, t0=self.t_step, seed=run_seed, plastic=plasticity,
            reward=sched, plan=plan, state_monitors=state_mons,
        )  # fmt: skip
        self.t_step += n_steps
        for m in self.monitors:
            m.read(rec, compiled.layout)
        return self

    # ----------------------------------------------------------------------------- access
    def _slice(self, group: NeuronGroup) -> slice:
        lay = self.compiled.layout
        if group.name not in lay.group_start:
            raise UserError(f"group {group.name!r} is not in the network")
        return lay.group_slice(group.name, group.n)

    def state(self, group: NeuronGroup, var: str) -> np.ndarray:
        """A copy of ``var`` (``"v"``, ``"theta"``, ``"u"`` or a channel) of ``group``, ``[B, N]``."""
        return self.engine_state.X[self._var_row(group, var), :, self._slice(group)].copy()

    def set_state(self, group: NeuronGroup, var: str, value) -> None:
        """Set ``var`` of ``group`` to a number, ``[N]`` or ``[B, N]``."""
        self.engine_state.X[self._var_row(group, var), :, self._slice(group)] = np.broadcast_to(
            np.asarray(value, dtype=np.float64), (self.batch, group.n)
        )

    def _var_row(self, group: NeuronGroup, var: str) -> int:
        if var in group.channels:
            return E.S_G0 + group.channels.index(var)
        if var not in group.state_vars:
            raise UserError(f"var={var!r} is not a variable of group {group.name!r}")
        return E.STATE_ROWS[var]

    def _columns(self, syn: Synapses) -> slice:
        """The columns of ``W`` of the network's synapses named like ``syn``."""
        cols = self.compiled.layout.syn_slice.get(syn.name)
        if cols is None:
            raise UserError(f"{syn!r} is not in the network")
        return cols

    def weights(self, syn: Synapses) -> np.ndarray:
        """A copy of the weights of ``syn``, ``[B, S]`` in (pre, post)-sorted order."""
        return self.engine_state.W[:, self._columns(syn)].copy()

    def set_weights(self, syn: Synapses, w) -> None:
        cols = self._columns(syn)
        W = self.engine_state.W
        W[:, cols] = np.broadcast_to(np.asarray(w, np.float64), W[:, cols].shape)

    def connectivity(self, syn: Synapses) -> tuple[np.ndarray, np.ndarray]:
        """Local ``(pre, post)`` indices of every synapse of ``syn``, ``[S]`` each."""
        self._columns(syn)
        lay = self.compiled.layout
        return lay.syn_pre[syn.name].copy(), lay.syn_post[syn.name].copy()

    def set_drive(self, group: NeuronGroup, value: Drive) -> None:
        """Replace the rates (Poisson groups, Hz) or external current (mV) of ``group``."""
        compiled = self.compiled
        self._slice(group)
        gi = compiled.layout.group_names.index(group.name)
        rows, every = resolve_drive(
            f"{group.name} drive", value, group.n, self.batch, np.random.default_rng(0), self.dt
        )
        if isinstance(group, PoissonGroup):
            check_rates(f"{group.name}.rates", rows, self.dt)
        parts = [compiled.drive_rows(g) for g in range(compiled.n_groups)]
        parts[gi] = (rows, every)
        self._compiled = compiled.with_drive(pack_drive(parts))

    def rest(self) -> None:
        """Put the network back at rest: ``v``, ``u`` and channels to their initial values, no
        refractoriness, plasticity traces and eligibility zero, decaying reward levels zero,
        spikes in flight dropped. Adaptive thresholds ``theta``, weights and held reward levels
        are kept (as after a long pause, as in Diehl & Cook's rest period).
        """
        compiled, st = self._built()
        keep = st.X[E.S_THETA].copy()
        st.X[:] = compiled.initial
        st.X[E.S_THETA] = keep
        st.ref[:] = 0
        for tr in (st.trX, st.trY, st.elig, st.acc):
            tr[:] = 0.0
        st.escale[:] = 1.0
        st.level[compiled.synapses.reward_params[:, E.RP_DECAY_D] < 1.0] = 0.0
