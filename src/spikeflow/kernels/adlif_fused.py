"""The fused AdLIF layers: one autograd node over the whole time axis (CPU: numba; feedforward
AdLIF on CUDA: triton, :mod:`spikeflow.kernels.triton_adlif`).

:func:`multi_step_adlif` runs :class:`spikeflow.nn.AdLIF` on CPU or CUDA float32 / float64 tensors
(``"triton"`` on CPU tensors under ``TRITON_INTERPRET=1``), :func:`multi_step_radlif` the recurrent
:class:`spikeflow.nn.RAdLIF` (dense or one-to-one weight) on CPU tensors, both without a refractory
period; each returns ``None`` (the caller runs the reference scan) for anything else under
``backend="auto"``, and refuses it under ``backend="cpu"`` or ``"triton"``. Spikes and states equal the
reference scan exactly (recurrent: up to the order of the recurrent sum, exact for weights whose
sums round to the same value in any order); gradients (input, initial ``v`` and ``w``, ``beta``,
``rho``, ``a``, ``b``, threshold; recurrent: also the weight and the initial spikes) equal its
autograd to float tolerance (tests/nn/test_adlif_fused.py, tests/nn/test_radlif_fused.py).
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikeflow.functional import AdLIFParams, AdLIFState, RecurrentParams, RecurrentState
from spikeflow.kernels import adlif_cpu
from spikeflow.kernels.dispatch import fused_node
from spikeflow.kernels.flat import (
    cpu_reason,
    kernel_reason,
    np_view,
    parts,
    per_neuron,
    use_reference,
)
from spikeflow.kernels.recurrent_cpu import parts as row_parts


class FusedAdLIF(torch.autograd.Function):
    """``(x [T, M], v0, w0, beta, rho, a, b, thr, v_reset [M]) -> (spikes [T, M], v [M], w [M])``."""

    @staticmethod
    def forward(ctx: Any, config: tuple, x, v0, w0, beta, rho, a, b, thr, vr):
        _, reset, _ = config
        v, w = v0.detach().contiguous().clone(), w0.detach().contiguous().clone()
        u, s, v_prev, w_prev = (torch.empty(x.shape, dtype=x.dtype) for _ in range(4))
        cbeta = 1 - beta
        adlif_cpu.forward(
            np_view(x), v.numpy(), w.numpy(),
            *(np_view(t) for t in (beta, cbeta, rho, a, b, thr, vr)), adlif_cpu.RESET_IDS[reset],
            u.numpy(), s.numpy(), v_prev.numpy(), w_prev.numpy(), parts(x.shape[1]),
        )  # fmt: skip
        ctx.config = config
        ctx.save_for_backward(x, u, s, v_prev, w_prev, beta, rho, a, b, thr, vr)
        return s, v, w

    @staticmethod
    def backward(ctx: Any, gs: Tensor, gv: Tensor, gw: Tensor):
        x, u, s, v_prev, w_prev, beta, rho, a, b, thr, vr = ctx.saved_tensors
        surrogate, reset, detach = ctx.config
        g = surrogate.grad(u - thr)
        zeros = torch.zeros(x.shape[1], dtype=x.dtype)
        lv = (zeros if gv is None else gv).contiguous().clone()
        lw = (zeros if gw is None else gw).contiguous().clone()
        gs = torch.zeros(x.shape, dtype=x.dtype) if gs is None else gs
        gx = torch.empty(x.shape, dtype=x.dtype)
        sums = [torch.zeros(x.shape[1], dtype=torch.float64) for _ in range(5)]
        adlif_cpu.backward(
            np_view(gs), np_view(g), u.numpy(), s.numpy(), v_prev.numpy(), w_prev.numpy(),
            np_view(x), np_view(beta), np_view(rho), np_view(a), np_view(b), np_view(thr), np_view(vr),
            adlif_cpu.RESET_IDS[reset], bool(detach), lv.numpy(), lw.numpy(), gx.numpy(),
            *(t.numpy() for t in sums), parts(x.shape[1]),
        )  # fmt: skip
        gbeta, grho, ga, gb, gthr = (t.to(x.dtype) for t in sums)
        return None, gx, lv, lw, gbeta, grho, ga, gb, gthr, None


class FusedRecurrentAdLIF(torch.autograd.Function):
    """``(weight [N, N] or [N], s0 [B, N], x [T, B, N], v0, w0 [B, N], beta, rho, a, b, thr,
    v_reset [B * N]) -> (spikes [T, B, N], v [B, N], w [B, N])``."""

    @staticmethod
    def forward(ctx: Any, config: tuple, weight, s0, x, v0, w0, beta, rho, a, b, thr, vr):
        _, reset, _ = config
        v, w = v0.detach().contiguous().clone(), w0.detach().contiguous().clone()
        xin, u, s, v_prev, w_prev = (torch.empty(x.shape, dtype=x.dtype) for _ in range(5))
        wd = weight.detach().contiguous()
        dense = wd.dim() == 2
        adlif_cpu.recurrent_forward(
            np_view(x), np_view(s0), np_view(wd.T) if dense else None, None if dense else np_view(wd),
            v.numpy(), w.numpy(), *(np_view(t) for t in (beta, 1 - beta, rho, a, b, thr, vr)),
            adlif_cpu.RESET_IDS[reset], xin.numpy(), u.numpy(), s.numpy(),
            v_prev.numpy(), w_prev.numpy(), row_parts(x.shape[1]),
        )  # fmt: skip
        ctx.config = config
        ctx.save_for_backward(wd, s0, xin, u, s, v_prev, w_prev, beta, rho, a, b, thr, vr)
        return s, v, w

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, gs: Tensor, gv: Tensor, gw: Tensor):
        wd, s0, xin, u, s, v_prev, w_prev, beta, rho, a, b, thr, vr = ctx.saved_tensors
        surrogate, reset, detach = ctx.config
        _, nb, n = u.shape
        g = surrogate.grad(u - thr.view(nb, n))
        lv, lw = (
            torch.zeros(nb, n, dtype=torch.float64) if t is None else t.to(torch.float64).clone()
            for t in (gv, gw)
        )
        gs = torch.zeros_like(u) if gs is None else gs.contiguous()
        gx, gs0 = torch.empty_like(u), torch.empty_like(s0)
        sums = [torch.zeros(nb * n, dtype=torch.float64) for _ in range(5)]
        dense = wd.dim() == 2
        n_parts = row_parts(nb)
        gwp = torch.zeros((n_parts, *wd.shape), dtype=u.dtype)
        adlif_cpu.recurrent_backward(
            np_view(gs), np_view(g), u.numpy(), s.numpy(), s0.numpy(), v_prev.numpy(), w_prev.numpy(),
            xin.numpy(), wd.numpy() if dense else None, None if dense else wd.numpy(),
            *(np_view(t) for t in (beta, rho, a, b, thr, vr)), adlif_cpu.RESET_IDS[reset],
            bool(detach), lv.numpy(), lw.numpy(), gx.numpy(), *(t.numpy() for t in sums),
            gs0.numpy(), gwp.numpy(), n_parts,
        )  # fmt: skip
        gweight = gwp.sum(0)
        gweight = gweight.T if dense else gweight
        dtype = u.dtype
        params = (t.to(dtype) for t in sums)
        return None, gweight, gs0, gx, lv.to(dtype), lw.to(dtype), *params, None


def _flat_params(params: AdLIFParams, x: Tensor, shape: torch.Size) -> list[Tensor]:
    """``beta, rho, a, b, threshold, v_reset`` each flat ``[prod(shape)]`` in ``x``'s dtype."""
    sp = params.spike
    tensors = (params.beta, params.rho, params.a, params.b, sp.threshold, sp.v_reset)
    return [per_neuron(t, x, shape) for t in tensors]


def multi_step_adlif(
    x: Tensor, state: AdLIFState, params: AdLIFParams, backend: str
) -> tuple[Tensor, AdLIFState] | None:
    """Run a whole sequence through the fused AdLIF kernel.

    Arguments:
        x: input ``[T, B, ...]``.
        state: the initial :class:`~spikeflow.functional.AdLIFState` (``[B, ...]`` each).
        params: :class:`~spikeflow.functional.AdLIFParams` (tensors broadcasting to ``[B, ...]``).
        backend: ``"auto" | "reference" | "cpu" | "triton"``.

    Returns:
        ``(spikes [T, B, ...], final state)``, or ``None`` to use the reference scan.
    """
    if backend == "reference" or torch.compiler.is_compiling():
        return None
    node = fused_node(backend, x, FusedAdLIF, "spikeflow.kernels.triton_adlif.TritonAdLIF")
    reason = node if isinstance(node, str) else kernel_reason(x, params.spike.refractory, "AdLIF")
    if use_reference(backend, reason, "AdLIF", triton=True):
        return None
    shape = x.shape[1:]
    sp = params.spike
    config = (sp.surrogate, sp.reset, sp.detach_reset)
    spikes, v, w = node.apply(
        config,
        x.reshape(x.shape[0], -1),
        per_neuron(state.v, x, shape),
        per_neuron(state.w, x, shape),
        *_flat_params(params, x, shape),
    )
    return spikes.reshape(x.shape), AdLIFState(v.reshape(shape), w.reshape(shape), state.refrac)


def multi_step_radlif(
    x: Tensor, state: RecurrentState, params: RecurrentParams, backend: str
) -> tuple[Tensor, RecurrentState] | None:
    """Run a whole sequence through the fused recurrent AdLIF kernel.

    Arguments:
        x: input ``[T, B..., N]``.
        state: :class:`~spikeflow.functional.RecurrentState` (an ``AdLIFState`` and the last
            spikes, ``[B..., N]`` each).
        params: :class:`~spikeflow.functional.RecurrentParams` (weight ``[N, N]`` or ``[N]``, the
            :class:`~spikeflow.functional.AdLIFParams`).
        backend: ``"auto" | "reference" | "cpu" | "triton"``.

    Returns:
        ``(spikes [T, B..., N], final state)``, or ``None`` to use the reference scan.
    """
    what = "recurrent AdLIF"
    reason = cpu_reason(x, params.neuron.spike.refractory, what)
    for name, t in (("weight", params.weight), ("state.s", state.s)):
        if reason is None and t.dtype != x.dtype:
            reason = f"{name} has dtype {t.dtype}; expected {x.dtype}, the dtype of x"
    if use_reference(backend, reason, what):
        return None
    shape, n = x.shape[1:], x.shape[-1]
    inner, sp = cast(AdLIFState, state.neuron), params.neuron.spike  # a RAdLIF's inner state

    def rows(t: Tensor) -> Tensor:
        return t.to(x.dtype).expand(shape).reshape(-1, n)

    spikes, v, w = FusedRecurrentAdLIF.apply(
        (sp.surrogate, sp.reset, sp.detach_reset),
        params.weight,
        rows(state.s),
        x.reshape(x.shape[0], -1, n),
        rows(inner.v),
        rows(inner.w),
        *_flat_params(params.neuron, x, shape),
    )
    spikes = spikes.reshape(x.shape)
    final = AdLIFState(v.reshape(shape), w.reshape(shape), inner.refrac)
    return spikes, RecurrentState(final, spikes[-1])
