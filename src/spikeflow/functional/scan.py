"""The one time loop that every reference neuron path uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, TypeVar, overload

import torch
from torch import Tensor

S = TypeVar("S", bound=tuple)

StepFn = Callable[[Tensor, S, Any], tuple[Tensor, S, Tensor]]


class Trace(NamedTuple):
    """Record of a run: ``spikes`` and the pre-reset membrane ``v``, both ``[T, B, ...]``."""

    spikes: Tensor
    v: Tensor


@overload
def scan(
    step: StepFn, x: Tensor, state: S, params: Any, *, record_v: Literal[True]
) -> tuple[Tensor, S, Tensor]: ...


@overload
def scan(
    step: StepFn, x: Tensor, state: S, params: Any, *, record_v: Literal[False] = False
) -> tuple[Tensor, S, None]: ...


def scan(
    step: StepFn, x: Tensor, state: S, params: Any, *, record_v: bool = False
) -> tuple[Tensor, S, Tensor | None]:
    """Apply ``step(x[t], state, params) -> (s, state, v)`` for ``t = 0 .. T-1``.

    Arguments:
        step: a pure step function from :mod:`spikeflow.functional`.
        x: input ``[T, B, ...]``.
        state: initial state (a NamedTuple of ``[B, ...]`` tensors).
        params: the model's parameter tuple.
        record_v: also return the pre-reset membrane of every step.

    Returns:
        ``(spikes [T, B, ...], final_state, v [T, B, ...] or None)``.
    """
    spikes: list[Tensor] = []
    vs: list[Tensor] = []
    for t in range(x.shape[0]):
        s, state, v = step(x[t], state, params)
        spikes.append(s)
        if record_v:
            vs.append(v)
    if not spikes:  # T = 0: empty outputs on x's autograd graph, and the state unchanged
        return x.clone(), state, (x.clone() if record_v else None)
    return torch.stack(spikes), state, (torch.stack(vs) if record_v else None)
