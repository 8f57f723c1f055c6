"""Input groups: Poisson spike sources and spike generators (given indices and times).

Constant or time-varying currents are not groups: pass ``current=`` (a number, an array or a
:class:`~spikeflow.sim.values.TimedArray`) to a neuron group.
"""

from __future__ import annotations

import numpy as np

from spikeflow.errors import UserError
from spikeflow.sim import layout as E
from spikeflow.sim.groups import GroupArrays, NeuronGroup
from spikeflow.sim.values import Drive, resolve_drive


class PoissonGroup(NeuronGroup):
    """``n`` independent Poisson spike sources with rates in Hz.

    At each step of ``dt`` ms a source spikes with probability ``rate * dt / 1000`` (at most one
    spike per step, so ``rate * dt / 1000`` must not exceed 1). ``rates`` is a number, an array
    ``[N]`` or ``[B, N]``, or a :class:`~spikeflow.sim.values.TimedArray` for time-varying rates.
    Each batch copy draws its own spikes. Rates can be changed between runs with
    :meth:`spikeflow.sim.Network.set_rates`.
    """

    kind = E.KIND_POISSON

    def __init__(self, n: int, rates: Drive, *, name: str = "poisson") -> None:
        super().__init__(n, name)
        self.rates = rates

    def build(self, batch: int, rng: np.random.Generator, dt: float) -> GroupArrays:
        drive, every = resolve_drive(f"{self.name}.rates", self.rates, self.n, batch, rng, dt)
        check_rates(f"{self.name}.rates", drive, dt)
        zeros = np.zeros((batch, self.n), dtype=np.int64)
        return GroupArrays(self.kind, {}, [], {}, zeros, drive, every)


def check_rates(name: str, rates: np.ndarray, dt: float) -> None:
    """Rates must lie in ``[0, 1000 / dt]`` Hz (at most one spike per step)."""
    top = 1000.0 / dt
    if rates.size and (rates.min() < 0 or rates.max() > top):
        raise UserError(
            f"{name} ranges over [{rates.min():g}, {rates.max():g}] Hz; expected rates in "
            f"[0, {top:g}] Hz (at most one spike per step of {dt:g} ms)"
        )


class SpikeGeneratorGroup(NeuronGroup):
    """Neurons that spike at given times: neuron ``indices[k]`` spikes at ``times[k]`` ms.

    Times are rounded to the nearest step; every batch copy gets the same spikes. A neuron may
    spike at most once per step.
    """

    kind = E.KIND_GENERATOR

    def __init__(self, n: int, indices, times, *, name: str = "generator") -> None:
        super().__init__(n, name)
        idx = np.asarray(indices, dtype=np.int64).ravel()
        t = np.asarray(times, dtype=np.float64).ravel()
        if idx.shape != t.shape:
            raise UserError(
                f"indices has {idx.size} entries but times has {t.size}; expected equal"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise UserError(f"indices range over [{idx.min()}, {idx.max()}]; expected [0, {n - 1}]")
        if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
            raise UserError(f"times has minimum {t.min():g} ms; expected finite times >= 0 ms")
        self.indices, self.times = idx, t

    def schedule(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(steps, indices) sorted by step."""
        steps = np.rint(self.times / dt).astype(np.int64)
        order = np.lexsort((self.indices, steps))
        steps, idx = steps[order], self.indices[order]
        dup = (np.diff(steps) == 0) & (np.diff(idx) == 0)
        if np.any(dup):
            k = int(np.argmax(dup))
            raise UserError(
                f"{self.name}: neuron {idx[k]} spikes twice in step {steps[k]} (dt={dt:g} ms); "
                "expected at most one spike per neuron and step"
            )
        return steps, idx

    def build(self, batch: int, rng: np.random.Generator, dt: float) -> GroupArrays:
        zeros = np.zeros((batch, self.n), dtype=np.int64)
        return GroupArrays(self.kind, {}, [], {}, zeros, np.zeros((1, batch, self.n)), 1)
