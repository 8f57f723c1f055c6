"""CPU engine: the fused LIF-family recurrence compiled with numba.

Neurons are split into blocks of :data:`BLOCK` run in parallel (``prange``); within a block the
time loop is outside and the neuron loop inside, so every step reads and writes contiguous memory.
Compilation is cached on disk (``cache=True``): the first call per dtype compiles (seconds), later
processes load the machine code. The tensors' memory is used in place through ``Tensor.numpy()``.

float32 and float64 run natively; other dtypes never reach this engine (the dispatcher falls back to
the reference scan for bfloat16 and float16).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit, prange
from torch import Tensor

from spikeflow.kernels.plan import Config

BLOCK = 256


def _flat(t: Tensor) -> np.ndarray:
    """The memory spanned by a 2-D ``[T, M]`` tensor as a 1-D numpy view (no copy)."""
    span = (t.shape[0] - 1) * t.stride(0) + (t.shape[1] - 1) * t.stride(1) + 1
    return torch.as_strided(t, (span,), (1,)).numpy()


@njit(cache=True, inline="always")
def _surrogate_grad(kind, a, d):
    """``Surrogate.grad`` of :mod:`spikeflow.surrogate`, by id (see ``plan.SURROGATE_IDS``)."""
    if kind == 0:
        z = 0.5 * math.pi * a * d
        return 0.5 * a / (1.0 + z * z)
    if kind == 1:
        s = 1.0 / (1.0 + math.exp(-a * d))
        return a * s * (1.0 - s)
    if kind == 2:
        q = 1.0 + a * abs(d)
        return 0.5 * a / (q * q)
    if kind == 3:
        return a * max(0.0, 1.0 - a * abs(d))
    if kind == 4:
        return a if abs(d) < 0.5 / a else 0.0
    return a / math.sqrt(math.pi) * math.exp(-((a * d) ** 2))


@njit(cache=True, inline="always")
def _reset(vp, spk, theta, v_reset, mode):
    """Membrane after the reset, with the same float operations as ``fire_and_reset``."""
    if not spk or mode == 2:
        return vp
    if mode == 0:
        return vp - theta
    return vp - (vp - v_reset)


@njit(cache=True, parallel=True)
def _forward(
    x, xst, n_steps, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a,
    synaptic, adaptive, reset, refractory,
    spikes, hist, flags, save,
):  # fmt: skip
    m = v.shape[0]
    for blk in prange((m + BLOCK - 1) // BLOCK):
        lo = blk * BLOCK
        hi = min(lo + BLOCK, m)
        for t in range(n_steps):
            xo = t * xst
            so = t * m
            for j in range(lo, hi):
                u = x[xo + j]
                if synaptic:
                    u = alpha[j] * cur[j] + u
                    cur[j] = u
                free = refractory == 0 or refrac[j] <= 0
                vp = beta[j] * v[j] + u if free else v[j]
                theta = thr[j] + adapt[j] if adaptive else thr[j]
                spk = free and vp - theta >= 0
                v[j] = _reset(vp, spk, theta, v_reset[j], reset)
                if refractory:
                    refrac[j] = refractory if spk else max(refrac[j] - 1, 0)
                if adaptive:
                    adapt[j] = rho[j] * adapt[j] + beta_a[j] if spk else rho[j] * adapt[j]
                spikes[so + j] = 1 if spk else 0
                if save:
                    hist[so + j] = u if synaptic else vp
                    flags[so + j] = (1 if spk else 0) | (2 if free else 0)


@njit(cache=True, parallel=True)
def _backward(
    gs, gst, gsj, n_steps, hist, flags, v0, i0, b0,
    beta, alpha, thr, v_reset, rho, beta_a,
    synaptic, adaptive, reset, detach, sg_kind, sg_alpha,
    gx, gv, gi, gb, gbeta, galpha, gthr,
):  # fmt: skip
    m = v0.shape[0]
    for blk in prange((m + BLOCK - 1) // BLOCK):
        lo = blk * BLOCK
        hi = min(lo + BLOCK, m)
        # Recompute what was not saved: b_{t-1} (adaptive) or the pre-reset membrane (synaptic).
        scratch = np.empty((n_steps if synaptic or adaptive else 1, hi - lo), hist.dtype)
        for j in range(lo, hi):
            if adaptive:
                b = b0[j]
                for t in range(n_steps):
                    scratch[t, j - lo] = b
                    b = rho[j] * b + beta_a[j] if flags[t * m + j] & 1 else rho[j] * b
            elif synaptic:
                vv = v0[j]
                for t in range(n_steps):
                    fl = flags[t * m + j]
                    vp = beta[j] * vv + hist[t * m + j] if fl & 2 else vv
                    scratch[t, j - lo] = vp
                    vv = _reset(vp, fl & 1, thr[j], v_reset[j], reset)
        for t in range(n_steps - 1, -1, -1):
            so = t * m
            go = t * gst
            for j in range(lo, hi):
                fl = flags[so + j]
                spk = fl & 1
                free = fl & 2
                vp = scratch[t, j - lo] if synaptic else hist[so + j]
                theta = thr[j] + scratch[t, j - lo] if adaptive else thr[j]
                sgm = _surrogate_grad(sg_kind, sg_alpha, vp - theta) if free else 0.0
                g_s = gs[go + j * gsj]
                if adaptive:
                    g_s += beta_a[j] * gb[j]
                g_v = gv[j]
                if reset == 0:
                    g_vp = g_v
                    g_theta = -g_v if spk else 0.0
                    if not detach:
                        g_s -= g_v * theta
                elif reset == 1:
                    g_vp = 0.0 if spk else g_v
                    g_theta = 0.0
                    if not detach:
                        g_s -= g_v * (vp - v_reset[j])
                else:
                    g_vp = g_v
                    g_theta = 0.0
                g_vp += g_s * sgm
                g_theta -= g_s * sgm
                gthr[j] += g_theta
                if adaptive:
                    gb[j] = rho[j] * gb[j] + g_theta
                if free:
                    if t == 0:
                        v_prev = v0[j]
                    else:
                        p = t - 1
                        vpp = scratch[p, j - lo] if synaptic else hist[p * m + j]
                        th_p = thr[j] + scratch[p, j - lo] if adaptive else thr[j]
                        v_prev = _reset(vpp, flags[p * m + j] & 1, th_p, v_reset[j], reset)
                    gbeta[j] += g_vp * v_prev
                    gv[j] = beta[j] * g_vp
                    g_u = g_vp
                else:
                    gv[j] = g_vp
                    g_u = 0.0
                if synaptic:
                    g_i = gi[j] + g_u
                    galpha[j] += g_i * (hist[(t - 1) * m + j] if t > 0 else i0[j])
                    gi[j] = alpha[j] * g_i
                    gx[so + j] = g_i
                else:
                    gx[so + j] = g_u


class CPUEngine:
    """Runs :func:`_forward` / :func:`_backward` on the tensors' own memory."""

    def forward(
        self, cfg: Config, x: Tensor, state: dict[str, Tensor], params: dict[str, Tensor], save: bool
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        t_len, m = x.shape
        spikes = torch.empty(t_len, m, dtype=x.dtype)
        hist = torch.empty(t_len, m, dtype=x.dtype) if save else torch.empty(1, 1, dtype=x.dtype)
        flags = torch.empty(t_len, m, dtype=torch.uint8) if save else torch.empty(1, 1, torch.uint8)
        p = {k: t.numpy() for k, t in params.items()}
        s = {k: t.numpy() for k, t in state.items()}
        _forward(
            _flat(x), x.stride(0), t_len, s["v"], s["i"], s["b"], s["refrac"],
            p["beta"], p["alpha"], p["threshold"], p["v_reset"], p["rho"], p["beta_a"],
            cfg.synaptic, cfg.adaptive, cfg.reset, cfg.refractory,
            spikes.view(-1).numpy(), hist.view(-1).numpy(), flags.view(-1).numpy(), save,
        )  # fmt: skip
        return spikes, (hist if save else None), (flags if save else None)

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        hist: Tensor,
        flags: Tensor,
        init: dict[str, Tensor],
        params: dict[str, Tensor],
        grads: dict[str, Tensor],
    ) -> Tensor:
        t_len, m = hist.shape
        gx = torch.empty(t_len, m, dtype=hist.dtype)
        p = {k: t.numpy() for k, t in params.items()}
        g = {k: t.numpy() for k, t in grads.items()}
        gs = grad_spikes.to(hist.dtype)
        _backward(
            _flat(gs), gs.stride(0), gs.stride(1) if m > 1 else 1, t_len,
            hist.view(-1).numpy(), flags.view(-1).numpy(),
            init["v"].numpy(), init["i"].numpy(), init["b"].numpy(),
            p["beta"], p["alpha"], p["threshold"], p["v_reset"], p["rho"], p["beta_a"],
            cfg.synaptic, cfg.adaptive, cfg.reset, cfg.detach_reset,
            cfg.surrogate, cfg.surrogate_alpha,
            gx.view(-1).numpy(), g["v"], g["i"], g["b"], g["beta"], g["alpha"], g["threshold"],
        )  # fmt: skip
        return gx
