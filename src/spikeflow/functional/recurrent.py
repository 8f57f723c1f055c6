"""Recurrent wrapper: any neuron step, fed back its own previous spikes through a weight::

x_eff = x + s_prev @ W.T   (dense W, [N, N])   or   x + s_prev * w   (one-to-one w, [N])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from torch import Tensor


class RecurrentState(NamedTuple):
    neuron: tuple
    s: Tensor


class RecurrentParams(NamedTuple):
    """``weight``: ``[N, N]`` (dense) or ``[N]`` (one-to-one); ``step``/``neuron``: the inner model."""

    weight: Tensor
    step: Callable[..., Any]
    neuron: Any


def recurrent_input(x: Tensor, s_prev: Tensor, weight: Tensor) -> Tensor:
    """Input plus the recurrent contribution of the previous step's spikes."""
    if weight.dim() == 1:
        return x + s_prev * weight
    return x + s_prev @ weight.T


def recurrent_step(
    x: Tensor, state: RecurrentState, p: RecurrentParams
) -> tuple[Tensor, RecurrentState, Tensor]:
    """One step of a recurrent neuron layer. Returns ``(spikes, new_state, v_before_reset)``."""
    s, neuron_state, v = p.step(recurrent_input(x, state.s, p.weight), state.neuron, p.neuron)
    return s, RecurrentState(neuron_state, s), v
