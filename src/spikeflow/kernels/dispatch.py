"""Backend selection for multi-step neuron calls.

``multi_step(kind, x, state, params, backend)`` returns ``(spikes, final_state)`` from a fused kernel,
or ``None`` when the reference scan should run (backend ``"reference"``, or ``"auto"`` with no fused
path for this call).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from spikeflow.errors import UserError, check_choice

BACKENDS = ("auto", "reference", "cpu", "triton")


def multi_step(kind: str, x: Tensor, state: Any, params: Any, backend: str):
    check_choice("backend", backend, BACKENDS)
    if backend in ("auto", "reference"):
        return None
    raise UserError(f"backend={backend!r} has no fused kernel for {kind!r} yet")
