"""Izhikevich (2003) neuron, one step of ``dt`` milliseconds, as in the published code::

    v += dt/n * (0.04 v^2 + 5 v + 140 - u + I)     # n Euler sub-steps for v (published: 2 x 0.5 ms)
    u += dt * a * (b v - u)
    s  = H(v - v_peak); where s: v <- c, u <- u + d

Units: ``v`` and ``c`` in mV, time in ms, ``I`` in the model's dimensionless current units.
The recorded membrane is clipped at ``v_peak`` (30 mV), as in Izhikevich's figures.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from spikeflow.functional._core import SpikeParams, fire_and_reset


class IzhikevichState(NamedTuple):
    v: Tensor
    u: Tensor


class IzhikevichParams(NamedTuple):
    """``a, b, d`` of the model; ``c`` is ``spike.v_reset``, ``v_peak`` is ``spike.threshold``."""

    a: Tensor
    b: Tensor
    d: Tensor
    dt: float
    substeps: int
    spike: SpikeParams


def izhikevich_step(
    x: Tensor, state: IzhikevichState, p: IzhikevichParams
) -> tuple[Tensor, IzhikevichState, Tensor]:
    """One Izhikevich step. Returns ``(spikes, new_state, v_before_reset clipped at v_peak)``."""
    v, u = state.v, state.u
    h = p.dt / p.substeps
    for _ in range(p.substeps):
        v = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + x)
    u = u + p.dt * p.a * (p.b * v - u)
    s, v_next, _ = fire_and_reset(v, None, p.spike.threshold, p.spike)
    u = u + p.d * (s.detach() if p.spike.detach_reset else s)
    return s, IzhikevichState(v_next, u), v.clamp(max=p.spike.threshold)
