"""The fused AdLIF layer: one autograd node over the whole time axis (CPU: numba; CUDA: triton,
:mod:`spikeflow.kernels.triton_adlif`).

:func:`multi_step_adlif` runs :class:`spikeflow.nn.AdLIF` without a refractory period on CPU or
CUDA float32 / float64 tensors (``"triton"`` on CPU tensors under ``TRITON_INTERPRET=1``); it
returns ``None`` (the caller runs the reference scan) for anything else under ``backend="auto"``,
and refuses it under ``backend="cpu"`` or ``"triton"``. Spikes and states equal the
reference scan exactly; gradients (input, initial ``v`` and ``w``, ``beta``, ``rho``, ``a``, ``b``,
threshold) equal its autograd to float tolerance (tests/nn/test_adlif_fused.py).
"""

from __future__ import annotations

from typing import Any

import numba
import torch
from torch import Tensor

from spikeflow.errors import UserError
from spikeflow.functional import AdLIFParams, AdLIFState
from spikeflow.kernels import adlif_cpu
from spikeflow.kernels.dispatch import fused_node


def _np(t: Tensor) -> Any:
    """A read-only numpy view (a contiguous copy where needed) of ``t``, off the graph."""
    return t.detach().contiguous().numpy()


def _parts(m: int) -> int:
    return max(1, min(numba.get_num_threads(), m // 256 or 1))


class FusedAdLIF(torch.autograd.Function):
    """``(x [T, M], v0, w0, beta, rho, a, b, thr, v_reset [M]) -> (spikes [T, M], v [M], w [M])``."""

    @staticmethod
    def forward(ctx: Any, config: tuple, x, v0, w0, beta, rho, a, b, thr, vr):
        _, reset, _ = config
        v, w = v0.detach().contiguous().clone(), w0.detach().contiguous().clone()
        u, s, v_prev, w_prev = (torch.empty(x.shape, dtype=x.dtype) for _ in range(4))
        cbeta = 1 - beta
        adlif_cpu.forward(
            _np(x), v.numpy(), w.numpy(), _np(beta), _np(cbeta), _np(rho), _np(a), _np(b),
            _np(thr), _np(vr), adlif_cpu.RESET_IDS[reset],
            u.numpy(), s.numpy(), v_prev.numpy(), w_prev.numpy(), _parts(x.shape[1]),
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
            _np(gs), _np(g), u.numpy(), s.numpy(), v_prev.numpy(), w_prev.numpy(),
            _np(x), _np(beta), _np(rho), _np(a), _np(b), _np(thr), _np(vr),
            adlif_cpu.RESET_IDS[reset], bool(detach), lv.numpy(), lw.numpy(), gx.numpy(),
            *(t.numpy() for t in sums), _parts(x.shape[1]),
        )  # fmt: skip
        gbeta, grho, ga, gb, gthr = (t.to(x.dtype) for t in sums)
        return None, gx, lv, lw, gbeta, grho, ga, gb, gthr, None


def _reason(x: Tensor, params: AdLIFParams) -> str | None:
    """Why the fused path cannot run this call, or ``None``."""
    if x.dtype not in (torch.float32, torch.float64):
        return f"x has dtype {x.dtype}; expected float32 or float64"
    if params.spike.refractory:
        return f"refractory={params.spike.refractory}; the fused AdLIF kernel has none"
    if x.shape[0] == 0 or x.numel() == 0:
        return "x is empty"
    return None


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
    reason = node if isinstance(node, str) else _reason(x, params)
    if reason is not None:
        if backend == "auto":
            return None
        raise UserError(f"backend={backend!r} cannot run this AdLIF call: {reason}")
    shape = x.shape[1:]

    def flat(t: Tensor) -> Tensor:
        return t.to(x.dtype).expand(shape).reshape(-1)

    sp = params.spike
    config = (sp.surrogate, sp.reset, sp.detach_reset)
    tensors = (params.beta, params.rho, params.a, params.b, sp.threshold, sp.v_reset)
    spikes, v, w = node.apply(
        config,
        x.reshape(x.shape[0], -1),
        flat(state.v),
        flat(state.w),
        *(flat(t) for t in tensors),
    )
    return spikes.reshape(x.shape), AdLIFState(v.reshape(shape), w.reshape(shape), state.refrac)
