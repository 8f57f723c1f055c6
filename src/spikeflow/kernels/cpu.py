"""CPU engine: the fused LIF-family recurrence compiled with numba.

Neurons are split into blocks of :data:`BLOCK` run in parallel (``prange``); within a block the
time loop is outside and the neuron loop inside, so every step reads and writes contiguous memory.
Compilation is cached on disk (``cache=True``): the first call per dtype compiles (seconds), later
processes load the machine code. The tensors' memory is used in place through ``Tensor.numpy()``.

Saved for backward: the input itself (no copy) and one byte of flags per neuron-step. The backward
recomputes each block's trajectory into a scratch of ``T x BLOCK`` floats per thread (bitwise equal
to the forward), then runs the reverse-time pass.

float32 and float64 run natively; other dtypes never reach this engine (the dispatcher falls back to
the reference scan for bfloat16 and float16).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys

import numpy as np
import torch
from numba import njit, prange
from torch import Tensor

from spikeflow.kernels.plan import Config

BLOCK = 256
_HUGE = 2 << 20  # transparent huge page size on x86-64 / arm64 Linux
_MADV_HUGEPAGE = 14
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
)


def _fresh(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """``torch.empty``, with large buffers advised to use transparent huge pages (Linux).

    Touching a fresh multi-megabyte buffer page by page costs more than the kernel itself on
    many machines; with 2 MiB pages the first touch is several times cheaper. Advice only: where it
    is not available nothing changes.
    """
    t = torch.empty(shape, dtype=dtype)
    nbytes = t.numel() * t.element_size()
    if _LIBC is not None and nbytes >= 4 * _HUGE:
        start = -(-t.data_ptr() // _HUGE) * _HUGE
        end = (t.data_ptr() + nbytes) // _HUGE * _HUGE
        _LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_HUGEPAGE)
    return t


def _flat(t: Tensor) -> np.ndarray:
    """The memory spanned by a 2-D ``[T, M]`` tensor as a 1-D numpy view (no copy)."""
    span = (t.shape[0] - 1) * t.stride(0) + (t.shape[1] - 1) * t.stride(1) + 1
    return torch.as_strided(t, (span,), (1,)).numpy()


@njit(cache=True)
def _surrogate_row(kind, a, d, out):
    """``out = Surrogate.grad(d)`` for the surrogate with id ``kind`` (``plan.SURROGATE_IDS``).

    One loop per surrogate, so each loop vectorises.
    """
    if kind == 0:
        for k in range(d.shape[0]):
            z = 0.5 * math.pi * a * d[k]
            out[k] = 0.5 * a / (1.0 + z * z)
    elif kind == 1:
        for k in range(d.shape[0]):
            s = 1.0 / (1.0 + math.exp(-a * d[k]))
            out[k] = a * s * (1.0 - s)
    elif kind == 2:
        for k in range(d.shape[0]):
            q = 1.0 + a * abs(d[k])
            out[k] = 0.5 * a / (q * q)
    elif kind == 3:
        for k in range(d.shape[0]):
            out[k] = a * max(0.0, 1.0 - a * abs(d[k]))
    elif kind == 4:
        for k in range(d.shape[0]):
            out[k] = a if abs(d[k]) < 0.5 / a else 0.0
    else:
        for k in range(d.shape[0]):
            out[k] = a / math.sqrt(math.pi) * math.exp(-((a * d[k]) ** 2))


@njit(cache=True, inline="always")
def _step(u, v, i, b, r, beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref, zero):
    """One step of one neuron, written without branches so that the neuron loop vectorises.

    Terms a model lacks are neutral: ``alpha = 0`` (no synaptic current: ``0 * i + x == x``),
    ``rho = beta_a = 0`` (no adaptation: ``thr + 0 == thr``), ``k_ref = 0`` (never refractory).
    ``c_sub, c_zero`` pick the reset: ``v - s * (c_sub * theta + c_zero * (v - v_reset))`` is
    ``v - s * theta``, ``v - s * (v - v_reset)`` or ``v``, each with the reference's roundings.
    """
    i_new = alpha * i + u
    free = r <= zero
    vp = beta * v + i_new if free else v
    theta = thr + b
    spk = free & (vp - theta >= zero)
    s = zero + 1 if spk else zero
    v_new = vp - s * (c_sub * theta + c_zero * (vp - v_reset))
    r_new = k_ref if spk else max(r - 1, zero)
    b_new = rho * b + beta_a * s
    return i_new, vp, spk, free, s, v_new, r_new, b_new


@njit(cache=True, parallel=True)
def _forward(
    x, xst, n_steps, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a,
    synaptic, reset, refractory,
    spikes, flags, save,
):  # fmt: skip
    m = v.shape[0]
    dt = v.dtype.type
    c_sub, c_zero, k_ref, zero = dt(reset == 0), dt(reset == 1), dt(refractory), dt(0)
    for blk in prange((m + BLOCK - 1) // BLOCK):
        lo = blk * BLOCK
        hi = min(lo + BLOCK, m)
        # block-local copies: contiguous, unaliased, so the neuron loops vectorise
        vl, il, bl, rl = (
            v[lo:hi].copy(),
            cur[lo:hi].copy(),
            adapt[lo:hi].copy(),
            refrac[lo:hi].copy(),
        )
        be, al, th, vr = (
            beta[lo:hi].copy(),
            alpha[lo:hi].copy(),
            thr[lo:hi].copy(),
            v_reset[lo:hi].copy(),
        )
        rh, ba = rho[lo:hi].copy(), beta_a[lo:hi].copy()
        for t in range(n_steps):
            xs = x[t * xst + lo : t * xst + hi]
            ss = spikes[t * m + lo : t * m + hi]
            if not save:  # two loops rather than a branch per neuron: both vectorise
                for k in range(hi - lo):
                    il[k], _, _, _, ss[k], vl[k], rl[k], bl[k] = _step(
                        xs[k], vl[k], il[k], bl[k], rl[k],
                        be[k], al[k], th[k], vr[k], rh[k], ba[k], c_sub, c_zero, k_ref, zero,
                    )  # fmt: skip
                continue
            fs = flags[t * m + lo : t * m + hi]
            for k in range(hi - lo):
                il[k], _, spk, free, ss[k], vl[k], rl[k], bl[k] = _step(
                    xs[k], vl[k], il[k], bl[k], rl[k],
                    be[k], al[k], th[k], vr[k], rh[k], ba[k], c_sub, c_zero, k_ref, zero,
                )  # fmt: skip
                fs[k] = np.uint8(spk) | (np.uint8(free) << 1)
        v[lo:hi], cur[lo:hi], adapt[lo:hi], refrac[lo:hi] = vl, il, bl, rl


@njit(cache=True, parallel=True)
def _backward(
    gs, gst, gsj, x, xst, n_steps, flags, v0, i0, b0,
    beta, alpha, thr, v_reset, rho, beta_a,
    synaptic, adaptive, reset, detach, sg_kind, sg_alpha, need_beta, need_thr,
    gx, gv, gi, gb, gbeta, galpha, gthr,
):  # fmt: skip
    """Reverse-time pass.

    First the block's forward trajectory is recomputed from the saved input and spike/refractory
    flags (the same float operations, so bitwise equal): membrane before reset ``vp_t`` and, when
    the model has them, ``i_{t-1}`` and ``b_{t-1}``. Then per step the core loop carries ``dL/dv``
    back through reset, spike and leak; optional terms (adaptation, synaptic current, un-detached
    reset, parameter gradients) run as separate loops only where needed, so every loop vectorises.
    """
    m = v0.shape[0]
    dt = v0.dtype.type
    c_sub, c_zero = dt(reset == 0), dt(reset == 1)
    for blk in prange((m + BLOCK - 1) // BLOCK):
        lo = blk * BLOCK
        hi = min(lo + BLOCK, m)
        n = hi - lo
        be, al, th = beta[lo:hi].copy(), alpha[lo:hi].copy(), thr[lo:hi].copy()
        vr, rh, ba = v_reset[lo:hi].copy(), rho[lo:hi].copy(), beta_a[lo:hi].copy()
        vps = np.empty(n_steps * n, v0.dtype)  # vp_t
        ips = np.empty(n_steps * n if synaptic else 1, v0.dtype)  # i_{t-1}
        bps = np.empty(n_steps * n if adaptive else 1, v0.dtype)  # b_{t-1}
        vv, ii, bb = v0[lo:hi].copy(), i0[lo:hi].copy(), b0[lo:hi].copy()
        u = np.empty(n, v0.dtype)
        for t in range(n_steps):
            xs, fs = x[t * xst + lo : t * xst + hi], flags[t * m + lo : t * m + hi]
            vp = vps[t * n : t * n + n]
            if synaptic:
                ips[t * n : t * n + n] = ii
                for k in range(n):
                    ii[k] = al[k] * ii[k] + xs[k]
                u[:] = ii
            else:
                u[:] = xs
            if adaptive:
                bps[t * n : t * n + n] = bb
            for k in range(n):
                s = dt(fs[k] & 1)
                vp[k] = be[k] * vv[k] + u[k] if fs[k] & 2 else vv[k]
                theta = th[k] + bb[k] if adaptive else th[k]
                vv[k] = vp[k] - s * (c_sub * theta + c_zero * (vp[k] - vr[k]))
            if adaptive:
                for k in range(n):
                    bb[k] = rh[k] * bb[k] + ba[k] * dt(fs[k] & 1)
        gvl, gil, gbl = gv[lo:hi].copy(), gi[lo:hi].copy(), gb[lo:hi].copy()
        gbe, gal, gth = np.zeros(n, v0.dtype), np.zeros(n, v0.dtype), np.zeros(n, v0.dtype)
        theta, work, sgm, grow = (np.empty(n, v0.dtype), np.empty(n, v0.dtype),
                                  np.empty(n, v0.dtype), np.empty(n, v0.dtype))  # fmt: skip
        g_theta, g_u = np.empty(n, v0.dtype), np.empty(n, v0.dtype)
        for t in range(n_steps - 1, -1, -1):
            fs = flags[t * m + lo : t * m + hi]
            vp = vps[t * n : t * n + n]
            for k in range(n):
                theta[k] = th[k] + bps[t * n + k] if adaptive else th[k]
                work[k] = vp[k] - theta[k]
            _surrogate_row(sg_kind, sg_alpha, work, sgm)
            if gsj:
                grow[:] = gs[t * gst + lo : t * gst + hi]
            else:
                grow[:] = gs[t * gst]
            if adaptive:  # b_t = rho b_{t-1} + beta_a s_t
                for k in range(n):
                    grow[k] += ba[k] * gbl[k]
            if not detach:  # the reset term depends on s_t
                for k in range(n):
                    grow[k] -= gvl[k] * (c_sub * theta[k] + c_zero * (vp[k] - vr[k]))
            gxs = gx[t * m + lo : t * m + hi]
            for k in range(n):  # core: through reset, spike and leak
                s = dt(fs[k] & 1)
                sg = sgm[k] if fs[k] & 2 else dt(0)
                g_vp = gvl[k] * (1 - s * c_zero) + grow[k] * sg
                g_theta[k] = -gvl[k] * s * c_sub - grow[k] * sg
                g_u[k] = g_vp if fs[k] & 2 else dt(0)
                gvl[k] = be[k] * g_vp if fs[k] & 2 else g_vp
                gxs[k] = g_u[k]
            if need_thr or adaptive:
                for k in range(n):
                    gth[k] += g_theta[k]
                    gbl[k] = rh[k] * gbl[k] + g_theta[k]
            if need_beta:  # d vp_t / d beta = membrane before the step (after the last reset)
                if t == 0:
                    work[:] = v0[lo:hi]
                else:
                    p = t - 1
                    fp, vpp = flags[p * m + lo : p * m + hi], vps[p * n : p * n + n]
                    for k in range(n):
                        th_p = th[k] + bps[p * n + k] if adaptive else th[k]
                        s = dt(fp[k] & 1)
                        work[k] = vpp[k] - s * (c_sub * th_p + c_zero * (vpp[k] - vr[k]))
                for k in range(n):
                    gbe[k] += g_u[k] * work[k]
            if synaptic:  # i_t = alpha i_{t-1} + x_t feeds vp_t and i_{t+1}
                for k in range(n):
                    g_i = gil[k] + g_u[k]
                    gal[k] += g_i * ips[t * n + k]
                    gil[k] = al[k] * g_i
                    gxs[k] = g_i
        gv[lo:hi], gi[lo:hi], gb[lo:hi] = gvl, gil, gbl
        gbeta[lo:hi], galpha[lo:hi], gthr[lo:hi] = gbe, gal, gth


class CPUEngine:
    """Runs :func:`_forward` / :func:`_backward` on the tensors' own memory."""

    def forward(
        self,
        cfg: Config,
        x: Tensor,
        state: dict[str, Tensor],
        params: dict[str, Tensor],
        save: bool,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        t_len, m = x.shape
        spikes = _fresh((t_len, m), x.dtype)
        flags = _fresh((t_len, m) if save else (1, 1), torch.uint8)
        p = {k: t.numpy() for k, t in params.items()}
        s = {k: t.numpy() for k, t in state.items()}
        _forward(
            _flat(x), x.stride(0), t_len, s["v"], s["i"], s["b"], s["refrac"],
            p["beta"], p["alpha"], p["threshold"], p["v_reset"], p["rho"], p["beta_a"],
            cfg.synaptic, cfg.reset, cfg.refractory,
            spikes.view(-1).numpy(), flags.view(-1).numpy(), save,
        )  # fmt: skip
        return spikes, (x if save else None), (flags if save else None)

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        saved: Tensor,
        flags: Tensor,
        init: dict[str, Tensor],
        params: dict[str, Tensor],
        grads: dict[str, Tensor],
        need: frozenset[str] = frozenset(("beta", "alpha", "threshold")),
    ) -> Tensor:
        t_len, m = saved.shape
        gx = _fresh((t_len, m), saved.dtype)
        p = {k: t.numpy() for k, t in params.items()}
        g = {k: t.numpy() for k, t in grads.items()}
        gs = grad_spikes.to(saved.dtype)
        _backward(
            _flat(gs), gs.stride(0), gs.stride(1) if m > 1 else 1,
            _flat(saved), saved.stride(0), t_len, flags.view(-1).numpy(),
            init["v"].numpy(), init["i"].numpy(), init["b"].numpy(),
            p["beta"], p["alpha"], p["threshold"], p["v_reset"], p["rho"], p["beta_a"],
            cfg.synaptic, cfg.adaptive, cfg.reset, cfg.detach_reset,
            cfg.surrogate, cfg.surrogate_alpha, "beta" in need, "threshold" in need,
            gx.view(-1).numpy(), g["v"], g["i"], g["b"], g["beta"], g["alpha"], g["threshold"],
        )  # fmt: skip
        return gx
