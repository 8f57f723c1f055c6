"""Neuron groups of the simulator: LIF (current- or conductance-based), adaptive LIF, Izhikevich.

Units: time in ms, voltages in mV, rates in Hz. For current-based LIF groups, synaptic and external
currents are expressed as the voltage they would hold the membrane at (``R * I``, in mV), as in
Brette et al. (2007); for conductance-based groups, conductances are relative to the leak
conductance (dimensionless) and external currents are again in mV.

LIF membrane (``syn`` sums the group's synaptic channels, ``I`` is the external current)::

    current:      tau_m dv/dt = (v_rest - v) + sum_k g_k + I
    conductance:  tau_m dv/dt = (v_rest - v) + sum_k g_k (E_k - v) + I
    every channel: tau_k dg_k/dt = -g_k ; a spike through a synapse adds its weight to g_k

Current-based groups are integrated exactly (the linear system's solution over one step);
conductance-based groups with exponential Euler (exact for the conductances held over the step).
When ``v >= v_th + theta`` the neuron spikes, ``v`` is set to ``v_reset`` and stays there for
``refractory`` ms (rounded to whole steps: the next ``round(refractory / dt)`` steps do not
integrate). Adaptive groups add a threshold offset ``theta`` that jumps by ``b`` at each spike and
decays with ``tau_a``. Izhikevich groups follow Izhikevich (2003), forward Euler in ms. adLIF groups
(:class:`AdLIFGroup`) run the discrete adaptive-current neuron of :class:`spikeflow.nn.AdLIF`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from spikeflow.errors import UserError, check_choice, check_positive_int
from spikeflow.sim import layout as E
from spikeflow.sim.values import Drive, Value, resolve, resolve_drive

SYNAPSE_KINDS = ("current", "conductance")


@dataclass
class GroupArrays:
    """Everything the network needs from one group, resolved to arrays ``[B, n]``."""

    kind: int
    params: dict[int, np.ndarray]
    channels: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (decay, coupling, e_rev) per ch
    state: dict[int, np.ndarray]
    ref_steps: np.ndarray
    drive: np.ndarray  # [S, B, n]
    drive_every: int


class NeuronGroup:
    """Base class: ``n`` neurons with a name and named synaptic channels (targets of synapses)."""

    kind: int = -1
    state_vars: tuple[str, ...] = ()

    def __init__(self, n: int, name: str, channels: tuple[str, ...] = ()) -> None:
        check_positive_int("n", n)
        self.n = n
        self.name = name
        self.channels = channels

    def build(self, batch: int, rng: np.random.Generator, dt: float) -> GroupArrays:
        """The group's arrays for the engine (each group kind builds its own)."""
        raise NotImplementedError(f"neuron group {type(self).__name__} must implement build()")

    def channel_index(self, target: str) -> int:
        """Index of a synaptic channel, or :data:`engine.TARGET_V` for ``"v"`` (delta synapses)."""
        if target == "v" and "v" in self.state_vars:
            return E.TARGET_V
        valid = (*self.channels, "v") if "v" in self.state_vars else self.channels
        check_choice(f"target (of group {self.name!r})", target, valid)
        return self.channels.index(target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, name={self.name!r})"


def _positive(name: str, arr: np.ndarray) -> np.ndarray:
    if np.any(arr <= 0):
        raise UserError(f"{name} has minimum {arr.min():g}; expected values > 0 (ms)")
    return arr


class LIFGroup(NeuronGroup):
    """Leaky integrate-and-fire neurons with refractory period and exponential synapses.

    Arguments (each a number, ``[N]``/``[B, N]`` array or a random spec, see ``values``):
        n: number of neurons.
        tau_m: membrane time constant (ms). v_rest, v_th, v_reset: potentials (mV).
        refractory: refractory period (ms).
        synapse: ``"current"`` or ``"conductance"``.
        tau_syn: channel name -> decay time constant (ms); names are the targets of synapses.
        e_rev: channel name -> reversal potential (mV), conductance-based groups only.
        current: external input (mV, see module docstring), constant or a :class:`TimedArray`.
        v_init: initial membrane potential (mV); default ``v_rest``.
        g_init: channel name -> initial value of that channel (default 0).
    """

    state_vars = ("v", "theta")
    kind = E.KIND_LIF

    def __init__(
        self,
        n: int,
        *,
        tau_m: Value = 20.0,
        v_rest: Value = -65.0,
        v_th: Value = -50.0,
        v_reset: Value = -65.0,
        refractory: Value = 0.0,
        synapse: str = "current",
        tau_syn: Mapping[str, Value] | None = None,
        e_rev: Mapping[str, Value] | None = None,
        current: Drive = 0.0,
        v_init: Value | None = None,
        g_init: Mapping[str, Value] | None = None,
        name: str = "lif",
    ) -> None:
        check_choice("synapse", synapse, SYNAPSE_KINDS)
        tau_syn = dict(tau_syn if tau_syn is not None else {"e": 5.0, "i": 10.0})
        e_rev = dict(e_rev or {})
        if synapse == "conductance" and set(e_rev) != set(tau_syn):
            raise UserError(
                f"e_rev has channels {sorted(e_rev)}; a conductance-based group needs one "
                f"reversal potential per channel of tau_syn: {sorted(tau_syn)}"
            )
        if synapse == "current" and e_rev:
            raise UserError("e_rev is only valid with synapse='conductance'")
        super().__init__(n, name, tuple(tau_syn))
        self.tau_m, self.v_rest, self.v_th, self.v_reset = tau_m, v_rest, v_th, v_reset
        self.refractory, self.synapse, self.tau_syn, self.e_rev = (
            refractory,
            synapse,
            tau_syn,
            e_rev,
        )
        self.current, self.v_init, self.g_init = current, v_init, dict(g_init or {})
        for key in self.g_init:
            check_choice("g_init key", key, self.channels)

    def _adaptation(self, batch: int, rng: np.random.Generator, dt: float):
        zeros = np.zeros((batch, self.n))
        return np.ones((batch, self.n)), zeros, zeros.copy()

    def build(self, batch: int, rng: np.random.Generator, dt: float) -> GroupArrays:
        n = self.n

        def r(name: str, value: Value) -> np.ndarray:
            return resolve(f"{self.name}.{name}", value, n, batch, rng)

        tau_m = _positive(f"{self.name}.tau_m", r("tau_m", self.tau_m))
        v_rest, v_th, v_reset = (
            r("v_rest", self.v_rest),
            r("v_th", self.v_th),
            r("v_reset", self.v_reset),
        )
        if np.any(v_reset >= v_th):
            raise UserError(
                f"{self.name}.v_reset must be below v_th (got v_reset up to {v_reset.max():g} mV, "
                f"v_th down to {v_th.min():g} mV): a neuron would fire at every step"
            )
        ref = r("refractory", self.refractory)
        if np.any(ref < 0):
            raise UserError(f"{self.name}.refractory={ref.min():g} ms; expected a value >= 0")
        decay_m = np.exp(-dt / tau_m)
        channels = []
        for ch, tau_spec in self.tau_syn.items():
            tau = _positive(f"{self.name}.tau_syn[{ch!r}]", r(f"tau_syn[{ch!r}]", tau_spec))
            decay = np.exp(-dt / tau)
            if self.synapse == "current":
                same = np.isclose(tau, tau_m)
                safe = np.where(same, 1.0, tau - tau_m)
                coupling = np.where(same, dt / tau_m * decay_m, tau / safe * (decay - decay_m))
                e = np.zeros_like(tau)
            else:
                coupling = np.zeros_like(tau)
                e = r(f"e_rev[{ch!r}]", self.e_rev[ch])
            channels.append((decay, coupling, e))
        theta_decay, theta_jump, theta0 = self._adaptation(batch, rng, dt)
        params = {
            E.P_V_REST: v_rest,
            E.P_V_TH: v_th,
            E.P_V_RESET: v_reset,
            E.P_DECAY_M: decay_m,
            E.P_TAU_M: tau_m,
            E.P_THETA_DECAY: theta_decay,
            E.P_THETA_JUMP: theta_jump,
        }
        v0 = v_rest if self.v_init is None else r("v_init", self.v_init)
        state = {E.S_V: v0, E.S_THETA: theta0}
        for i, ch in enumerate(self.channels):
            state[E.S_G0 + i] = r(f"g_init[{ch!r}]", self.g_init.get(ch, 0.0))
        drive, every = resolve_drive(f"{self.name}.current", self.current, n, batch, rng, dt)
        kind = E.KIND_LIF_COND if self.synapse == "conductance" else E.KIND_LIF
        ref_steps = np.rint(ref / dt).astype(np.int64)
        return GroupArrays(kind, params, channels, state, ref_steps, drive, every)


class AdaptiveLIFGroup(LIFGroup):
    """LIF neurons with an adaptive threshold ``v_th + theta`` (homeostasis).

    ``theta`` jumps by ``b`` (mV) at every spike and decays to 0 with ``tau_a`` (ms); it is kept
    across runs, so a very long ``tau_a`` gives the slow homeostatic threshold of Diehl & Cook.
    Other arguments as :class:`LIFGroup`.
    """

    state_vars = ("v", "theta")

    def __init__(
        self, n: int, *, tau_a: Value = 100.0, b: Value = 1.0, theta_init: Value = 0.0, **kw
    ) -> None:
        kw.setdefault("name", "alif")
        super().__init__(n, **kw)
        self.tau_a, self.b, self.theta_init = tau_a, b, theta_init

    def _adaptation(self, batch: int, rng: np.random.Generator, dt: float):
        tau_a = _positive(
            f"{self.name}.tau_a", resolve(f"{self.name}.tau_a", self.tau_a, self.n, batch, rng)
        )
        b = resolve(f"{self.name}.b", self.b, self.n, batch, rng)
        theta0 = resolve(f"{self.name}.theta_init", self.theta_init, self.n, batch, rng)
        return np.exp(-dt / tau_a), b, theta0


class AdLIFGroup(NeuronGroup):
    """Adaptive LIF neurons with an adaptation current ``w`` (Bittar & Garner 2022): the equations
    and parameters of :class:`spikeflow.nn.AdLIF` (``reset="subtract"``, no refractory period),
    per step of the network's ``dt``::

        u = beta v + (1 - beta) (I - w);  s = (u - v_th >= 0);  v = u - v_th s
        w = rho w + a u + b s;            beta = exp(-dt / tau_m), rho = exp(-dt / tau_w)

    The mapping is exact: ``sf.nn.AdLIF(beta=exp(-dt / tau_m), rho=exp(-dt / tau_w), a=a, b=b,
    threshold=v_th)`` (float64) driven by the same input gives the same spikes. ``I`` is the
    external current plus the group's synaptic channels (exponentially decaying currents, as
    :class:`IzhikevichGroup`), in the units of ``v`` and ``v_th`` (unitless, rest at 0).

    Arguments (each a number, ``[N]``/``[B, N]`` array or a random spec, see ``values``):
        n: number of neurons.
        tau_m: membrane time constant (ms).
        tau_w: adaptation time constant (ms).
        a: coupling of the membrane into ``w`` (unitless).
        b: increase of ``w`` per spike (units of ``v``).
        v_th: firing threshold (units of ``v``).
        tau_syn: channel name -> decay time constant (ms); names are the targets of synapses.
        current: external input ``I``, constant or a :class:`TimedArray`.
        v_init: initial membrane (default 0).
        w_init: initial adaptation current (default 0).
    """

    state_vars = ("v", "w")
    kind = E.KIND_ADLIF

    def __init__(
        self,
        n: int,
        *,
        tau_m: Value = 10.0,
        tau_w: Value = 60.0,
        a: Value = 0.5,
        b: Value = 1.0,
        v_th: Value = 1.0,
        tau_syn: Mapping[str, Value] | None = None,
        current: Drive = 0.0,
        v_init: Value = 0.0,
        w_init: Value = 0.0,
        name: str = "adlif",
    ) -> None:
        tau_syn = dict(tau_syn if tau_syn is not None else {"e": 5.0, "i": 10.0})
        super().__init__(n, name, tuple(tau_syn))
        self.tau_m, self.tau_w, self.a, self.b, self.v_th = tau_m, tau_w, a, b, v_th
        self.tau_syn, self.current, self.v_init, self.w_init = tau_syn, current, v_init, w_init

    def build(self, batch: int, rng: np.random.Generator, dt: float) -> GroupArrays:
        def r(name: str, value: Value) -> np.ndarray:
            return resolve(f"{self.name}.{name}", value, self.n, batch, rng)

        tau_m = _positive(f"{self.name}.tau_m", r("tau_m", self.tau_m))
        tau_w = _positive(f"{self.name}.tau_w", r("tau_w", self.tau_w))
        v_th = r("v_th", self.v_th)
        if np.any(v_th <= 0):
            raise UserError(f"{self.name}.v_th has minimum {v_th.min():g}; expected values > 0")
        channels = []
        for ch, tau_spec in self.tau_syn.items():
            tau = _positive(f"{self.name}.tau_syn[{ch!r}]", r(f"tau_syn[{ch!r}]", tau_spec))
            channels.append((np.exp(-dt / tau), np.zeros_like(tau), np.zeros_like(tau)))
        params = {
            E.P_AD_BETA: np.exp(-dt / tau_m),
            E.P_AD_RHO: np.exp(-dt / tau_w),
            E.P_AD_A: r("a", self.a),
            E.P_AD_B: r("b", self.b),
            E.P_V_TH: v_th,
        }
        state = {E.S_V: r("v_init", self.v_init), E.S_U: r("w_init", self.w_init)}
        for i in range(len(self.channels)):
            state[E.S_G0 + i] = np.zeros((batch, self.n))
        drive, every = resolve_drive(f"{self.name}.current", self.current, self.n, batch, rng, dt)
        ref = np.zeros((batch, self.n), dtype=np.int64)
        return GroupArrays(self.kind, params, channels, state, ref, drive, every)


IZHIKEVICH_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "regular_spiking": (0.02, 0.2, -65.0, 8.0),
    "fast_spiking": (0.1, 0.2, -65.0, 2.0),
    "intrinsically_bursting": (0.02, 0.2, -55.0, 4.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
}


class IzhikevichGroup(NeuronGroup):
    """Izhikevich (2003) neurons: ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``.

    When ``v >= 30`` mV: ``v = c``, ``u += d``. Time in ms, ``v`` in mV, ``I`` in the model's own
    units; synaptic channels are exponentially decaying currents added to ``I``. Integrated by
    forward Euler with the network's ``dt``. ``preset`` picks ``a, b, c, d`` from
    :data:`IZHIKEVICH_PRESETS`.
    """

    state_vars = ("v", "u")
    kind = E.KIND_IZHIKEVICH

    def __init__(
        self,
        n: int,
        *,
        preset: str | None = "regular_spiking",
        a: Value | None = None,
        b: Value | None = None,
        c: Value | None = None,
        d: Value | None = None,
        tau_syn: Mapping[str, Value] | None = None,
        current: Drive = 0.0,
        v_init: Value = -65.0,
        u_init: Value | None = None,
        name: str = "izhikevich",
    ) -> None:
        base: tuple[Value | None, ...] = (None, None, None, None)
        if preset is not None:
            check_choice("preset", preset, IZHIKEVICH_PRESETS)
            base = IZHIKEVICH_PRESETS[preset]
        given = (a, b, c, d)
        chosen = [g if g is not None else p for g, p in zip(given, base, strict=True)]
        abcd = tuple(v for v in chosen if v is not None)
        if len(abcd) < 4:
            raise UserError("IzhikevichGroup needs a preset or all of a, b, c, d")
        tau_syn = dict(tau_syn if tau_syn is not None else {"e": 5.0, "i": 10.0})
        super().__init__(n, name, tuple(tau_syn))
        self.abcd, self.tau_syn, self.current = abcd, tau_syn, current
        self.v_init, self.u_init = v_init, u_init

    def build(self, batch: int, rng: np.random.Generator, dt: float) -> GroupArrays:
        def r(name: str, value: Value) -> np.ndarray:
            return resolve(f"{self.name}.{name}", value, self.n, batch, rng)

        a, b, c, d = (r(k, v) for k, v in zip("abcd", self.abcd, strict=True))
        channels = []
        for ch, tau_spec in self.tau_syn.items():
            tau = _positive(f"{self.name}.tau_syn[{ch!r}]", r(f"tau_syn[{ch!r}]", tau_spec))
            channels.append((np.exp(-dt / tau), np.zeros_like(tau), np.zeros_like(tau)))
        v0 = r("v_init", self.v_init)
        u0 = b * v0 if self.u_init is None else r("u_init", self.u_init)
        state = {E.S_V: v0, E.S_U: u0}
        for i in range(len(self.channels)):
            state[E.S_G0 + i] = np.zeros((batch, self.n))
        params = {E.P_IZ_A: a, E.P_IZ_B: b, E.P_IZ_C: c, E.P_IZ_D: d}
        drive, every = resolve_drive(f"{self.name}.current", self.current, self.n, batch, rng, dt)
        ref = np.zeros((batch, self.n), dtype=np.int64)
        return GroupArrays(self.kind, params, channels, state, ref, drive, every)
