"""Current-based synaptic LIF, one step::

i = alpha * i_prev + x              # synaptic current (keeps evolving while refractory)
v = beta * v_prev + i               # held while refractory
s = H(v - threshold); v <- reset(v, s)
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from spikeflow.functional._core import SpikeParams, fire_and_reset, hold_if_refractory


class SynapticState(NamedTuple):
    i: Tensor
    v: Tensor
    refrac: Tensor


class SynapticParams(NamedTuple):
    """``alpha``: synaptic current decay; ``beta``: membrane decay (both per step, in [0, 1])."""

    alpha: Tensor
    beta: Tensor
    spike: SpikeParams


def synaptic_step(
    x: Tensor, state: SynapticState, p: SynapticParams
) -> tuple[Tensor, SynapticState, Tensor]:
    """One current-based LIF step. Returns ``(spikes, new_state, v_before_reset)``."""
    i = p.alpha * state.i + x
    v = hold_if_refractory(state.v, p.beta * state.v + i, state.refrac, p.spike.refractory)
    s, v_next, refrac = fire_and_reset(v, state.refrac, p.spike.threshold, p.spike)
    return s, SynapticState(i, v_next, refrac), v
