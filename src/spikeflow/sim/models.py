"""The classic benchmark networks of Brette et al. (2007), after Vogels & Abbott (2005).

Both are 80% excitatory / 20% inhibitory LIF networks, each pair connected with probability
``p`` (0.02), ``tau_m`` 20 ms, threshold -50 mV, reset -60 mV, refractory 5 ms, exponential
synapses with ``tau_e`` 5 ms and ``tau_i`` 10 ms, ``dt`` 0.1 ms.

- CUBA (current-based): rest -49 mV; a spike adds +1.62 mV (excitatory) or -9 mV (inhibitory)
  to the target's synaptic current (expressed in mV); initial ``v`` uniform in [-60, -50] mV.
- COBA (conductance-based): rest -60 mV, reversal 0 mV (E) and -80 mV (I); a spike adds 0.6 (E)
  or 6.7 (I) to the conductance, relative to the leak (6 nS and 67 nS for a 10 nS leak); initial
  ``v`` = -60 + N(-5, 5) mV, ``g_e`` = N(4, 1.5) and ``g_i`` = N(20, 12) (clipped at 0) in leak
  units, as in Brian2's COBA example.

Scaled to other sizes, the connection probability is scaled by ``4000 / n`` so that each neuron
keeps its 80 excitatory and 20 inhibitory inputs on average.

:func:`microcircuit` builds the Potjans & Diesmann (2014) cortical microcircuit
(:mod:`spikeflow.sim.microcircuit`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.memory import check_fits
from spikeflow.sim import report
from spikeflow.sim.groups import LIFGroup
from spikeflow.sim.memory import network_bytes
from spikeflow.sim.microcircuit import Microcircuit, derive
from spikeflow.sim.microcircuit import build as build_microcircuit
from spikeflow.sim.monitors import SpikeMonitor
from spikeflow.sim.network import Network, whole_steps
from spikeflow.sim.synapses import Synapses
from spikeflow.sim.values import Uniform

MODELS = ("cuba", "coba")


def microcircuit(
    scale: float = 1.0, *, k_scale: float | None = None, thalamic: bool = False, seed: int = 0
) -> Microcircuit:
    """The Potjans & Diesmann (2014) cortical microcircuit, drawn at ``scale``.

    Arguments:
        scale: neuron numbers relative to the full model (77,169 neurons), in (0, 1].
        k_scale: in-degrees relative to the full model (default ``scale``; below 1 the weights
            grow by ``1 / sqrt(k_scale)`` and a DC current keeps the mean input).
        thalamic: add the thalamic pulse (902 neurons, 120 Hz from 700 to 710 ms).
        seed: seed of every draw.

    Returns:
        The :class:`~spikeflow.sim.microcircuit.Microcircuit` (run it with
        :func:`spikeflow.sim.microcircuit_run.simulate_microcircuit` or the engine of
        :mod:`spikeflow.sim.microcircuit_engine`).
    """
    return build_microcircuit(derive(scale, k_scale=k_scale, thalamic=thalamic), seed)


@dataclass
class BenchmarkNetwork:
    """A built benchmark network with its two populations and their spike monitors."""

    net: Network
    exc: LIFGroup
    inh: LIFGroup
    spikes_exc: SpikeMonitor
    spikes_inh: SpikeMonitor


def _coba_init(rng: np.random.Generator, batch: int, n: int) -> dict[str, np.ndarray]:
    return {
        "v": -60.0 + rng.normal(-5.0, 5.0, (batch, n)),
        "e": np.clip(rng.normal(4.0, 1.5, (batch, n)), 0.0, None),
        "i": np.clip(rng.normal(20.0, 12.0, (batch, n)), 0.0, None),
    }


def build(
    model: str = "cuba",
    neurons: int = 4000,
    *,
    p: float | None = None,
    dt: float = 0.1,
    batch: int = 1,
    seed: int = 0,
) -> BenchmarkNetwork:
    """Build the CUBA or COBA network with ``neurons`` neurons (see the module docstring)."""
    check_choice("model", model, MODELS)
    check_positive_int("neurons", neurons)
    if neurons < 10:
        raise UserError(f"neurons={neurons} is too small; expected at least 10")
    n_exc = round(0.8 * neurons)
    p = min(1.0, 0.02 * 4000 / neurons) if p is None else p
    synapses = p * neurons * neurons
    check_fits(
        f"neurons={neurons} ({synapses:.3g} synapses at p={p:.3g}, batch={batch})",
        network_bytes(synapses, neurons, batch, channels=2),
    )
    common = dict(tau_m=20.0, v_th=-50.0, v_reset=-60.0, refractory=5.0)
    kw: dict[str, Any]  # LIFGroup's keyword arguments
    tau_syn = {"e": 5.0, "i": 10.0}
    if model == "cuba":
        kw = dict(common, v_rest=-49.0, tau_syn=tau_syn, v_init=Uniform(-60.0, -50.0))
        w_e, w_i = 1.62, -9.0
        groups = [
            LIFGroup(n, name=name, **kw) for n, name in ((n_exc, "exc"), (neurons - n_exc, "inh"))
        ]
    else:
        rng = np.random.default_rng(seed + 7919)
        kw = dict(
            common,
            v_rest=-60.0,
            tau_syn=tau_syn,
            synapse="conductance",
            e_rev={"e": 0.0, "i": -80.0},
        )
        w_e, w_i = 0.6, 6.7
        groups = []
        for n, name in ((n_exc, "exc"), (neurons - n_exc, "inh")):
            init = _coba_init(rng, batch, n)
            groups.append(
                LIFGroup(
                    n, name=name, v_init=init["v"], g_init={"e": init["e"], "i": init["i"]}, **kw
                )
            )
    exc, inh = groups
    syns = [
        Synapses(pre, post, target=target, p=p, weight=w, name=f"{pre.name}->{post.name}")
        for pre, target, w in ((exc, "e", w_e), (inh, "i", w_i))
        for post in (exc, inh)
    ]
    mon_e, mon_i = SpikeMonitor(exc), SpikeMonitor(inh)
    net = Network(exc, inh, *syns, mon_e, mon_i, dt=dt, batch=batch, seed=seed)
    return BenchmarkNetwork(net, exc, inh, mon_e, mon_i)


@dataclass(frozen=True)
class BenchmarkRun:
    """A finished run of a benchmark network: its monitors and summary figures.

    Arguments:
        bench: the network with its spike monitors. model, neurons, duration_ms, dt_ms, batch,
            seed, device: how it was run. rate_hz: mean rate of ``exc`` and ``inh`` (Hz).
        isi_cv: mean ISI coefficient of variation of ``exc`` and ``inh`` (copy 0).
        spikes: number of spikes. build_s, run_s: wall time of building with the first step,
            and of the rest (s).
    """

    bench: BenchmarkNetwork
    model: str
    neurons: int
    duration_ms: float
    dt_ms: float
    batch: int
    seed: int
    device: str
    rate_hz: dict[str, float]
    isi_cv: dict[str, float]
    spikes: int
    build_s: float
    run_s: float

    def summary(self) -> dict:
        """The figures as a JSON-ready dict."""
        return {
            "model": self.model, "neurons": self.neurons, "duration_ms": self.duration_ms,
            "dt_ms": self.dt_ms, "batch": self.batch, "seed": self.seed, "device": self.device,
            "rate_hz": self.rate_hz, "isi_cv": self.isi_cv, "spikes": self.spikes,
            "wall_s": {"build_and_first_step": self.build_s, "run": self.run_s,
                       "total": self.build_s + self.run_s},
        }  # fmt: skip


def simulate(
    model: str = "cuba",
    neurons: int = 4000,
    *,
    duration_ms: float = 1000.0,
    dt: float = 0.1,
    batch: int = 1,
    seed: int = 0,
    device: str | None = None,
) -> BenchmarkRun:
    """Build and run the CUBA or COBA network and measure it.

    Arguments:
        model: ``"cuba"`` or ``"coba"``. neurons: network size.
        duration_ms: biological time (ms, a whole number of steps). dt: time step (ms).
        batch: independent copies. seed: seed of everything random.
        device: engine (see :class:`~spikeflow.sim.Network`).

    Returns:
        The :class:`BenchmarkRun`; the first step is timed with the build (it builds the arrays
        and loads or compiles the engine).
    """
    check_range("dt", dt, 0.0, low_open=True)
    n_steps = whole_steps(duration_ms, dt)
    t0 = time.perf_counter()
    bench = build(model, neurons, dt=dt, batch=batch, seed=seed)
    bench.net.set_device(device)
    bench.net.run(dt)
    t1 = time.perf_counter()
    if n_steps > 1:
        bench.net.run((n_steps - 1) * dt)
    t2 = time.perf_counter()
    mons = {"exc": bench.spikes_exc, "inh": bench.spikes_inh}
    return BenchmarkRun(
        bench, model, neurons, duration_ms, dt, batch, seed, device or "cpu",
        rate_hz={k: report.mean_rate(m, duration_ms, batch) for k, m in mons.items()},
        isi_cv={k: report.isi_cv(m) for k, m in mons.items()},
        spikes=int(sum(m.i.size for m in mons.values())), build_s=t1 - t0, run_s=t2 - t1,
    )  # fmt: skip
