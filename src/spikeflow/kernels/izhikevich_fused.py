"""The fused Izhikevich layer: one autograd node over the whole time axis (CPU, numba).

:func:`multi_step_izhikevich` runs :class:`spikeflow.nn.Izhikevich` on CPU float32 / float64
tensors (kernel: :mod:`spikeflow.kernels.izhikevich_cpu`); it returns ``None`` (the caller runs
the reference scan) for anything else under ``backend="auto"``, and refuses it under
``backend="cpu"``. Spikes and states equal the reference scan exactly; gradients of the input and
of the initial ``v`` and ``u`` equal its autograd to float tolerance
(tests/nn/test_izhikevich_fused.py). The model's parameters (``a, b, c, d, v_peak``) are buffers
of :class:`~spikeflow.nn.Izhikevich`: a call where one requires a gradient runs the reference scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikeflow.functional import IzhikevichParams, IzhikevichState
from spikeflow.kernels import izhikevich_cpu
from spikeflow.kernels.flat import cpu_reason, np_view, parts, per_neuron, use_reference


class FusedIzhikevich(torch.autograd.Function):
    """``(x [T, M], v0, u0, dt a, b, c, d, v_peak [M]) -> (spikes [T, M], v [M], u [M])``."""

    @staticmethod
    def forward(ctx: Any, config: tuple, x, v0, u0, dta, b, c, d, vpk):
        _, _, h, substeps = config
        v, u = v0.detach().contiguous().clone(), u0.detach().contiguous().clone()
        vt, v_prev, u_prev, s = (torch.empty(x.shape, dtype=x.dtype) for _ in range(4))
        izhikevich_cpu.forward(
            np_view(x), v.numpy(), u.numpy(), *(np_view(t) for t in (dta, b, c, d, vpk)),
            _scalar(h, x.dtype), substeps, vt.numpy(), v_prev.numpy(), u_prev.numpy(), s.numpy(),
            parts(x.shape[1]),
        )  # fmt: skip
        ctx.config = config
        ctx.save_for_backward(x, vt, v_prev, u_prev, s, dta, b, c, d, vpk)
        return s, v, u

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, gs: Tensor, gv: Tensor, gu: Tensor):
        x, vt, v_prev, u_prev, s, dta, b, c, d, vpk = ctx.saved_tensors
        surrogate, detach, h, substeps = ctx.config
        g = surrogate.grad(vt - vpk)
        lv, lu = (
            torch.zeros(x.shape[1], dtype=torch.float64) if t is None else t.to(torch.float64)
            for t in (gv, gu)
        )
        lv, lu = lv.contiguous().clone(), lu.contiguous().clone()
        gs = torch.zeros_like(x) if gs is None else gs
        gx = torch.empty_like(x)
        izhikevich_cpu.backward(
            np_view(gs), np_view(g), vt.numpy(), s.numpy(), v_prev.numpy(), u_prev.numpy(),
            np_view(x), *(np_view(t) for t in (dta, b, c, d)), _scalar(h, x.dtype), substeps,
            bool(detach), lv.numpy(), lu.numpy(), gx.numpy(), parts(x.shape[1]),
        )  # fmt: skip
        return None, gx, lv.to(x.dtype), lu.to(x.dtype), None, None, None, None, None


def _scalar(value: float, dtype: torch.dtype) -> np.generic:
    """``value`` rounded to ``dtype``, as torch rounds a Python scalar in an operation."""
    return (np.float32 if dtype == torch.float32 else np.float64)(value)


def multi_step_izhikevich(
    x: Tensor, state: IzhikevichState, params: IzhikevichParams, backend: str
) -> tuple[Tensor, IzhikevichState] | None:
    """Run a whole sequence through the fused Izhikevich kernel.

    Arguments:
        x: input current ``[T, B, ...]`` (the model's units, one value per step of ``dt`` ms).
        state: the initial :class:`~spikeflow.functional.IzhikevichState` (``v`` in mV and ``u``,
            ``[B, ...]`` each).
        params: :class:`~spikeflow.functional.IzhikevichParams`.
        backend: ``"auto" | "reference" | "cpu" | "triton"``.

    Returns:
        ``(spikes [T, B, ...], final state)``, or ``None`` to use the reference scan.
    """
    sp = params.spike
    reason = cpu_reason(x, sp.refractory, "Izhikevich")
    tensors = (params.a, params.b, sp.v_reset, params.d, sp.threshold)
    for t in tensors:
        if reason is None and isinstance(t, Tensor) and t.requires_grad:
            reason = "a parameter requires a gradient; the fused Izhikevich kernel has none"
        if reason is None and isinstance(t, Tensor) and t.dtype != x.dtype:
            reason = f"a parameter has dtype {t.dtype}; expected {x.dtype}, the dtype of x"
    if use_reference(backend, reason, "Izhikevich"):
        return None
    shape = x.shape[1:]
    a, b, c, d, vpk = (per_neuron(torch.as_tensor(t), x, shape) for t in tensors)
    config = (sp.surrogate, sp.detach_reset, params.dt / params.substeps, params.substeps)
    spikes, v, u = FusedIzhikevich.apply(
        config,
        x.reshape(x.shape[0], -1),
        per_neuron(state.v, x, shape),
        per_neuron(state.u, x, shape),
        params.dt * a,  # rounded as the reference's ``p.dt * p.a``
        b,
        c,
        d,
        vpk,
    )
    return spikes.reshape(x.shape), IzhikevichState(v.reshape(shape), u.reshape(shape))
