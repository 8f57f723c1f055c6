"""Adaptive LIF with an adaptation current (adLIF; Bittar & Garner 2022), one step::

u = beta * v_prev + (1 - beta) * (x - w_prev)   # held while refractory
s = H(u - threshold); v <- reset(u, s)          # "subtract": v = u - threshold * s
w = rho * w_prev + a * u + b * s                # the current used at the next step

``w`` is driven by the membrane (``a``: sub-threshold coupling; ``a > 0`` gives damped
oscillations) and by the spikes (``b``: spike-triggered adaptation), decays by ``rho`` and is
subtracted from the input. In the paper's notation ``alpha`` is this ``beta`` (membrane decay) and
its ``beta`` is this ``rho`` (adaptation decay); its update ``w[t] = beta w[t-1] + a u[t-1] + b
s[t-1]``, computed at the start of step ``t``, is the update above computed at the end of step
``t - 1`` (``u`` before reset), so the two give the same spikes.
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from spikeflow.functional._core import SpikeParams, fire_and_reset, hold_if_refractory


class AdLIFState(NamedTuple):
    """``v``: membrane after reset; ``w``: adaptation current for the next step; ``refrac``:
    refractory steps left (all ``[B, ...]``)."""

    v: Tensor
    w: Tensor
    refrac: Tensor


class AdLIFParams(NamedTuple):
    """``beta``: membrane decay; ``rho``: adaptation decay (per step, in [0, 1]); ``a``: coupling of
    the membrane into ``w``; ``b``: increase of ``w`` per spike; ``spike``: firing and reset."""

    beta: Tensor
    rho: Tensor
    a: Tensor
    b: Tensor
    spike: SpikeParams


def adlif_step(x: Tensor, state: AdLIFState, p: AdLIFParams) -> tuple[Tensor, AdLIFState, Tensor]:
    """One adLIF step. Returns ``(spikes, new_state, u_before_reset)``."""
    u = hold_if_refractory(
        state.v, p.beta * state.v + (1 - p.beta) * (x - state.w), state.refrac, p.spike.refractory
    )
    s, v_next, refrac = fire_and_reset(u, state.refrac, p.spike.threshold, p.spike)
    w = p.rho * state.w + p.a * u + p.b * s
    return s, AdLIFState(v_next, w, refrac), u
