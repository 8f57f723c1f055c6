"""Leaky integrate-and-fire, one step.

Per step (DESIGN.md)::

    v    = beta * v_prev + x            # held at v_prev, input ignored, while refractory
    s    = H(v - threshold)
    v   <- reset(v, s)                  # subtract | zero | none
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from spikeflow.functional._core import SpikeParams, fire_and_reset, hold_if_refractory


class LIFState(NamedTuple):
    """``v``: membrane after reset; ``refrac``: refractory steps left (both ``[B, ...]``)."""

    v: Tensor
    refrac: Tensor


class LIFParams(NamedTuple):
    """``beta``: membrane decay per step in [0, 1]; ``spike``: firing and reset."""

    beta: Tensor
    spike: SpikeParams


def lif_step(x: Tensor, state: LIFState, p: LIFParams) -> tuple[Tensor, LIFState, Tensor]:
    """One LIF step. Returns ``(spikes, new_state, v_before_reset)``."""
    v = hold_if_refractory(state.v, p.beta * state.v + x, state.refrac, p.spike.refractory)
    s, v_next, refrac = fire_and_reset(v, state.refrac, p.spike.threshold, p.spike)
    return s, LIFState(v_next, refrac), v
