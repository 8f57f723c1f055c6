"""Fused recurrent layers: a LIF-family neuron fed back its own spikes through a weight, forward and
backward over the whole time axis in one autograd node.

``multi_step_recurrent(kind, x, state, params, backend)`` returns ``(spikes, final_state)`` from the
fused kernel of :mod:`spikeflow.kernels.recurrent_cpu`, or ``None`` when the reference scan should
run (backend ``"reference"``; ``"auto"`` where the kernel does not apply: tensors off the CPU,
dtypes other than float32, float64, bfloat16 and float16, custom surrogates, a weight or spike
state of a dtype that would promote the computation, ``torch.compile`` tracing). bfloat16 and
float16 input runs in float32 (a differentiable conversion here, so ``dL/dx`` comes back in the
input's dtype); the spikes and the final state come back in the dtypes they were given in. ``"cpu"`` runs
the kernel or raises :class:`~spikeflow.errors.UserError` saying why not. On CUDA tensors
(``"auto"`` or ``"triton"``) the triton kernels of :mod:`spikeflow.kernels.triton_recurrent` run
instead, as ``"triton"`` does on CPU tensors under ``TRITON_INTERPRET=1``.

The result equals the reference scan of :func:`spikeflow.functional.recurrent_step`: spikes exactly
(up to the order of the recurrent sum, which differs from a BLAS product in the last bit), states and
gradients (input, initial state and spikes, recurrent weight, learnable ``beta``, ``alpha``,
``threshold``) to float rounding.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikeflow.errors import UserError
from spikeflow.functional import RecurrentState
from spikeflow.kernels import cpu
from spikeflow.kernels import recurrent_cpu as rc
from spikeflow.kernels.dispatch import fused_node, like_state
from spikeflow.kernels.function import engine_params, engine_state, learnable_shapes, node_outputs
from spikeflow.kernels.plan import Config, Inputs, compute_dtype, make_plan


def _numpy(t: Tensor | None):
    return None if t is None else t.numpy()


class FusedRecurrent(torch.autograd.Function):
    """One autograd node for a recurrent layer over ``x`` ``[T, B..., N]``.

    Inputs ``(cfg, weight, s0, *Inputs)``; outputs ``(spikes, v, i, b, refrac)`` as
    :class:`~spikeflow.kernels.function.FusedNeuron` does.
    """

    @staticmethod
    def forward(ctx: Any, cfg: Config, weight: Tensor, s0: Tensor, *tensors: Tensor | None):
        inp = Inputs._make(tensors)
        shape = inp.x.shape[1:]
        t_len, n = inp.x.shape[0], shape[-1]
        x3 = inp.x.detach().reshape(t_len, -1, n).contiguous()
        nb = x3.shape[1]
        m = nb * n
        like = x3.view(t_len, m)
        params = engine_params(inp, shape, like)
        init = engine_state(cfg, inp, shape, m)
        state = {k: None if t is None else t.clone().view(nb, n) for k, t in init.items()}
        sp0 = s0.detach().to(x3.dtype).expand(shape).reshape(nb, n).contiguous()
        w = weight.detach().to(x3.dtype).contiguous()
        dense = w.dim() == 2
        save = any(ctx.needs_input_grad)
        n_ckpt = math.ceil(t_len / rc.CHUNK)
        # without save, the model's planes are empty arrays (one compiled variant for both)
        unused = x3.new_empty((0, 0, 0))
        ckpt = {
            k: (
                None
                if state[k] is None
                else torch.empty(n_ckpt, nb, n, dtype=x3.dtype)
                if save
                else unused
            )
            for k in ("v", "i", "b", "refrac")
        }
        spikes = torch.empty_like(x3)
        u = torch.empty_like(x3) if save else unused
        p = {k: cpu._param(t) for k, t in params.items()}
        rc._forward(
            x3.numpy(), sp0.numpy(), w.T.contiguous().numpy() if dense else None,
            None if dense else w.numpy(), *(_numpy(state[k]) for k in ("v", "i", "b", "refrac")),
            p["beta"], p["alpha"] if cfg.synaptic else None, p["threshold"], p["v_reset"],
            p["rho"] if cfg.adaptive else None, p["beta_a"] if cfg.adaptive else None,
            *cpu._reset_coefficients(cfg, x3.dtype), cpu._scalar(cfg.refractory, x3.dtype),
            spikes.numpy(), save, _numpy(u), *(_numpy(ckpt[k]) for k in ("v", "i", "b", "refrac")),
            rc.CHUNK, rc.parts(nb),
        )  # fmt: skip
        if save:
            ctx.save_for_backward(u, spikes, sp0, w, *ckpt.values())
            ctx.cfg, ctx.params, ctx.shape = cfg, params, shape
            ctx.shapes = learnable_shapes(inp)
            ctx.s0_shape, ctx.w_dtype = s0.shape, weight.dtype
        return node_outputs(ctx, inp, spikes, state, shape)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g_spikes, g_v, g_i, g_b, _g_refrac):
        u, spikes, sp0, w, cv, ci, cb, cr = ctx.saved_tensors  # u: the total input
        cfg = ctx.cfg
        t_len, nb, n = u.shape
        dtype = u.dtype
        if g_spikes is None:
            gs = torch.zeros_like(u)
        else:
            gs = g_spikes.to(dtype).reshape(t_len, nb, n).contiguous()

        def flat(g: Tensor | None) -> Tensor:
            return u.new_zeros(nb, n) if g is None else g.to(dtype).reshape(nb, n).clone()

        needs = dict(zip(("weight", "s0", *Inputs._fields), ctx.needs_input_grad[1:], strict=True))
        grads = {
            "v": flat(g_v),
            "i": flat(g_i) if cfg.synaptic else None,
            "b": flat(g_b) if cfg.adaptive else None,
        }
        grads.update(
            {k: u.new_zeros(nb, n) if needs[k] else None for k in ("beta", "alpha", "threshold")}
        )
        dense = w.dim() == 2
        n_parts = rc.parts(nb)
        gw = u.new_zeros((n_parts, n, n) if dense else (n_parts, n))
        gx = torch.empty_like(u)
        gs0 = u.new_empty(nb, n)
        p = {k: cpu._param(t) for k, t in ctx.params.items()}
        syn, ada = cfg.synaptic, cfg.adaptive
        rc._backward(
            gs.numpy(), u.numpy(), sp0.numpy(), spikes.numpy(), w.numpy() if dense else None,
            None if dense else w.numpy(),
            *(_numpy(t) for t in (cv, ci, cb, cr)), rc.CHUNK,
            p["beta"], p["alpha"] if syn else None, p["threshold"], p["v_reset"],
            p["rho"] if ada else None, p["beta_a"] if ada else None,
            *cpu._reset_coefficients(cfg, dtype), cpu._scalar(cfg.refractory, dtype),
            None if cfg.detach_reset else True, cpu._surrogate_constants(cfg, dtype),
            gx.numpy(), *(_numpy(grads[k]) for k in ("v", "i", "b", "beta", "alpha", "threshold")),
            gs0.numpy(), gw.numpy(), n_parts,
        )  # fmt: skip
        gw = gw.sum(0)
        shape = ctx.shape

        def grad(k: str) -> Tensor:
            g = grads[k]
            assert g is not None, k  # computed wherever the input needs a gradient
            return g

        def param_grad(k: str) -> Tensor:
            return grad(k).view(shape).sum_to_size(ctx.shapes[k])

        out = {
            "weight": lambda: (gw.T if dense else gw).to(ctx.w_dtype),
            "s0": lambda: gs0.view(shape).sum_to_size(ctx.s0_shape),
            "x": lambda: gx.view(t_len, *shape),
            "v": lambda: grad("v").view(shape),
            "i": lambda: grad("i").view(shape),
            "b": lambda: grad("b").view(shape),
            "beta": lambda: param_grad("beta"),
            "alpha": lambda: param_grad("alpha"),
            "threshold": lambda: param_grad("threshold"),
        }
        result = [out[k]() if need and k in out else None for k, need in needs.items()]
        return (None, *result)


def _reason(x: Tensor, state: RecurrentState, weight: Tensor) -> str:
    """Why the fused kernel cannot run this call (``""`` where it can)."""
    dtypes = {x.dtype, compute_dtype(x.dtype)}
    for name, t in (("weight", weight), ("state.s", state.s)):
        if not isinstance(t, Tensor) or t.device != x.device or t.dtype not in dtypes:
            names = " or ".join(sorted(map(str, dtypes)))
            return f"{name} must be a {names} tensor on {x.device}"
    return ""


def multi_step_recurrent(kind: str, x: Tensor, state: RecurrentState, params: Any, backend: str):
    """Run a whole sequence through the fused recurrent kernel.

    Arguments:
        kind: the inner neuron's fused family, ``"lif" | "if" | "synaptic" | "alif"``.
        x: input ``[T, B..., N]``.
        state: :class:`~spikeflow.functional.RecurrentState` (inner state, last spikes ``[B..., N]``).
        params: :class:`~spikeflow.functional.RecurrentParams`.
        backend: ``"auto" | "reference" | "cpu" | "triton"``.

    Returns:
        ``(spikes [T, B..., N], final RecurrentState)``, or ``None`` to use the reference scan.
    """
    if backend == "reference" or (backend == "auto" and torch.compiler.is_compiling()):
        return None
    node = fused_node(
        backend, x, FusedRecurrent, "spikeflow.kernels.triton_recurrent.TritonRecurrent"
    )
    reason = node if isinstance(node, str) else _reason(x, state, params.weight)
    plan = reason or make_plan(kind, x, state.neuron, params.neuron)
    if isinstance(plan, str):
        if backend == "auto":
            return None
        raise UserError(f"backend={backend!r} cannot run this recurrent {kind!r} call: {plan}")
    dtype = compute_dtype(x.dtype)
    cast = [None if t is None else t.to(dtype) for t in plan.inputs]
    weight, s0 = params.weight.to(dtype), state.s.to(dtype)
    spikes, v, i, b, refrac = node.apply(plan.config, weight, s0, *cast)
    spikes = spikes.to(x.dtype)
    inner: Any = state.neuron  # the inner model's state NamedTuple
    if not plan.config.refractory:
        refrac = inner.refrac
    fields = {"v": v, "i": i, "b": b, "refrac": refrac}
    neuron = type(inner)(
        **{name: like_state(fields[name], getattr(inner, name)) for name in inner._fields}
    )
    return spikes, RecurrentState(neuron, spikes[-1])
