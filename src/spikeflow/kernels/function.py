"""One ``torch.autograd.Function`` for a whole multi-step neuron call, shared by every backend.

The function flattens the neurons of ``x`` ``[T, B, ...]`` into rows ``[T, M]`` (``M`` neurons,
contiguous within a step; the time stride may be anything, so time slices of a bigger tensor are not
copied), expands the parameters to ``[M]``, and hands both to an *engine* (numba on CPU, triton on
GPU) that runs the recurrence of :mod:`spikeflow.kernels.plan` forward and backward.

Saved for backward: at most one float per step and neuron, in a layout of the engine's choice. The
CPU engine saves the input itself (a view, no copy: free when the caller keeps ``x`` anyway) and the
state every few steps, from which it replays the forward; the triton engine saves the pre-reset
membrane (the synaptic current for the synaptic model) and one byte of flags. Everything else is
recomputed. Uniform parameters reach the engines as stride-0 views (no per-neuron copy).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikeflow.kernels.plan import Config, Inputs, compute_dtype


class Engine(Protocol):
    """A backend: runs the fused recurrence on ``[T, M]`` rows (see :mod:`spikeflow.kernels.plan`)."""

    def forward(
        self,
        cfg: Config,
        x: Tensor,
        state: dict[str, Tensor | None],
        params: dict[str, Tensor],
        save: bool,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Spikes ``[T, M]`` (any float dtype; 0 and 1 convert exactly) and what the engine's
        backward needs (``()`` unless ``save``).

        The saved tensors are the engine's own choice (at most one float per step and neuron).
        ``x`` may be bfloat16 or float16; ``state`` and ``params`` are then float32, the dtype the
        engine computes in.

        ``state`` (``v, i, b, refrac``, each ``[M]``, ``None`` where the model lacks the term)
        holds the initial state and is advanced in place to the final state. ``params`` are
        ``[M]``, stride-0 views where uniform.
        """

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        saved: tuple[Tensor, ...],
        init: dict[str, Tensor | None],
        params: dict[str, Tensor],
        grads: dict[str, Tensor | None],
    ) -> Tensor:
        """Gradient of ``x`` ``[T, M]`` (any float dtype; the node converts it to ``x``'s).

        ``init`` holds the initial ``v, i, b`` (``None`` where absent). ``grads`` holds ``v, i, b``
        (``[M]``, the gradients of the final state, replaced in place by those of the initial state;
        ``None`` where absent) and ``beta, alpha, threshold`` (``[M]`` zeros to accumulate into
        where the caller wants that gradient, ``None`` where it does not).
        """


def rows(t: Tensor, broadcast_ok: bool = False) -> Tensor:
    """``t`` as ``[T, M]`` whose neuron stride is 1 (or 0 if ``broadcast_ok``), copying only if needed."""
    t2 = t.reshape(t.shape[0], -1)
    if t2.shape[1] > 1 and t2.stride(1) != 1 and not (broadcast_ok and t2.stride(1) == 0):
        t2 = t2.contiguous()
    return t2


def _param(t: Tensor | None, shape: torch.Size, like: Tensor, default: float) -> Tensor:
    """A parameter as ``[M]`` in the compute dtype of ``like``: a stride-0 view of one value when
    uniform (a scalar or absent), else a fresh contiguous copy (so an in-place change before
    backward cannot alter the gradient)."""
    m = like.shape[1]
    dtype = compute_dtype(like.dtype)
    if t is None:
        return like.new_full((1,), default, dtype=dtype).expand(m)
    t = t.detach()
    if t.numel() == 1:
        return t.to(dtype).reshape(1).clone().expand(m)
    return t.to(dtype).expand(shape).reshape(m).clone()


def _state(t: Tensor | None, shape: torch.Size, m: int) -> Tensor | None:
    """A state broadcast to ``shape`` as a fresh contiguous ``[M]`` tensor, half precision raised to
    float32 (``None`` stays ``None``)."""
    return (
        None
        if t is None
        else t.detach().to(compute_dtype(t.dtype)).expand(shape).reshape(m).clone()
    )


def engine_params(inp: Inputs, shape: torch.Size, like: Tensor) -> dict[str, Tensor]:
    """The neuron parameters of ``inp`` as the engines take them (see :func:`_param`).

    Arguments:
        inp: the plan's tensors. shape: the neuron shape ``[B, ...]``. like: the ``[T, M]`` rows.

    Returns:
        ``beta, alpha, threshold, v_reset, rho, beta_a`` by name.
    """
    return {
        "beta": _param(inp.beta, shape, like, 1.0),
        "alpha": _param(inp.alpha, shape, like, 0.0),
        "threshold": _param(inp.threshold, shape, like, 0.0),
        "v_reset": _param(inp.v_reset, shape, like, 0.0),
        "rho": _param(inp.rho, shape, like, 0.0),
        "beta_a": _param(inp.beta_a, shape, like, 0.0),
    }


def learnable_shapes(inp: Inputs) -> dict[str, torch.Size | None]:
    """The shapes of the parameters that can have gradients, to sum the gradients back to."""
    return {
        k: (None if getattr(inp, k) is None else getattr(inp, k).shape)
        for k in ("beta", "alpha", "threshold")
    }


def node_outputs(
    ctx: Any, inp: Inputs, spikes: Tensor, state: dict[str, Tensor | None], shape: torch.Size
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """An autograd node's outputs: spikes in the input's shape, then ``v, i, b, refrac`` in the
    neuron shape (``refrac`` marked non-differentiable)."""
    out = {k: None if t is None else t.view(shape) for k, t in state.items()}
    if out["refrac"] is not None:
        ctx.mark_non_differentiable(out["refrac"])
    return spikes.view(inp.x.shape), out["v"], out["i"], out["b"], out["refrac"]


def engine_state(cfg: Config, inp: Inputs, shape: torch.Size, m: int) -> dict[str, Tensor | None]:
    """The initial state of ``inp`` as ``[M]`` rows, ``None`` for terms the model lacks.

    Arguments:
        cfg: the kernel config. inp: the plan's tensors. shape: the neuron shape. m: neurons.

    Returns:
        ``v, i, b, refrac`` by name.
    """
    return {
        "v": _state(inp.v, shape, m),
        "i": _state(inp.i, shape, m) if cfg.synaptic else None,
        "b": _state(inp.b, shape, m) if cfg.adaptive else None,
        "refrac": _state(inp.refrac, shape, m) if cfg.refractory else None,
    }


class FusedNeuron(torch.autograd.Function):
    """Forward and backward of the whole time axis in one autograd node.

    Outputs ``(spikes, v, i, b, refrac)``; ``i``, ``b`` are ``None`` where the model lacks them and
    ``refrac`` is ``None`` without a refractory period (the counter is then not touched). Spikes
    (and ``dL/dx``) have the dtype of ``x``; the state has the compute dtype
    (:func:`~spikeflow.kernels.plan.compute_dtype`).
    """

    @staticmethod
    def forward(
        ctx: Any, cfg: Config, engine: Engine, *tensors: Tensor | None
    ) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
        inp = Inputs._make(tensors)
        shape = inp.x.shape[1:]
        x2 = rows(inp.x.detach())
        m = x2.shape[1]
        params = engine_params(inp, shape, x2)
        init = engine_state(cfg, inp, shape, m)
        state = {k: None if t is None else t.clone() for k, t in init.items()}
        save = any(ctx.needs_input_grad)
        spikes, saved = engine.forward(cfg, x2, state, params, save)
        spikes = spikes.to(x2.dtype)
        if save:
            ctx.save_for_backward(init["v"], init["i"], init["b"], *saved)
            ctx.cfg, ctx.engine, ctx.params, ctx.shape = cfg, engine, params, shape
            ctx.x_dtype = x2.dtype
            ctx.param_shapes = learnable_shapes(inp)
        return node_outputs(ctx, inp, spikes, state, shape)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any,
        g_spikes: Tensor | None,
        g_v: Tensor | None,
        g_i: Tensor | None,
        g_b: Tensor | None,
        _g_refrac: Tensor | None,
    ) -> tuple[Tensor | None, ...]:
        v0, i0, b0, *saved = ctx.saved_tensors
        cfg = ctx.cfg
        m = v0.shape[0]
        t_len = g_spikes.shape[0] if g_spikes is not None else saved[0].shape[0]
        if g_spikes is None:
            g_spikes = v0.new_zeros(()).expand(t_len, m)
        gs2 = rows(g_spikes, broadcast_ok=True)

        def flat(g: Tensor | None) -> Tensor:
            return v0.new_zeros(m) if g is None else g.reshape(m).to(v0.dtype).clone()

        need = frozenset(
            name
            for name, wanted in zip(Inputs._fields, ctx.needs_input_grad[2:], strict=True)
            if wanted and name in ("beta", "alpha", "threshold")
        )
        grads = {
            "v": flat(g_v),
            "i": flat(g_i) if cfg.synaptic else None,
            "b": flat(g_b) if cfg.adaptive else None,
        }
        grads.update(
            {k: v0.new_zeros(m) if k in need else None for k in ("beta", "alpha", "threshold")}
        )
        init = {"v": v0, "i": i0, "b": b0}
        gx = ctx.engine.backward(cfg, gs2, tuple(saved), init, ctx.params, grads)

        def state_grad(k: str) -> Tensor:
            g = grads[k]
            if g is None:  # asked for only where the model has the term (then the engine filled it)
                raise RuntimeError(f"the fused kernel computed no gradient of {k!r}")
            return g.view(ctx.shape)

        def param_grad(k: str) -> Tensor:
            return state_grad(k).sum_to_size(ctx.param_shapes[k])

        out = {
            "x": lambda: gx.view(t_len, *ctx.shape).to(ctx.x_dtype),
            "v": lambda: state_grad("v"),
            "i": lambda: state_grad("i"),
            "b": lambda: state_grad("b"),
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
