"""Charge -> fire -> reset: the pieces every spiking neuron model shares.

A model's step integrates its own dynamics into a membrane potential ``v`` and then calls
:func:`fire_and_reset`, so spiking, reset modes and the refractory period are written once.
"""

from __future__ import annotations

from typing import NamedTuple, overload

import torch
from torch import Tensor

from spikeflow.surrogate import Surrogate, spike

RESET_MODES = ("subtract", "zero", "none")


class SpikeParams(NamedTuple):
    """How a neuron fires and resets.

    threshold:    firing threshold (tensor broadcastable to the neuron shape).
    reset:        ``"subtract"`` (v -= threshold), ``"zero"`` (v = v_reset), or ``"none"``.
    v_reset:      membrane value after a ``"zero"`` reset.
    refractory:   steps after a spike during which input is ignored, ``v`` is held and no spike fires.
    surrogate:    the surrogate gradient of the spike.
    detach_reset: if True the reset term carries no gradient (the common choice; snnTorch default).
    """

    threshold: Tensor
    reset: str
    v_reset: Tensor
    refractory: int
    surrogate: Surrogate
    detach_reset: bool


def hold_if_refractory(v_prev: Tensor, v_new: Tensor, refrac: Tensor, refractory: int) -> Tensor:
    """``v_new`` where the neuron is free, ``v_prev`` (held) where it is refractory."""
    if refractory == 0:
        return v_new
    return torch.where(refrac > 0, v_prev, v_new)


@overload
def fire_and_reset(
    v: Tensor, refrac: Tensor, threshold: Tensor, p: SpikeParams
) -> tuple[Tensor, Tensor, Tensor]: ...


@overload
def fire_and_reset(
    v: Tensor, refrac: None, threshold: Tensor, p: SpikeParams
) -> tuple[Tensor, Tensor, None]: ...


def fire_and_reset(
    v: Tensor, refrac: Tensor | None, threshold: Tensor, p: SpikeParams
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Spike where ``v >= threshold`` (and not refractory), then reset.

    Arguments:
        v: membrane after integration, ``[B, ...]``.
        refrac: remaining refractory steps per neuron, ``[B, ...]`` (float); may be None for a
            model without a refractory period (``p.refractory == 0``).
        threshold: effective threshold (``p.threshold`` or an adaptive one).
        p: spiking parameters.

    Returns:
        ``(s, v_after_reset, refrac_next)``.
    """
    if p.refractory and refrac is None:
        raise ValueError(f"refractory={p.refractory} needs the refrac state; got None")
    s = spike(v - threshold, p.surrogate)
    if refrac is not None and p.refractory:
        s = s * (refrac <= 0).to(s.dtype)
    s_r = s.detach() if p.detach_reset else s
    if p.reset == "subtract":
        v = v - s_r * threshold
    elif p.reset == "zero":
        v = v - s_r * (v - p.v_reset)
    if refrac is not None and p.refractory:
        refrac = torch.where(s.detach() > 0, torch.full_like(refrac, p.refractory), refrac - 1)
        refrac = refrac.clamp_min(0)
    return s, v, refrac
