"""GPU engine: the fused LIF-family recurrence as triton kernels.

One program owns ``BLOCK`` neurons and walks the whole time axis (one launch per direction, none per
step), so a step's loads and stores are contiguous (coalesced). Each warp's steps are sequential,
so the forward loads the input of step ``t + 1`` before it computes step ``t`` (the load's latency
overlaps the step instead of stalling every step). :func:`launch_config` sizes the programs: wide
(up to 1,024 neurons, four per thread, 16-byte accesses) where there are enough neurons to give
every multiprocessor several programs, narrower where there are few. The model's switches
(synaptic, adaptive, reset mode, refractory period, surrogate) are compile-time constants, so
each combination gets its own specialised kernel.
Floating-point contraction is disabled (``enable_fp_fusion=False``) so ``beta * v + x`` rounds
like the two PyTorch operations of the reference scan and spikes match exactly.

float32 and float64 run natively; the surrogate's ``exp`` is evaluated in float32. bfloat16 and
float16 input is loaded as it is and converted in registers: the state, the saved membrane and
the arithmetic are float32; spikes are stored in the input's dtype and ``dL/dx`` in that of
``dL/ds``. On CPU tensors
the kernels run in triton's interpreter when ``TRITON_INTERPRET=1`` (used by the tests).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import triton
import triton.language as tl
from torch import Tensor

from spikeflow.kernels.plan import Config, compute_dtype

BLOCK = 128  # neurons per program where the device is not a GPU (the interpreter)
PROGRAMS_PER_SM = 4  # programs wanted per multiprocessor before a block is made wider


def launch_config(m: int, device: torch.device) -> tuple[int, int]:
    """``(block, num_warps)`` for ``m`` neurons on ``device``: the widest block (1024, 512, 256 or
    128 neurons, four per thread) that still gives every multiprocessor ``PROGRAMS_PER_SM``
    programs; 128 neurons and 4 warps off the GPU.

    Arguments:
        m: neurons ``M`` (rows of ``[T, M]``). device: the tensors' device.

    Returns:
        ``(block, num_warps)``.
    """
    if device.type != "cuda":
        return BLOCK, 4
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    for block in (1024, 512, 256):
        if math.ceil(m / block) >= PROGRAMS_PER_SM * sms:
            return block, block // 128
    return 128, 1


@triton.jit
def _surrogate_grad(d, a, KIND: tl.constexpr):
    """``Surrogate.grad`` of :mod:`spikeflow.surrogate`, by id (see ``plan.SURROGATE_IDS``)."""
    if KIND == 0:
        z = 0.5 * 3.141592653589793 * a * d
        g = 0.5 * a / (1.0 + z * z)
    elif KIND == 1:
        s = 1.0 / (1.0 + tl.exp((-a * d).to(tl.float32)))
        g = a * s * (1.0 - s)
    elif KIND == 2:
        q = 1.0 + a * tl.abs(d)
        g = 0.5 * a / (q * q)
    elif KIND == 3:
        g = a * tl.maximum(1.0 - a * tl.abs(d), 0.0)
    elif KIND == 4:
        g = tl.where(tl.abs(d) < 0.5 / a, a, 0.0)
    else:
        ad = (a * d).to(tl.float32)
        g = a * 0.5641895835477563 * tl.exp(-ad * ad)
    return g.to(d.dtype)


@triton.jit
def _reset(vp, spk, theta, v_reset, RESET: tl.constexpr):
    """Membrane after the reset, with the same float operations as ``fire_and_reset``."""
    if RESET == 0:
        out = tl.where(spk, vp - theta, vp)
    elif RESET == 1:
        out = tl.where(spk, vp - (vp - v_reset), vp)
    else:
        out = vp
    return out


@triton.jit
def _step(
    u, v, cur, b, r, beta, alpha, thr, v_reset, rho, beta_a, everywhere,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
    REFRACTORY: tl.constexpr,
):  # fmt: skip
    """One step of the recurrence of :mod:`spikeflow.kernels.plan` on a block of neurons (any
    shape), from the input ``u`` and the state ``v, cur, b, r``. ``everywhere`` is an all-true
    mask of the block's shape. Returns ``(spk, free, h, v, cur, b, r)``: the spikes, the
    not-refractory mask, what backward saves (the current where synaptic, else the pre-reset
    membrane) and the new state."""
    if SYNAPTIC:
        cur = alpha * cur + u
        u = cur
    if REFRACTORY > 0:  # noqa: SIM108 (compile-time branch)
        free = r <= 0
    else:
        free = everywhere
    vp = tl.where(free, beta * v + u, v)
    if ADAPTIVE:  # noqa: SIM108
        theta = thr + b
    else:
        theta = thr
    spk = (vp - theta >= 0) & free
    v = _reset(vp, spk, theta, v_reset, RESET)
    if REFRACTORY > 0:
        r = tl.where(spk, REFRACTORY * 1.0, tl.maximum(r - 1, 0.0)).to(r.dtype)
    if ADAPTIVE:
        b = tl.where(spk, rho * b + beta_a, rho * b)
    h = u if SYNAPTIC else vp
    return spk, free, h, v, cur, b, r


@triton.jit
def _forward_kernel(
    x_ptr, xst, n_steps, m, v_ptr, i_ptr, b_ptr, r_ptr,
    beta_ptr, alpha_ptr, thr_ptr, vr_ptr, rho_ptr, ba_ptr,
    s_ptr, h_ptr, f_ptr,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
    REFRACTORY: tl.constexpr, SAVE: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = j < m
    v = tl.load(v_ptr + j, mask=mask, other=0.0)
    cur = tl.load(i_ptr + j, mask=mask, other=0.0)
    b = tl.load(b_ptr + j, mask=mask, other=0.0)
    r = tl.load(r_ptr + j, mask=mask, other=0.0)
    beta = tl.load(beta_ptr + j, mask=mask, other=0.0)
    alpha = tl.load(alpha_ptr + j, mask=mask, other=0.0)
    thr = tl.load(thr_ptr + j, mask=mask, other=0.0)
    v_reset = tl.load(vr_ptr + j, mask=mask, other=0.0)
    rho = tl.load(rho_ptr + j, mask=mask, other=0.0)
    beta_a = tl.load(ba_ptr + j, mask=mask, other=0.0)
    u_next = tl.load(x_ptr + j, mask=mask, other=0.0)  # n_steps >= 1: empty input never gets here
    for t in range(n_steps):
        u = u_next.to(v.dtype)
        # prefetch, issued before this step's arithmetic so the two overlap (the last step
        # reads its own input again)
        u_next = tl.load(x_ptr + tl.minimum(t + 1, n_steps - 1) * xst + j, mask=mask, other=0.0)
        spk, free, h, v, cur, b, r = _step(
            u, v, cur, b, r, beta, alpha, thr, v_reset, rho, beta_a, j >= 0,
            SYNAPTIC, ADAPTIVE, RESET, REFRACTORY,
        )  # fmt: skip
        out = t * m + j
        # through float32: triton's interpreter fails to convert int1 to bfloat16 directly
        tl.store(s_ptr + out, spk.to(tl.float32).to(s_ptr.dtype.element_ty), mask=mask)
        if SAVE:
            tl.store(h_ptr + out, h, mask=mask)
            tl.store(f_ptr + out, spk.to(tl.uint8) + 2 * free.to(tl.uint8), mask=mask)
    tl.store(v_ptr + j, v, mask=mask)
    tl.store(i_ptr + j, cur, mask=mask)
    tl.store(b_ptr + j, b, mask=mask)
    tl.store(r_ptr + j, r, mask=mask)


@triton.jit
def _recompute(
    j, mask, m, n_steps, h_ptr, f_ptr, scratch_ptr, b0_ptr, v0, beta, thr, v_reset, rho, beta_a,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
):  # fmt: skip
    """Write into ``scratch`` ``[T, M]`` what the forward did not save, for neurons ``j`` (any
    shape): the adaptation before each step (adaptive) or the pre-reset membrane (synaptic)."""
    if ADAPTIVE:
        b = tl.load(b0_ptr + j, mask=mask, other=0.0)
        for t in range(n_steps):
            tl.store(scratch_ptr + t * m + j, b, mask=mask)
            spk = (tl.load(f_ptr + t * m + j, mask=mask, other=0) & 1) != 0
            b = tl.where(spk, rho * b + beta_a, rho * b)
    if SYNAPTIC:
        vv = v0
        for t in range(n_steps):
            fl = tl.load(f_ptr + t * m + j, mask=mask, other=0)
            free = (fl & 2) != 0
            vp = tl.where(free, beta * vv + tl.load(h_ptr + t * m + j, mask=mask, other=0.0), vv)
            tl.store(scratch_ptr + t * m + j, vp, mask=mask)
            vv = _reset(vp, (fl & 1) != 0, thr, v_reset, RESET)


@triton.jit
def _back_step(
    t, j, mask, m, g_s, h_ptr, f_ptr, scratch_ptr, v0, i0, gv, gi, gb,
    beta, alpha, thr, v_reset, rho, beta_a, sg_alpha,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
    DETACH: tl.constexpr, SG: tl.constexpr,
):  # fmt: skip
    """The reverse of step ``t`` for neurons ``j`` (any shape), from ``g_s`` = dL/ds_t and the
    gradients ``gv, gi, gb`` of the state after the step. Returns ``(g_x, gv, gi, gb, d_beta,
    d_alpha, d_thr)``: the gradient of the step's input, those of the state before it and the
    step's terms of the parameters' gradients."""
    o = t * m + j
    fl = tl.load(f_ptr + o, mask=mask, other=0)
    spk = (fl & 1) != 0
    free = (fl & 2) != 0
    if SYNAPTIC:
        vp = tl.load(scratch_ptr + o, mask=mask, other=0.0)
    else:
        vp = tl.load(h_ptr + o, mask=mask, other=0.0)
    if ADAPTIVE:  # noqa: SIM108
        theta = thr + tl.load(scratch_ptr + o, mask=mask, other=0.0)
    else:
        theta = thr
    sgm = tl.where(free, _surrogate_grad(vp - theta, sg_alpha, SG), 0.0)
    if ADAPTIVE:
        g_s += beta_a * gb
    if RESET == 0:
        g_vp = gv
        g_theta = tl.where(spk, -gv, 0.0)
        if not DETACH:
            g_s -= gv * theta
    elif RESET == 1:
        g_vp = tl.where(spk, 0.0, gv)
        g_theta = gv * 0.0
        if not DETACH:
            g_s -= gv * (vp - v_reset)
    else:
        g_vp = gv
        g_theta = gv * 0.0
    g_vp += g_s * sgm
    g_theta -= g_s * sgm
    if ADAPTIVE:
        gb = rho * gb + g_theta
    # membrane before this step (after the previous reset), for d/d beta
    p = tl.maximum(t - 1, 0)
    fl_p = tl.load(f_ptr + p * m + j, mask=mask, other=0)
    if SYNAPTIC:
        vp_p = tl.load(scratch_ptr + p * m + j, mask=mask, other=0.0)
    else:
        vp_p = tl.load(h_ptr + p * m + j, mask=mask, other=0.0)
    if ADAPTIVE:  # noqa: SIM108
        th_p = thr + tl.load(scratch_ptr + p * m + j, mask=mask, other=0.0)
    else:
        th_p = thr
    v_prev = tl.where(t > 0, _reset(vp_p, (fl_p & 1) != 0, th_p, v_reset, RESET), v0)
    d_beta = tl.where(free, g_vp * v_prev, 0.0)
    gv = tl.where(free, beta * g_vp, g_vp)
    g_x = tl.where(free, g_vp, 0.0)
    d_alpha = gv * 0.0
    if SYNAPTIC:
        g_x = gi + g_x
        i_prev = tl.load(h_ptr + p * m + j, mask=mask, other=0.0)
        d_alpha = g_x * tl.where(t > 0, i_prev, i0)
        gi = alpha * g_x
    return g_x, gv, gi, gb, d_beta, d_alpha, g_theta


@triton.jit
def _backward_kernel(
    gs_ptr, gst, gsj, n_steps, m, h_ptr, f_ptr, scratch_ptr, v0_ptr, i0_ptr, b0_ptr,
    beta_ptr, alpha_ptr, thr_ptr, vr_ptr, rho_ptr, ba_ptr,
    gx_ptr, gv_ptr, gi_ptr, gb_ptr, gbeta_ptr, galpha_ptr, gthr_ptr, sg_alpha,
    SYNAPTIC: tl.constexpr, ADAPTIVE: tl.constexpr, RESET: tl.constexpr,
    DETACH: tl.constexpr, SG: tl.constexpr, BLOCK: tl.constexpr,
):  # fmt: skip
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = j < m
    beta = tl.load(beta_ptr + j, mask=mask, other=0.0)
    alpha = tl.load(alpha_ptr + j, mask=mask, other=0.0)
    thr = tl.load(thr_ptr + j, mask=mask, other=0.0)
    v_reset = tl.load(vr_ptr + j, mask=mask, other=0.0)
    rho = tl.load(rho_ptr + j, mask=mask, other=0.0)
    beta_a = tl.load(ba_ptr + j, mask=mask, other=0.0)
    v0 = tl.load(v0_ptr + j, mask=mask, other=0.0)
    i0 = tl.load(i0_ptr + j, mask=mask, other=0.0)
    _recompute(
        j, mask, m, n_steps, h_ptr, f_ptr, scratch_ptr, b0_ptr, v0, beta, thr, v_reset, rho,
        beta_a, SYNAPTIC, ADAPTIVE, RESET,
    )  # fmt: skip
    gv = tl.load(gv_ptr + j, mask=mask, other=0.0)
    gi = tl.load(gi_ptr + j, mask=mask, other=0.0)
    gb = tl.load(gb_ptr + j, mask=mask, other=0.0)
    gbeta = gv * 0.0
    galpha = gv * 0.0
    gthr = gv * 0.0
    for k in range(n_steps):
        t = n_steps - 1 - k
        g_s = tl.load(gs_ptr + t * gst + j * gsj, mask=mask, other=0.0).to(gv.dtype)
        g_x, gv, gi, gb, d_beta, d_alpha, d_thr = _back_step(
            t, j, mask, m, g_s, h_ptr, f_ptr, scratch_ptr, v0, i0, gv, gi, gb,
            beta, alpha, thr, v_reset, rho, beta_a, sg_alpha,
            SYNAPTIC, ADAPTIVE, RESET, DETACH, SG,
        )  # fmt: skip
        gbeta += d_beta
        galpha += d_alpha
        gthr += d_thr
        tl.store(gx_ptr + t * m + j, g_x, mask=mask)
    tl.store(gv_ptr + j, gv, mask=mask)
    tl.store(gi_ptr + j, gi, mask=mask)
    tl.store(gb_ptr + j, gb, mask=mask)
    tl.store(gbeta_ptr + j, gbeta, mask=mask)
    tl.store(galpha_ptr + j, galpha, mask=mask)
    tl.store(gthr_ptr + j, gthr, mask=mask)


def _dense(tensors: Mapping[str, Tensor | None], like: Tensor) -> dict[str, Tensor]:
    """Every entry as a contiguous ``[M]`` tensor in the compute dtype of ``like``: absent states
    become zeros (the kernels load and store every term and the switches ignore the result),
    stride-0 parameters are expanded."""
    m, dtype = like.shape[1], compute_dtype(like.dtype)
    return {
        k: like.new_zeros(m, dtype=dtype) if t is None else t.contiguous()
        for k, t in tensors.items()
    }


class TritonEngine:
    """Launches :func:`_forward_kernel` / :func:`_backward_kernel` on the tensors' device."""

    def forward(
        self,
        cfg: Config,
        x: Tensor,
        state: dict[str, Tensor],
        params: dict[str, Tensor],
        save: bool,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        t_len, m = x.shape
        state, params = _dense(state, x), _dense(params, x)
        spikes = torch.empty(t_len, m, dtype=x.dtype, device=x.device)
        shape = (t_len, m) if save else (1,)
        hist = torch.empty(shape, dtype=compute_dtype(x.dtype), device=x.device)
        flags = torch.empty(shape, dtype=torch.uint8, device=x.device)
        block, warps = launch_config(m, x.device)
        _forward_kernel[(math.ceil(m / block),)](
            x, x.stride(0), t_len, m, state["v"], state["i"], state["b"], state["refrac"],
            params["beta"], params["alpha"], params["threshold"], params["v_reset"],
            params["rho"], params["beta_a"], spikes, hist, flags,
            SYNAPTIC=cfg.synaptic, ADAPTIVE=cfg.adaptive, RESET=cfg.reset,
            REFRACTORY=cfg.refractory, SAVE=save, BLOCK=block, num_warps=warps,
            enable_fp_fusion=False,
        )  # fmt: skip
        return spikes, ((hist, flags) if save else ())

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        saved: tuple[Tensor, ...],
        init: dict[str, Tensor | None],
        params: dict[str, Tensor],
        grads: dict[str, Tensor | None],
    ) -> Tensor:
        """See ``function.Engine.backward``. The kernel computes every parameter gradient; those
        ``grads`` leaves ``None`` go to throwaway zeros (``_dense``)."""
        hist, flags = saved
        t_len, m = hist.shape
        init_m, params_m, grads_m = _dense(init, hist), _dense(params, hist), _dense(grads, hist)
        gs = grad_spikes  # loaded as it is and converted in registers
        gx = torch.empty(t_len, m, dtype=gs.dtype, device=hist.device)
        recompute = cfg.synaptic or cfg.adaptive
        scratch = torch.empty_like(hist) if recompute else hist.new_empty(1)
        block, warps = launch_config(m, hist.device)
        _backward_kernel[(math.ceil(m / block),)](
            gs, gs.stride(0), gs.stride(1) if m > 1 else 1, t_len, m, hist, flags, scratch,
            init_m["v"], init_m["i"], init_m["b"],
            params_m["beta"], params_m["alpha"], params_m["threshold"], params_m["v_reset"],
            params_m["rho"], params_m["beta_a"],
            gx, grads_m["v"], grads_m["i"], grads_m["b"], grads_m["beta"], grads_m["alpha"],
            grads_m["threshold"], cfg.surrogate_alpha,
            SYNAPTIC=cfg.synaptic, ADAPTIVE=cfg.adaptive, RESET=cfg.reset,
            DETACH=cfg.detach_reset, SG=cfg.surrogate, BLOCK=block, num_warps=warps,
            enable_fp_fusion=False,
        )  # fmt: skip
        return gx
