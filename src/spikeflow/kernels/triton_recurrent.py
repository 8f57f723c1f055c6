"""GPU engine of the fused recurrent layer: a LIF-family neuron fed back its own spikes, as triton
kernels over the whole time axis (one launch per direction).

The recurrence per batch row (``N`` neurons, ``W`` ``[N, N]`` or ``w`` ``[N]``)::

    u[t] = x[t] + W s[t-1]        (dense)   |   x[t] + w * s[t-1]     (one-to-one)
    s[t], state = step(u[t], state)          # the neuron step of spikeflow.kernels.plan

Step ``t`` of a row needs every neuron's spike of step ``t - 1``, so one program owns ``ROWS``
batch rows and all their neurons, and walks the time axis; programs never wait for each other.
Within a step the program takes its neurons in blocks of ``COLS`` columns: the block's recurrent
input is the product of the rows' previous spikes ``[ROWS, N]`` with ``W^T[:, cols]``, summed in
blocks of ``INNER`` (:func:`_product`), then the neuron step (:func:`triton_engine._step`, the
very step of the feedforward kernels). The state and the spikes live in global memory (they stay
in the cache), and a barrier ends every step so that the next one reads all of its spikes.

The backward runs the same way in reverse time: ``dL/ds[t] = g_s[t] + dL/du[t+1] W``, the same
blocked product with ``W``, then the reverse neuron step (:func:`triton_engine._back_step`), which
writes ``dL/du[t]`` (= ``dL/dx[t]``). The weight's gradient ``sum_t dL/du[t]^T s[t-1]`` and
``dL/ds0`` are one matrix product each after the kernel.

Saved for backward: the spikes, the pre-reset membrane (the current for the synaptic model) and one
byte of flags per step and neuron, as the feedforward engine saves. Floating-point contraction is
off (``enable_fp_fusion=False``) so the step rounds like the reference scan; spikes equal it
exactly wherever the recurrent sum is exact in any order (it is a sum in another order than a
BLAS product). On CPU tensors the kernels run in triton's interpreter when ``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import triton
import triton.language as tl
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikeflow.kernels.function import engine_params, engine_state, learnable_shapes, node_outputs
from spikeflow.kernels.plan import Config, Inputs
from spikeflow.kernels.triton_engine import _back_step, _dense, _recompute, _step

ROWS = 16  # batch rows per program (tl.dot takes blocks of at least 16 x 16)
INNER = 64  # terms of the recurrent sum per pass (few large products: a step is latency bound)


@triton.jit
def _product(a_ptr, mat_ptr, w1_ptr, rows, cols, nb, n, DENSE: tl.constexpr,
             ROWS: tl.constexpr, COLS: tl.constexpr, INNER: tl.constexpr):  # fmt: skip
    """``a[rows, :] @ mat[:, cols]`` (``a`` ``[B, N]``, ``mat`` ``[N, N]``, row-major) where
    ``DENSE``, else ``a[rows, cols] * w1[cols]``; ``[ROWS, COLS]``."""
    rmask = rows < nb
    cmask = cols < n
    if DENSE:
        acc = tl.full([ROWS, COLS], 0.0, a_ptr.dtype.element_ty)
        for k0 in range(0, n, INNER):
            ks = k0 + tl.arange(0, INNER)
            kmask = ks < n
            a = tl.load(
                a_ptr + rows[:, None] * n + ks[None, :],
                mask=rmask[:, None] & kmask[None, :],
                other=0.0,
            )
            w = tl.load(
                mat_ptr + ks[:, None] * n + cols[None, :],
                mask=kmask[:, None] & cmask[None, :],
                other=0.0,
            )
            acc = tl.dot(a, w, acc, input_precision="ieee")  # no TF32: full float32 products
    else:
        a = tl.load(
            a_ptr + rows[:, None] * n + cols[None, :],
            mask=rmask[:, None] & cmask[None, :],
            other=0.0,
        )
        acc = a * tl.load(w1_ptr + cols, mask=cmask, other=0.0)[None, :]
    return acc


@triton.jit
def _forward_kernel(
    x_ptr, s_ptr, wt_ptr, nb, n, n_steps, v_ptr, i_ptr, b_ptr, r_ptr,
    beta_ptr, alpha_ptr, thr_ptr, vr_ptr, rho_ptr, ba_ptr, h_ptr, f_ptr,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
    REFRACTORY: tl.constexpr, SAVE: tl.constexpr, DENSE: tl.constexpr,
    ROWS: tl.constexpr, COLS: tl.constexpr, INNER: tl.constexpr,
):  # fmt: skip
    """``x`` ``[T, B, N]``; ``s`` ``[T + 1, B, N]`` holds the initial spikes in its first step and
    receives the spikes; ``wt`` is ``W^T`` (dense) or ``w`` ``[N]``; state and parameters are
    ``[B * N]``, the state advanced in place."""
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    m = nb * n
    for t in range(n_steps):
        for c0 in range(0, n, COLS):
            cols = c0 + tl.arange(0, COLS)
            mask = (rows < nb)[:, None] & (cols < n)[None, :]
            j = rows[:, None] * n + cols[None, :]
            rec = _product(s_ptr + t * m, wt_ptr, wt_ptr, rows, cols, nb, n, DENSE, ROWS, COLS,
                           INNER)  # fmt: skip
            u = tl.load(x_ptr + t * m + j, mask=mask, other=0.0) + rec
            spk, free, h, v, cur, b, r = _step(
                u, tl.load(v_ptr + j, mask=mask, other=0.0),
                tl.load(i_ptr + j, mask=mask, other=0.0),
                tl.load(b_ptr + j, mask=mask, other=0.0),
                tl.load(r_ptr + j, mask=mask, other=0.0),
                tl.load(beta_ptr + j, mask=mask, other=0.0),
                tl.load(alpha_ptr + j, mask=mask, other=0.0),
                tl.load(thr_ptr + j, mask=mask, other=0.0),
                tl.load(vr_ptr + j, mask=mask, other=0.0),
                tl.load(rho_ptr + j, mask=mask, other=0.0),
                tl.load(ba_ptr + j, mask=mask, other=0.0),
                j >= 0, SYNAPTIC, ADAPTIVE, RESET, REFRACTORY,
            )  # fmt: skip
            tl.store(v_ptr + j, v, mask=mask)
            tl.store(i_ptr + j, cur, mask=mask)
            tl.store(b_ptr + j, b, mask=mask)
            tl.store(r_ptr + j, r, mask=mask)
            tl.store(s_ptr + (t + 1) * m + j, spk.to(s_ptr.dtype.element_ty), mask=mask)
            if SAVE:
                tl.store(h_ptr + t * m + j, h, mask=mask)
                tl.store(f_ptr + t * m + j, spk.to(tl.uint8) + 2 * free.to(tl.uint8), mask=mask)
        tl.debug_barrier()  # the next step reads every column's spikes of this one


@triton.jit
def _backward_kernel(
    gs_ptr, gx_ptr, w_ptr, nb, n, n_steps, h_ptr, f_ptr, scratch_ptr, v0_ptr, i0_ptr, b0_ptr,
    beta_ptr, alpha_ptr, thr_ptr, vr_ptr, rho_ptr, ba_ptr,
    gv_ptr, gi_ptr, gb_ptr, gbeta_ptr, galpha_ptr, gthr_ptr, sg_alpha,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
    DETACH: tl.constexpr, SG: tl.constexpr, DENSE: tl.constexpr,
    ROWS: tl.constexpr, COLS: tl.constexpr, INNER: tl.constexpr,
):  # fmt: skip
    """``gs`` ``[T, B, N]`` is dL/ds; ``gx`` ``[T + 1, B, N]`` receives dL/du (its last step
    zeros on entry); ``w`` is ``W`` (dense) or ``w`` ``[N]``; ``gv, gi, gb`` ``[B * N]`` hold the
    final state's gradients and receive the initial state's; ``gbeta, galpha, gthr``
    ``[B * N]`` zeros accumulate the parameters'."""
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    m = nb * n
    for c0 in range(0, n, COLS):
        cols = c0 + tl.arange(0, COLS)
        mask = (rows < nb)[:, None] & (cols < n)[None, :]
        j = rows[:, None] * n + cols[None, :]
        _recompute(
            j, mask, m, n_steps, h_ptr, f_ptr, scratch_ptr, b0_ptr,
            tl.load(v0_ptr + j, mask=mask, other=0.0), tl.load(beta_ptr + j, mask=mask, other=0.0),
            tl.load(thr_ptr + j, mask=mask, other=0.0), tl.load(vr_ptr + j, mask=mask, other=0.0),
            tl.load(rho_ptr + j, mask=mask, other=0.0), tl.load(ba_ptr + j, mask=mask, other=0.0),
            SYNAPTIC, ADAPTIVE, RESET,
        )  # fmt: skip
    tl.debug_barrier()
    for k in range(n_steps):
        t = n_steps - 1 - k
        for c0 in range(0, n, COLS):
            cols = c0 + tl.arange(0, COLS)
            mask = (rows < nb)[:, None] & (cols < n)[None, :]
            j = rows[:, None] * n + cols[None, :]
            g_s = tl.load(gs_ptr + t * m + j, mask=mask, other=0.0)
            g_s += _product(gx_ptr + (t + 1) * m, w_ptr, w_ptr, rows, cols, nb, n, DENSE, ROWS,
                            COLS, INNER)  # fmt: skip
            g_x, gv, gi, gb, d_beta, d_alpha, d_thr = _back_step(
                t, j, mask, m, g_s, h_ptr, f_ptr, scratch_ptr,
                tl.load(v0_ptr + j, mask=mask, other=0.0),
                tl.load(i0_ptr + j, mask=mask, other=0.0),
                tl.load(gv_ptr + j, mask=mask, other=0.0),
                tl.load(gi_ptr + j, mask=mask, other=0.0),
                tl.load(gb_ptr + j, mask=mask, other=0.0),
                tl.load(beta_ptr + j, mask=mask, other=0.0),
                tl.load(alpha_ptr + j, mask=mask, other=0.0),
                tl.load(thr_ptr + j, mask=mask, other=0.0),
                tl.load(vr_ptr + j, mask=mask, other=0.0),
                tl.load(rho_ptr + j, mask=mask, other=0.0),
                tl.load(ba_ptr + j, mask=mask, other=0.0),
                sg_alpha, SYNAPTIC, ADAPTIVE, RESET, DETACH, SG,
            )  # fmt: skip
            tl.store(gx_ptr + t * m + j, g_x, mask=mask)
            tl.store(gv_ptr + j, gv, mask=mask)
            tl.store(gi_ptr + j, gi, mask=mask)
            tl.store(gb_ptr + j, gb, mask=mask)
            tl.store(
                gbeta_ptr + j, tl.load(gbeta_ptr + j, mask=mask, other=0.0) + d_beta, mask=mask
            )
            tl.store(
                galpha_ptr + j, tl.load(galpha_ptr + j, mask=mask, other=0.0) + d_alpha, mask=mask
            )
            tl.store(gthr_ptr + j, tl.load(gthr_ptr + j, mask=mask, other=0.0) + d_thr, mask=mask)
        tl.debug_barrier()  # the previous step reads every column's dL/du of this one


def launch_config(nb: int, n: int) -> tuple[tuple[int], dict[str, int]]:
    """The grid and block sizes for ``nb`` batch rows of ``n`` neurons: ``ROWS`` rows per program,
    columns in blocks of up to 64 (at least 16), sums in blocks of ``INNER``."""
    cols = min(64, max(16, triton.next_power_of_2(n)))
    return (math.ceil(nb / ROWS),), {"ROWS": ROWS, "COLS": cols, "INNER": INNER}


class TritonRecurrent(torch.autograd.Function):
    """One autograd node for a recurrent layer over ``x`` ``[T, B..., N]`` on the GPU (or the
    triton interpreter): inputs ``(cfg, weight, s0, *Inputs)`` in the compute dtype, outputs
    ``(spikes, v, i, b, refrac)``, as :class:`~spikeflow.kernels.recurrent_fused.FusedRecurrent`."""

    @staticmethod
    def forward(ctx: Any, cfg: Config, weight: Tensor, s0: Tensor, *tensors: Any):
        inp = Inputs(*tensors)
        shape = inp.x.shape[1:]
        t_len, n = inp.x.shape[0], shape[-1]
        x3 = inp.x.detach().reshape(t_len, -1, n).contiguous()
        nb = x3.shape[1]
        like = x3.view(t_len, nb * n)
        params = _dense(engine_params(inp, shape, like), like)
        init = engine_state(cfg, inp, shape, nb * n)
        state = _dense({k: None if t is None else t.clone() for k, t in init.items()}, like)
        spikes = x3.new_empty(t_len + 1, nb, n)
        spikes[0] = s0.detach().to(x3.dtype).expand(shape).reshape(nb, n)
        w = weight.detach().to(x3.dtype).contiguous()
        dense = w.dim() == 2
        save = any(ctx.needs_input_grad)
        hist = x3.new_empty((t_len, nb * n) if save else (1,))
        flags = torch.empty(hist.shape, dtype=torch.uint8, device=x3.device)
        grid, blocks = launch_config(nb, n)
        _forward_kernel[grid](
            x3, spikes, w.T.contiguous() if dense else w, nb, n, t_len,
            state["v"], state["i"], state["b"], state["refrac"],
            params["beta"], params["alpha"], params["threshold"], params["v_reset"],
            params["rho"], params["beta_a"], hist, flags,
            SYNAPTIC=cfg.synaptic, ADAPTIVE=cfg.adaptive, RESET=cfg.reset,
            REFRACTORY=cfg.refractory, SAVE=save, DENSE=dense, **blocks, enable_fp_fusion=False,
        )  # fmt: skip
        if save:
            start = _dense(init, like)
            ctx.save_for_backward(hist, flags, spikes, w, start["v"], start["i"], start["b"])
            ctx.cfg, ctx.params, ctx.shape = cfg, params, shape
            ctx.shapes = learnable_shapes(inp)
            ctx.s0_shape, ctx.w_dtype = s0.shape, weight.dtype
        out = {k: None if init[k] is None else state[k] for k in state}
        return node_outputs(ctx, inp, spikes[1:], out, shape)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, g_spikes, g_v, g_i, g_b, _g_refrac):
        hist, flags, spikes, w, v0, i0, b0 = ctx.saved_tensors
        cfg, shape = ctx.cfg, ctx.shape
        t_len, nb, n = spikes.shape[0] - 1, spikes.shape[1], spikes.shape[2]
        dtype, m = spikes.dtype, nb * n
        gs = spikes.new_zeros(()).expand(t_len, m) if g_spikes is None else g_spikes
        gs = gs.to(dtype).reshape(t_len, m).contiguous()

        def flat(g: Tensor | None) -> Tensor:
            return spikes.new_zeros(m) if g is None else g.to(dtype).reshape(m).clone()

        needs = dict(zip(("weight", "s0", *Inputs._fields), ctx.needs_input_grad[1:], strict=True))
        grads = {k: flat(g) for k, g in (("v", g_v), ("i", g_i), ("b", g_b))}
        grads.update({k: spikes.new_zeros(m) for k in ("beta", "alpha", "threshold")})
        gx = spikes.new_empty(t_len + 1, nb, n)
        gx[t_len] = 0
        scratch = torch.empty_like(hist) if cfg.synaptic or cfg.adaptive else hist.new_empty(1)
        dense = w.dim() == 2
        grid, blocks = launch_config(nb, n)
        _backward_kernel[grid](
            gs, gx, w, nb, n, t_len, hist, flags, scratch, v0, i0, b0,
            ctx.params["beta"], ctx.params["alpha"], ctx.params["threshold"],
            ctx.params["v_reset"], ctx.params["rho"], ctx.params["beta_a"],
            grads["v"], grads["i"], grads["b"], grads["beta"], grads["alpha"],
            grads["threshold"], cfg.surrogate_alpha,
            SYNAPTIC=cfg.synaptic, ADAPTIVE=cfg.adaptive, RESET=cfg.reset,
            DETACH=cfg.detach_reset, SG=cfg.surrogate, DENSE=dense, **blocks,
            enable_fp_fusion=False,
        )  # fmt: skip
        gu, s_prev = gx[:t_len].reshape(-1, n), spikes[:t_len].reshape(-1, n)

        def param_grad(k: str) -> Tensor:
            return grads[k].view(shape).sum_to_size(ctx.shapes[k])

        out = {
            "weight": lambda: (gu.T @ s_prev if dense else (gu * s_prev).sum(0)).to(ctx.w_dtype),
            "s0": lambda: (gx[0] @ w if dense else gx[0] * w).view(shape).sum_to_size(ctx.s0_shape),
            "x": lambda: gx[:t_len].view(t_len, *shape),
            "v": lambda: grads["v"].view(shape),
            "i": lambda: grads["i"].view(shape),
            "b": lambda: grads["b"].view(shape),
            "beta": lambda: param_grad("beta"),
            "alpha": lambda: param_grad("alpha"),
            "threshold": lambda: param_grad("threshold"),
        }
        return (None, *[out[k]() if need and k in out else None for k, need in needs.items()])
