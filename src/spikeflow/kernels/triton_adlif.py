"""GPU engine of the fused AdLIF layer (no refractory period): triton kernels over the whole time
axis, one launch per direction.

The same recurrence as :mod:`spikeflow.kernels.adlif_cpu`, operation by operation (so spikes and
states equal the reference scan bit for bit; floating-point contraction is off)::

    u = beta v + (1 - beta) (x - w);  s = (u - thr >= 0);  v = reset(u, s);  w = (rho w + a u) + b s

One program owns ``BLOCK`` neurons of the flat ``[T, M]`` rows and walks the time axis, so every
step's loads and stores are contiguous. Saved for backward, as on the CPU: the pre-reset membrane
``u`` and the state before every step. The backward takes the surrogate derivative
``g = sg'(u - thr)`` of every step (one elementwise torch call, so any surrogate works) and runs
the adjoint recurrence in reverse time, summing the parameters' gradients per neuron. On CPU
tensors the kernels run in triton's interpreter when ``TRITON_INTERPRET=1``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import triton
import triton.language as tl
from torch import Tensor

from spikeflow.kernels.adlif_cpu import RESET_IDS
from spikeflow.kernels.triton_engine import launch_config


@triton.jit
def _forward_kernel(
    x_ptr, n_steps, m, v_ptr, w_ptr, beta_ptr, rho_ptr, a_ptr, b_ptr, thr_ptr, vr_ptr,
    s_ptr, u_ptr, vp_ptr, wp_ptr,
    RESET: tl.constexpr, SAVE: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = j < m
    v = tl.load(v_ptr + j, mask=mask, other=0.0)
    w = tl.load(w_ptr + j, mask=mask, other=0.0)
    beta = tl.load(beta_ptr + j, mask=mask, other=0.0)
    rho = tl.load(rho_ptr + j, mask=mask, other=0.0)
    a = tl.load(a_ptr + j, mask=mask, other=0.0)
    b = tl.load(b_ptr + j, mask=mask, other=0.0)
    thr = tl.load(thr_ptr + j, mask=mask, other=0.0)
    v_reset = tl.load(vr_ptr + j, mask=mask, other=0.0)
    cbeta = 1 - beta
    for t in range(n_steps):
        o = t * m + j
        if SAVE:
            tl.store(vp_ptr + o, v, mask=mask)
            tl.store(wp_ptr + o, w, mask=mask)
        u = beta * v + cbeta * (tl.load(x_ptr + o, mask=mask, other=0.0) - w)
        fired = u - thr >= 0
        if RESET == 0:
            v = tl.where(fired, u - thr, u)
        elif RESET == 1:
            v = tl.where(fired, u - (u - v_reset), u)
        else:
            v = u
        wn = rho * w + a * u
        w = tl.where(fired, wn + b, wn)
        tl.store(s_ptr + o, fired.to(s_ptr.dtype.element_ty), mask=mask)
        if SAVE:
            tl.store(u_ptr + o, u, mask=mask)
    tl.store(v_ptr + j, v, mask=mask)
    tl.store(w_ptr + j, w, mask=mask)


@triton.jit
def _backward_kernel(
    gs_ptr, g_ptr, u_ptr, s_ptr, vp_ptr, wp_ptr, x_ptr, n_steps, m,
    beta_ptr, rho_ptr, a_ptr, b_ptr, thr_ptr, vr_ptr, lv_ptr, lw_ptr, gx_ptr,
    gbeta_ptr, grho_ptr, ga_ptr, gb_ptr, gthr_ptr,
    RESET: tl.constexpr, DETACH: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = j < m
    av = tl.load(lv_ptr + j, mask=mask, other=0.0)
    aw = tl.load(lw_ptr + j, mask=mask, other=0.0)
    beta = tl.load(beta_ptr + j, mask=mask, other=0.0)
    rho = tl.load(rho_ptr + j, mask=mask, other=0.0)
    a = tl.load(a_ptr + j, mask=mask, other=0.0)
    b = tl.load(b_ptr + j, mask=mask, other=0.0)
    thr = tl.load(thr_ptr + j, mask=mask, other=0.0)
    v_reset = tl.load(vr_ptr + j, mask=mask, other=0.0)
    cbeta = 1 - beta
    d_beta = av * 0.0
    d_rho = av * 0.0
    d_a = av * 0.0
    d_b = av * 0.0
    d_thr = av * 0.0
    for k in range(n_steps):
        o = (n_steps - 1 - k) * m + j
        s = tl.load(s_ptr + o, mask=mask, other=0.0).to(av.dtype)
        g = tl.load(g_ptr + o, mask=mask, other=0.0)
        u = tl.load(u_ptr + o, mask=mask, other=0.0)
        w_prev = tl.load(wp_ptr + o, mask=mask, other=0.0)
        # v = reset(u, s): its derivatives in u, in s (where the reset is attached) and in thr
        if RESET == 0:
            dv_du = av * 0.0 + 1.0
            dv_ds = -thr
            dv_dth = -s
        elif RESET == 1:
            dv_du = 1.0 - s
            dv_ds = -(u - v_reset)
            dv_dth = av * 0.0
        else:
            dv_du = av * 0.0 + 1.0
            dv_ds = av * 0.0
            dv_dth = av * 0.0
        if DETACH:
            dv_ds = av * 0.0
        ds = tl.load(gs_ptr + o, mask=mask, other=0.0) + aw * b + av * dv_ds
        du = ds * g + av * dv_du + aw * a
        d_thr += av * dv_dth - ds * g
        d_a += aw * u
        d_b += aw * s
        d_rho += aw * w_prev
        x_w = tl.load(x_ptr + o, mask=mask, other=0.0) - w_prev
        d_beta += du * (tl.load(vp_ptr + o, mask=mask, other=0.0) - x_w)
        tl.store(gx_ptr + o, du * cbeta, mask=mask)
        av, aw = du * beta, aw * rho - du * cbeta
    tl.store(lv_ptr + j, av, mask=mask)
    tl.store(lw_ptr + j, aw, mask=mask)
    tl.store(gbeta_ptr + j, d_beta, mask=mask)
    tl.store(grho_ptr + j, d_rho, mask=mask)
    tl.store(ga_ptr + j, d_a, mask=mask)
    tl.store(gb_ptr + j, d_b, mask=mask)
    tl.store(gthr_ptr + j, d_thr, mask=mask)


class TritonAdLIF(torch.autograd.Function):
    """``(x [T, M], v0, w0, beta, rho, a, b, thr, v_reset [M]) -> (spikes [T, M], v [M], w [M])``
    on the GPU (or the triton interpreter), as :class:`~spikeflow.kernels.adlif_fused.FusedAdLIF`
    on the CPU."""

    @staticmethod
    def forward(ctx: Any, config: tuple, x, v0, w0, beta, rho, a, b, thr, vr):
        _, reset, _ = config
        x = x.detach().contiguous()
        t_len, m = x.shape
        v, w = v0.detach().contiguous().clone(), w0.detach().contiguous().clone()
        params = [t.detach().contiguous() for t in (beta, rho, a, b, thr, vr)]
        save = any(ctx.needs_input_grad)
        spikes = torch.empty_like(x)
        u, v_prev, w_prev = (x.new_empty(x.shape if save else (1,)) for _ in range(3))
        block, warps = launch_config(m, x.device)
        _forward_kernel[(math.ceil(m / block),)](
            x, t_len, m, v, w, *params, spikes, u, v_prev, w_prev,
            RESET=RESET_IDS[reset], SAVE=save, BLOCK=block, num_warps=warps,
            enable_fp_fusion=False,
        )  # fmt: skip
        ctx.config = config
        if save:
            ctx.save_for_backward(x, u, spikes, v_prev, w_prev, *params)
        return spikes, v, w

    @staticmethod
    def backward(ctx: Any, gs: Tensor | None, gv: Tensor | None, gw: Tensor | None):
        x, u, spikes, v_prev, w_prev, beta, rho, a, b, thr, vr = ctx.saved_tensors
        surrogate, reset, detach = ctx.config
        t_len, m = x.shape
        g = surrogate.grad(u - thr).contiguous()
        lv = x.new_zeros(m) if gv is None else gv.to(x.dtype).contiguous().clone()
        lw = x.new_zeros(m) if gw is None else gw.to(x.dtype).contiguous().clone()
        gs = x.new_zeros(x.shape) if gs is None else gs.to(x.dtype).contiguous()
        gx = torch.empty_like(x)
        sums = [x.new_empty(m) for _ in range(5)]
        block, warps = launch_config(m, x.device)
        _backward_kernel[(math.ceil(m / block),)](
            gs, g, u, spikes, v_prev, w_prev, x, t_len, m, beta, rho, a, b, thr, vr,
            lv, lw, gx, *sums,
            RESET=RESET_IDS[reset], DETACH=bool(detach), BLOCK=block, num_warps=warps,
            enable_fp_fusion=False,
        )  # fmt: skip
        return None, gx, lv, lw, *sums, None
