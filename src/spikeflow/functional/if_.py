"""Integrate-and-fire (no leak), one step: ``v = v_prev + x``, then fire and reset as LIF."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from spikeflow.functional._core import SpikeParams, fire_and_reset, hold_if_refractory
from spikeflow.functional.lif import LIFState


class IFParams(NamedTuple):
    spike: SpikeParams


def if_step(x: Tensor, state: LIFState, p: IFParams) -> tuple[Tensor, LIFState, Tensor]:
    """One IF step. Returns ``(spikes, new_state, v_before_reset)``."""
    v = hold_if_refractory(state.v, state.v + x, state.refrac, p.spike.refractory)
    s, v_next, refrac = fire_and_reset(v, state.refrac, p.spike.threshold, p.spike)
    return s, LIFState(v_next, refrac), v
