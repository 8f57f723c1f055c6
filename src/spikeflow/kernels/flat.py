"""Shared pieces of the fused CPU paths written per model (AdLIF, RAdLIF, Izhikevich): numpy views,
the parallel split of flat neurons, and the rule that decides between the kernel, the reference scan
and an error."""

from __future__ import annotations

from typing import Any

import numba
import torch
from torch import Tensor

from spikeflow.errors import UserError


def np_view(t: Tensor) -> Any:
    """A read-only numpy view (a contiguous copy where needed) of ``t``, off the graph."""
    return t.detach().contiguous().numpy()


def parts(m: int) -> int:
    """Parallel parts of ``m`` independent neurons: one per thread, at least 256 neurons each."""
    return max(1, min(numba.get_num_threads(), m // 256 or 1))


def per_neuron(t: Tensor, x: Tensor, shape: torch.Size) -> Tensor:
    """``t`` broadcast to ``shape`` (one step of ``x``) and flattened, in ``x``'s dtype."""
    return t.to(x.dtype).expand(shape).reshape(-1)


def cpu_reason(x: Tensor, refractory: int, what: str) -> str | None:
    """Why a fused CPU kernel without a refractory period cannot run on ``x``, or ``None``."""
    if x.device.type != "cpu":
        return f"x is on {x.device.type}; the fused {what} kernel runs on the CPU"
    return kernel_reason(x, refractory, what)


def kernel_reason(x: Tensor, refractory: int, what: str) -> str | None:
    """Why a fused kernel without a refractory period cannot run on ``x`` (on any device), or
    ``None``."""
    if x.dtype not in (torch.float32, torch.float64):
        return f"x has dtype {x.dtype}; expected float32 or float64"
    if refractory:
        return f"refractory={refractory}; the fused {what} kernel has none"
    if x.shape[0] == 0 or x.numel() == 0:
        return "x is empty"
    return None


def use_reference(backend: str, reason: str | None, what: str, triton: bool = False) -> bool:
    """Whether to run the reference scan rather than the fused ``what`` kernel.

    Arguments:
        backend: ``"auto" | "reference" | "cpu" | "triton"``.
        reason: why the kernel cannot run this call, or ``None``.
        what: the kernel's name, for the message.
        triton: whether the kernel has a triton (CUDA) version.

    Returns:
        ``True`` for ``"reference"``, under ``torch.compile`` tracing, and where ``"auto"`` meets a
        reason; ``False`` to run the kernel. Raises :class:`~spikeflow.errors.UserError` where
        ``"cpu"`` or ``"triton"`` meets a reason, and where ``"triton"`` is asked of a kernel
        without a triton version.
    """
    if backend == "reference" or torch.compiler.is_compiling():
        return True
    if backend == "triton" and not triton:
        reason = f"backend='triton' has no {what} kernel"
    if reason is None:
        return False
    if backend == "auto":
        return True
    raise UserError(f"backend={backend!r} cannot run this {what} call: {reason}")
