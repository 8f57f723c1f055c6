"""One ``torch.autograd.Function`` for a whole multi-step neuron call, shared by every backend.

The function flattens the neurons of ``x`` ``[T, B, ...]`` into rows ``[T, M]`` (``M`` neurons,
contiguous within a step; the time stride may be anything, so time slices of a bigger tensor are not
copied), expands the parameters to ``[M]``, and hands both to an *engine* (numba on CPU, triton on
GPU) that runs the recurrence of :mod:`spikeflow.kernels.plan` forward and backward.

Saved for backward, per step and neuron: one float, and flags (spike; not refractory) in a layout
of the engine's choice. The CPU engine's float is the input itself (a view, no copy: free when the
caller keeps ``x`` anyway) and its flags are packed bits (one per step, two with a refractory
period); the triton engine saves the pre-reset membrane (the synaptic current for the synaptic
model) and one byte of flags. Everything else is recomputed.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikeflow.kernels.plan import Config, Inputs


class Engine(Protocol):
    """A backend: runs the fused recurrence on ``[T, M]`` rows (see :mod:`spikeflow.kernels.plan`)."""

    def forward(
        self,
        cfg: Config,
        x: Tensor,
        state: dict[str, Tensor],
        params: dict[str, Tensor],
        save: bool,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Spikes ``[T, M]`` and, if ``save``, ``(saved [T, M], flags)`` (flags: uint8, any shape).

        ``saved`` is the one float per step the engine's backward needs (its own choice).

        ``state`` (``v, i, b, refrac``, each ``[M]``) holds the initial state and is advanced in
        place to the final state.
        """

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        saved: Tensor,
        flags: Tensor,
        init: dict[str, Tensor],
        params: dict[str, Tensor],
        grads: dict[str, Tensor],
        need: frozenset[str],
    ) -> Tensor:
        """Gradient of ``x`` ``[T, M]``.

        ``grads`` holds ``v, i, b`` (``[M]``, the gradients of the final state, replaced in place by
        those of the initial state) and ``beta, alpha, threshold`` (``[M]`` zeros, accumulated;
        only those named in ``need`` must be computed).
        """


def rows(t: Tensor, broadcast_ok: bool = False) -> Tensor:
    """``t`` as ``[T, M]`` whose neuron stride is 1 (or 0 if ``broadcast_ok``), copying only if needed."""
    t2 = t.reshape(t.shape[0], -1)
    if t2.shape[1] > 1 and t2.stride(1) != 1 and not (broadcast_ok and t2.stride(1) == 0):
        t2 = t2.contiguous()
    return t2


def _vector(t: Tensor | None, shape: torch.Size, like: Tensor, default: float) -> Tensor:
    """``t`` broadcast to ``shape`` and flattened to a fresh contiguous ``[M]`` tensor."""
    m = like.shape[1]
    if t is None:
        return torch.full((m,), default, dtype=like.dtype, device=like.device)
    return t.detach().to(like.dtype).expand(shape).reshape(m).clone()


class FusedNeuron(torch.autograd.Function):
    """Forward and backward of the whole time axis in one autograd node."""

    @staticmethod
    def forward(ctx: Any, cfg: Config, engine: Engine, *tensors: Tensor | None):
        inp = Inputs(*tensors)
        shape = inp.x.shape[1:]
        x2 = rows(inp.x.detach())
        params = {
            "beta": _vector(inp.beta, shape, x2, 1.0),
            "alpha": _vector(inp.alpha, shape, x2, 0.0),
            "threshold": _vector(inp.threshold, shape, x2, 0.0),
            "v_reset": _vector(inp.v_reset, shape, x2, 0.0),
            "rho": _vector(inp.rho, shape, x2, 0.0),
            "beta_a": _vector(inp.beta_a, shape, x2, 0.0),
        }
        init = {k: _vector(getattr(inp, k), shape, x2, 0.0) for k in ("v", "i", "b", "refrac")}
        if not cfg.refractory:
            init["refrac"].zero_()  # without a refractory period the counter is ignored
        state = {k: t.clone() for k, t in init.items()}
        save = any(ctx.needs_input_grad)
        spikes, hist, flags = engine.forward(cfg, x2, state, params, save)
        if save:
            ctx.save_for_backward(hist, flags, init["v"], init["i"], init["b"])
            ctx.cfg, ctx.engine, ctx.params, ctx.shape = cfg, engine, params, shape
            ctx.param_shapes = {
                k: (None if getattr(inp, k) is None else getattr(inp, k).shape)
                for k in ("beta", "alpha", "threshold")
            }
        refrac = state["refrac"].view(shape)
        ctx.mark_non_differentiable(refrac)
        return (
            spikes.view(inp.x.shape),
            state["v"].view(shape),
            state["i"].view(shape),
            state["b"].view(shape),
            refrac,
        )

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g_spikes, g_v, g_i, g_b, _g_refrac):
        hist, flags, v0, i0, b0 = ctx.saved_tensors
        t_len, m = hist.shape
        if g_spikes is None:
            g_spikes = hist.new_zeros(()).expand(t_len, m)
        gs2 = rows(g_spikes, broadcast_ok=True)

        def flat(g: Tensor | None) -> Tensor:
            return hist.new_zeros(m) if g is None else g.reshape(m).to(hist.dtype).clone()

        grads = {"v": flat(g_v), "i": flat(g_i), "b": flat(g_b)}
        grads.update({k: hist.new_zeros(m) for k in ("beta", "alpha", "threshold")})
        init = {"v": v0, "i": i0, "b": b0}
        need = frozenset(
            name
            for name, wanted in zip(Inputs._fields, ctx.needs_input_grad[2:], strict=True)
            if wanted and name in ("beta", "alpha", "threshold")
        )
        gx = ctx.engine.backward(ctx.cfg, gs2, hist, flags, init, ctx.params, grads, need)

        def param_grad(k: str) -> Tensor:
            return grads[k].view(ctx.shape).sum_to_size(ctx.param_shapes[k])

        out = {
            "x": lambda: gx.view(t_len, *ctx.shape),
            "v": lambda: grads["v"].view(ctx.shape),
            "i": lambda: grads["i"].view(ctx.shape),
            "b": lambda: grads["b"].view(ctx.shape),
            "beta": lambda: param_grad("beta"),
            "alpha": lambda: param_grad("alpha"),
            "threshold": lambda: param_grad("threshold"),
        }
        needs = ctx.needs_input_grad[2:]
        grads_in = [
            out[name]() if need and name in out else None
            for name, need in zip(Inputs._fields, needs, strict=True)
        ]
        return (None, None, *grads_in)
