"""Small modules that NIR graphs need and :mod:`spikeflow.nn` does not have.

- :class:`LeakyIntegrator`: a non-spiking readout (NIR ``LI`` and ``CubaLI``) whose output is its
  membrane: ``i = alpha i_prev + x[t]; v = beta v_prev + i`` (``alpha = 0`` gives ``v = beta v + x``).
- :class:`Threshold`: a stateless spike ``s = H(x - threshold)`` with a surrogate gradient (NIR
  ``Threshold``).
- :class:`Scale`: an element-wise ``y = gain * x + offset`` (NIR ``Scale``; also the input gain and
  leak offset that a neuron node with ``r * dt / tau != 1`` or ``v_leak != 0`` needs).

All act on ``[T, B, ...]`` inside a :class:`spikeflow.nn.Sequential`; the per-neuron parameters broadcast
against the trailing dims (``[N]`` or ``[C, H, W]``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from spikeflow import surrogate as surrogates
from spikeflow.nn.neuron import Neuron, as_tensor, decay


class LIState(NamedTuple):
    """``i``: synaptic current; ``v``: membrane (both ``[B, ...]``)."""

    i: Tensor
    v: Tensor


class LIParams(NamedTuple):
    """``alpha``: current decay per step; ``beta``: membrane decay per step (both in [0, 1])."""

    alpha: Tensor
    beta: Tensor


def li_step(x: Tensor, state: LIState, p: LIParams) -> tuple[Tensor, LIState, Tensor]:
    """One leaky-integrator step. Returns ``(v, new_state, v)``: the output is the membrane."""
    i = p.alpha * state.i + x
    v = p.beta * state.v + i
    return v, LIState(i, v), v


class LeakyIntegrator(Neuron):
    """Non-spiking leaky integrator: ``i = alpha i_prev + x[t]; v = beta v_prev + i``; outputs ``v``.

    Arguments:
        beta: membrane decay per step in [0, 1] (scalar or per-neuron).
        alpha: synaptic current decay per step in [0, 1]; ``0`` (default) is the plain LI,
            ``v = beta v_prev + x[t]``.

    ``forward(x [T, B, ...]) -> (v [T, B, ...], state)``.
    """

    step_fn = staticmethod(li_step)
    state_cls = LIState
    beta: Tensor
    alpha: Tensor

    def __init__(self, beta: float | Tensor = 0.9, alpha: float | Tensor = 0.0) -> None:
        super().__init__()
        self.register_buffer("beta", decay("beta", beta, None, None))
        self.register_buffer("alpha", decay("alpha", alpha, None, None))

    def params(self) -> LIParams:
        return LIParams(self.alpha, self.beta)

    def initial_state(self, x_t: Tensor) -> LIState:
        return LIState(torch.zeros_like(x_t), torch.zeros_like(x_t))


class Threshold(nn.Module):
    """Stateless spike: ``s = H(x - threshold)`` (1 where ``x >= threshold``), surrogate backward."""

    threshold: Tensor

    def __init__(
        self, threshold: float | Tensor = 1.0, surrogate: str | surrogates.Surrogate = "atan"
    ) -> None:
        super().__init__()
        self.register_buffer("threshold", as_tensor("threshold", threshold))
        self.surrogate = surrogates.get(surrogate)

    def forward(self, x: Tensor) -> Tensor:
        return surrogates.spike(x - self.threshold, self.surrogate)


class Scale(nn.Module):
    """Element-wise ``y = gain * x + offset`` with per-neuron ``gain`` and ``offset``."""

    gain: Tensor
    offset: Tensor

    def __init__(self, gain: float | Tensor = 1.0, offset: float | Tensor = 0.0) -> None:
        super().__init__()
        self.register_buffer("gain", as_tensor("gain", gain))
        self.register_buffer("offset", as_tensor("offset", offset))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gain + self.offset
