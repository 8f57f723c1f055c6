"""What a fused kernel needs to know about one multi-step call, and whether one applies.

Every fused backend runs the same LIF-family recurrence (DESIGN.md) per neuron over the whole time
axis, switched by a few flags::

    i     = alpha * i_prev + x[t]                 # synaptic only; u = i, else u = x[t]
    free  = refrac_prev <= 0                      # always true without a refractory period
    v     = beta * v_prev + u   if free else v_prev   # IF: beta = 1
    theta = threshold + b_prev                    # adaptive only; else theta = threshold
    s     = H(v - theta) and free
    v    <- v - s*theta | v - s*(v - v_reset) | v # reset subtract | zero | none
    refrac = refractory if s else max(refrac - 1, 0)
    b     = rho * b_prev + beta_a * s             # adaptive only

:func:`make_plan` maps ``(kind, state, params)`` onto this form, or returns the reason why no fused
kernel applies (the dispatcher then falls back to the reference scan or raises).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from spikeflow import surrogate as sg

KINDS = ("lif", "if", "synaptic", "alif")
RESET_IDS = {"subtract": 0, "zero": 1, "none": 2}
FUSED_DTYPES = (torch.float32, torch.float64)
# Low-precision inputs the kernels take: the recurrence runs in float32 (see compute_dtype).
LOW_DTYPES = (torch.bfloat16, torch.float16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a fused kernel computes in for input of ``dtype``: float32 for bfloat16 and
    float16 (the membrane accumulates in float32; spikes and ``dL/dx`` come back in ``dtype``),
    else ``dtype`` itself."""
    return torch.float32 if dtype in LOW_DTYPES else dtype


# Surrogates implemented inside the kernels, keyed by their exact class (a subclass may change grad).
SURROGATE_IDS: dict[type, int] = {
    sg.ATan: 0,
    sg.Sigmoid: 1,
    sg.FastSigmoid: 2,
    sg.Triangle: 3,
    sg.StraightThrough: 4,
    sg.Erfc: 5,
}


@dataclass(frozen=True)
class Config:
    """Static switches of the recurrence (see the module docstring)."""

    synaptic: bool
    adaptive: bool
    reset: int
    refractory: int
    detach_reset: bool
    surrogate: int
    surrogate_alpha: float


class Inputs(NamedTuple):
    """Tensors of one call, ``None`` where the model has no such term.

    ``x`` is ``[T, B, ...]``; states are ``[B, ...]``; parameters broadcast to ``[B, ...]``.
    """

    x: Tensor
    v: Tensor
    i: Tensor | None
    b: Tensor | None
    refrac: Tensor
    beta: Tensor | None
    alpha: Tensor | None
    threshold: Tensor
    v_reset: Tensor
    rho: Tensor | None
    beta_a: Tensor | None


# Inputs that may carry gradients through a fused kernel; the others must not require grad.
DIFFERENTIABLE = frozenset({"x", "v", "i", "b", "beta", "alpha", "threshold"})


class Plan(NamedTuple):
    config: Config
    inputs: Inputs


def make_plan(kind: str, x: Tensor, state: Any, params: Any) -> Plan | str:
    """The kernel's view of one call, or a string saying why no fused kernel applies."""
    spike = params.spike
    surrogate_id = SURROGATE_IDS.get(type(spike.surrogate))
    if surrogate_id is None:
        return f"surrogate {spike.surrogate!r} has no fused implementation (custom class)"
    if x.dtype not in FUSED_DTYPES + LOW_DTYPES:
        return f"dtype {x.dtype} is not fused (float32, float64, bfloat16 and float16 are)"
    inputs = _inputs(kind, x, state, params)
    reason = _check_tensors(inputs, x)
    if reason:
        return reason
    config = Config(
        synaptic=kind == "synaptic",
        adaptive=kind == "alif",
        reset=RESET_IDS[spike.reset],
        refractory=int(spike.refractory),
        detach_reset=bool(spike.detach_reset),
        surrogate=surrogate_id,
        surrogate_alpha=float(spike.surrogate.alpha),
    )
    return Plan(config, inputs)


def _inputs(kind: str, x: Tensor, state: Any, params: Any) -> Inputs:
    spike = params.spike
    common = {
        "x": x,
        "v": state.v,
        "refrac": state.refrac,
        "threshold": spike.threshold,
        "v_reset": spike.v_reset,
    }
    if kind in ("lif", "if"):
        beta = params.beta if kind == "lif" else None
        return Inputs(i=None, b=None, beta=beta, alpha=None, rho=None, beta_a=None, **common)
    if kind == "synaptic":
        return Inputs(
            i=state.i, b=None, beta=params.beta, alpha=params.alpha, rho=None, beta_a=None, **common
        )
    return Inputs(
        i=None,
        b=state.b,
        beta=params.beta,
        alpha=None,
        rho=params.rho,
        beta_a=params.beta_a,
        **common,
    )


def _check_tensors(inputs: Inputs, x: Tensor) -> str:
    neuron_shape = x.shape[1:]
    compute = compute_dtype(x.dtype)
    for name, t in zip(Inputs._fields, inputs, strict=True):
        if t is None or name == "x":
            continue
        if not isinstance(t, Tensor):
            return f"{name} is a {type(t).__name__}, not a tensor"
        if t.device != x.device:
            return f"{name} is on {t.device}, x on {x.device}"
        if torch.promote_types(t.dtype, compute) != compute:
            return f"{name} has dtype {t.dtype}, which would promote x ({x.dtype}) past {compute}"
        if not _broadcasts(t.shape, neuron_shape):
            return f"{name} of shape {tuple(t.shape)} does not broadcast to {tuple(neuron_shape)}"
        if t.requires_grad and name not in DIFFERENTIABLE:
            return f"{name} requires grad, which the fused kernels do not compute"
    return ""


def _broadcasts(shape: torch.Size, target: torch.Size) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without enlarging it (cheaper than
    ``torch.broadcast_shapes``, which costs tens of microseconds per call)."""
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target), strict=False))
