"""Backend selection for multi-step neuron calls.

``multi_step(kind, x, state, params, backend)`` returns ``(spikes, final_state)`` from a fused kernel,
or ``None`` when the reference scan should run:

- ``"reference"``: always ``None``; so is an empty ``x`` (``T``, ``B`` or a neuron dimension 0)
  for every backend, since the reference scan returns its empty outputs and unchanged state.
- ``"auto"``: the fused kernel when one applies (CPU tensors: numba; CUDA tensors: triton), else
  ``None``. It does not apply to dtypes other than float32, float64, bfloat16 and float16,
  custom surrogate classes, parameters other than ``beta``, ``alpha`` and ``threshold`` that
  require grad, or under ``torch.compile`` tracing.
- ``"cpu"`` / ``"triton"``: that kernel, or :class:`~spikeflow.errors.UserError` saying why not.
  ``"triton"`` on CPU tensors runs in triton's interpreter (``TRITON_INTERPRET=1``), for tests.

The result equals the reference scan: spikes exactly, states and gradients to float rounding.

Low precision (``x`` bfloat16 or float16, as under ``torch.autocast``): the recurrence runs in
float32 (:func:`spikeflow.kernels.plan.compute_dtype`). State and parameters are taken in float32;
the triton kernels load the half-precision input and convert it in registers, the CPU engine
(numba has no bfloat16) converts it to a float32 copy first. Spikes and ``dL/dx`` come back in the
input's dtype, the final state in the dtype of the initial state (rounded once, at the end). The
result equals the float32 reference scan run on the same (rounded) input.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

import torch
from torch import Tensor

from spikeflow.errors import UserError, check_choice
from spikeflow.kernels.function import FusedNeuron
from spikeflow.kernels.plan import KINDS, Plan, compute_dtype, make_plan

BACKENDS = ("auto", "reference", "cpu", "triton")


@functools.cache
def _cpu_engine() -> Any:
    from spikeflow.kernels.cpu import CPUEngine

    return CPUEngine()


@functools.cache
def _triton_engine() -> Any:
    """The triton engine, or the reason it cannot run (a string)."""
    try:
        from spikeflow.kernels.triton_engine import TritonEngine
    except ImportError as err:
        return f"triton is not importable ({err})"
    return TritonEngine()


def triton_interpreted() -> bool:
    """True when triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _engine(backend: str, x: Tensor) -> Any:
    """The engine for ``backend`` on ``x``'s device, or a string saying why there is none."""
    device = x.device.type
    if backend == "auto":
        backend = {"cpu": "cpu", "cuda": "triton"}.get(device, "")
        if not backend:
            return f"no fused kernel for device {device!r}"
    if backend == "cpu":
        return _cpu_engine() if device == "cpu" else f"x is on {device}, not the CPU"
    if device == "cpu" and not triton_interpreted():
        return "x is on the CPU; triton needs a CUDA device (or TRITON_INTERPRET=1)"
    if device not in ("cpu", "cuda"):
        return f"x is on {device}; triton needs a CUDA device"
    return _triton_engine()


def fused_node(backend: str, x: Tensor, cpu_node: Any, triton_node: str) -> Any:
    """The autograd node of a fused layer for ``backend`` on ``x``'s device, or a string saying
    why there is none.

    Arguments:
        backend: ``"auto" | "cpu" | "triton"``.
        x: the layer's input (its device picks the engine, as :func:`multi_step` does).
        cpu_node: the numba node, for CPU tensors.
        triton_node: ``"module.Class"`` of the triton node, imported only where it runs (CUDA
            tensors, and CPU tensors under ``TRITON_INTERPRET=1`` for ``"triton"``).

    Returns:
        The node class, or the reason (a string).
    """
    engine = _engine(backend, x)
    if isinstance(engine, str):
        return engine
    if x.device.type == "cpu" and backend != "triton":
        return cpu_node
    module, name = triton_node.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def multi_step(kind: str, x: Tensor, state: Any, params: Any, backend: str) -> Any:
    """Run a whole sequence through a fused kernel.

    Arguments:
        kind: ``"lif" | "if" | "synaptic" | "alif"``.
        x: input ``[T, B, ...]``.
        state: the model's state NamedTuple (``[B, ...]`` tensors).
        params: the model's parameter NamedTuple.
        backend: ``"auto" | "reference" | "cpu" | "triton"``.

    Returns:
        ``(spikes [T, B, ...], final_state)``, or ``None`` to use the reference scan.
    """
    check_choice("backend", backend, BACKENDS)
    check_choice("kind", kind, KINDS)
    if backend == "reference" or x.numel() == 0:  # nothing to fuse: the scan returns empty outputs
        return None
    if backend == "auto" and torch.compiler.is_compiling():
        return None
    engine = _engine(backend, x)
    plan = engine if isinstance(engine, str) else make_plan(kind, x, state, params)
    if isinstance(plan, str):
        if backend == "auto":
            return None
        raise UserError(f"backend={backend!r} cannot run this {kind!r} call: {plan}")
    return _run(plan, engine, state)


def _run(plan: Plan, engine: Any, state: Any) -> Any:
    inputs = plan.inputs
    x = inputs.x
    dtype = compute_dtype(x.dtype)
    cast = [None if t is None or t is x else t.to(dtype) for t in inputs]
    cast[0] = x
    spikes, v, i, b, refrac = FusedNeuron.apply(plan.config, engine, *cast)
    if not plan.config.refractory:
        refrac = state.refrac  # the reference passes it through untouched
    fields = {"v": v, "i": i, "b": b, "refrac": refrac}
    return spikes, type(state)(
        **{name: like_state(fields[name], getattr(state, name)) for name in state._fields}
    )


def like_state(new: Tensor, old: Tensor) -> Tensor:
    """The final state ``new`` in the dtype of the initial state ``old`` (a differentiable
    conversion; none where they agree, as they do except for half-precision state)."""
    return new if new.dtype == old.dtype else new.to(old.dtype)
