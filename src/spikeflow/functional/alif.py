"""Adaptive LIF (Bellec et al. 2018 style), one step::

v     = beta * v_prev + x                   # held while refractory
theta = threshold + b_prev                  # adaptive threshold
s     = H(v - theta); v <- reset(v, s)      # "subtract" removes theta
b     = rho * b_prev + beta_a * s           # adaptation grows with each spike, decays with rho
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor

from spikeflow.functional._core import SpikeParams, fire_and_reset, hold_if_refractory


class ALIFState(NamedTuple):
    v: Tensor
    b: Tensor
    refrac: Tensor


class ALIFParams(NamedTuple):
    """``beta``: membrane decay; ``rho``: adaptation decay; ``beta_a``: adaptation per spike."""

    beta: Tensor
    rho: Tensor
    beta_a: Tensor
    spike: SpikeParams


def alif_step(x: Tensor, state: ALIFState, p: ALIFParams) -> tuple[Tensor, ALIFState, Tensor]:
    """One adaptive-LIF step. Returns ``(spikes, new_state, v_before_reset)``."""
    v = hold_if_refractory(state.v, p.beta * state.v + x, state.refrac, p.spike.refractory)
    theta = p.spike.threshold + state.b
    s, v_next, refrac = fire_and_reset(v, state.refrac, theta, p.spike)
    b = p.rho * state.b + p.beta_a * s
    return s, ALIFState(v_next, b, refrac), v
