"""numba engine of the fused AdLIF layers (no refractory period), feedforward and recurrent: forward
over the whole time axis and its exact reverse.

One step of one neuron is written once, in :func:`_step`, and its adjoint once, in
:func:`_adjoint`; the feedforward kernels (:func:`forward`, :func:`backward`) and the recurrent
ones (:func:`recurrent_forward`, :func:`recurrent_backward`) both call them. Each step repeats
:func:`spikeflow.functional.adlif_step` operation by operation in the input's dtype, so spikes and
states equal the reference scan's bit for bit::

    u = beta v + (1 - beta) (x - w);  s = (u - thr >= 0);  v = reset(u, s);  w = (rho w + a u) + b s

The backward takes the surrogate derivative ``g = sg'(u - thr)`` of every step (computed by the
caller in torch, so any surrogate works) and runs the adjoint recurrence backwards in time.

Feedforward: neurons are flat (``M = B * N``), parameters per neuron ``[M]``, split into ``parts``
contiguous ranges, one per thread; each neuron is independent, so the result does not depend on the
thread count. Recurrent (the input of step ``t`` is ``x[t] + W s[t-1]``, dense ``W`` ``[N, N]`` or
one-to-one ``w`` ``[N]``): the batch rows run in parallel and the recurrent input, the weight
gradient and the backward's ``dL/ds[t-1] = dL/du_t W`` are the pieces of
:mod:`spikeflow.kernels.recurrent_cpu` (event-driven input and weight gradient, register-blocked
product).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from spikeflow._numba_cache import njit
from spikeflow.kernels.recurrent_cpu import _prow, _recurrent_input, _rows_product, _weight_grad

RESET_IDS = {"subtract": 0, "zero": 1, "none": 2}


@njit(error_model="numpy")
def _step(xk, vk, wk, be, cbe, rh, ak, bk, th, vr, reset):
    """One neuron's step from ``v, w`` with input ``xk``: ``(u, fired, v_next, w_next)``."""
    u = be * vk + cbe * (xk - wk)
    fired = u - th >= 0
    if not fired or reset == 2:
        vn = u
    elif reset == 0:
        vn = u - th
    else:
        vn = u - (u - vr)
    wn = rh * wk + ak * u
    return u, fired, vn, (wn + bk if fired else wn)


@njit(error_model="numpy")
def _adjoint(gs, gk, uk, sk, vp, wp, xk, be, rh, ak, bk, th, vr, reset, detach, av, aw):
    """The reverse of :func:`_step`: from ``dL/ds`` ``gs``, the surrogate derivative ``gk`` and the
    gradients ``av, aw`` of the step's ``v_next, w_next``, returns ``(du, av, aw, d_beta, d_rho,
    d_a, d_b, d_thr)``: ``du`` is ``dL/du`` (``dL/dx = du (1 - beta)``), ``av, aw`` the gradients of
    the step's ``v, w`` and the rest the step's parameter gradients. ``vp, wp, xk`` are the step's
    ``v, w`` and input."""
    dv_du, dv_ds, dv_dth = 1.0, 0.0, 0.0
    if reset == 0:
        dv_ds, dv_dth = -th, -sk
    elif reset == 1:
        dv_du, dv_ds = 1.0 - sk, -(uk - vr)
    if detach:
        dv_ds = 0.0
    ds = gs + aw * bk + av * dv_ds
    du = ds * gk + av * dv_du + aw * ak
    d_thr = av * dv_dth - ds * gk
    d_beta = du * (vp - (xk - wp))
    return du, du * be, aw * rh - du * (1.0 - be), d_beta, aw * wp, aw * uk, aw * sk, d_thr


@njit(cache=True, parallel=True, error_model="numpy")
def forward(x, v, w, beta, cbeta, rho, a, b, thr, vr, reset, u_out, s_out, v_prev, w_prev,
            parts):  # fmt: skip
    """Run ``x`` ``[T, M]`` from the state ``v, w`` ``[M]`` (updated in place). Writes the
    pre-reset membrane ``u_out``, the spikes ``s_out`` and the state before every step
    ``v_prev, w_prev`` (all ``[T, M]``). ``cbeta`` is ``1 - beta``; ``reset`` a :data:`RESET_IDS`
    value."""
    n_steps, m = x.shape
    for p in prange(parts):
        lo, hi = p * m // parts, (p + 1) * m // parts
        for t in range(n_steps):
            for k in range(lo, hi):
                v_prev[t, k] = v[k]
                w_prev[t, k] = w[k]
                u, fired, v[k], w[k] = _step(
                    x[t, k], v[k], w[k], beta[k], cbeta[k], rho[k], a[k], b[k], thr[k], vr[k],
                    reset,
                )  # fmt: skip
                u_out[t, k] = u
                s_out[t, k] = 1 if fired else 0


@njit(cache=True, parallel=True, error_model="numpy")
def backward(gs, g, u, s, v_prev, w_prev, x, beta, rho, a, b, thr, vr, reset, detach, lv, lw,
             gx, gbeta, grho, ga, gb, gthr, parts):  # fmt: skip
    """The adjoint of :func:`forward`. ``gs`` ``[T, M]``: gradient of the spikes; ``g``: the
    surrogate derivative at every step; ``lv, lw`` ``[M]``: gradients of the final ``v, w`` on
    entry, of the initial ones on exit. Writes ``gx`` ``[T, M]`` and the per-neuron parameter
    gradients ``gbeta, grho, ga, gb, gthr`` ``[M]`` (float64 sums over time)."""
    n_steps, m = x.shape
    for p in prange(parts):
        lo, hi = p * m // parts, (p + 1) * m // parts
        for k in range(lo, hi):
            av, aw = np.float64(lv[k]), np.float64(lw[k])
            db = dr = da = dbb = dth = 0.0
            be, rh, ak, bk, th = beta[k], rho[k], a[k], b[k], thr[k]
            for t in range(n_steps - 1, -1, -1):
                du, av, aw, d1, d2, d3, d4, d5 = _adjoint(
                    gs[t, k], g[t, k], u[t, k], s[t, k], v_prev[t, k], w_prev[t, k], x[t, k],
                    be, rh, ak, bk, th, vr[k], reset, detach, av, aw,
                )  # fmt: skip
                gx[t, k] = du * (1.0 - be)
                db, dr, da, dbb, dth = db + d1, dr + d2, da + d3, dbb + d4, dth + d5
            lv[k], lw[k] = av, aw
            gbeta[k], grho[k], ga[k], gb[k], gthr[k] = db, dr, da, dbb, dth


@njit(cache=True, parallel=True, error_model="numpy")
def recurrent_forward(x, s0, wt, w1, v, w, beta, cbeta, rho, a, b, thr, vr, reset, xin, u_out,
                      s_out, v_prev, w_prev, parts):  # fmt: skip
    """The recurrent layer over ``x`` ``[T, B, N]`` from the spikes ``s0`` and the state ``v, w``
    (``[B, N]``, updated in place). ``wt`` is ``W^T`` (dense; ``w1`` is then ``None``) or ``None``
    (one-to-one ``w1`` ``[N]``); parameters are flat ``[B * N]``. Writes the total input
    ``xin = x[t] + W s[t-1]``, the pre-reset membrane, the spikes and the state before every step
    (all ``[T, B, N]``). The batch runs in ``parts`` parallel parts."""
    n_steps, nb, n = x.shape
    for p in prange(parts):
        r = np.empty(n, x.dtype)
        for bi in range(p * nb // parts, (p + 1) * nb // parts):
            be, cb, rh = _prow(beta, bi, n), _prow(cbeta, bi, n), _prow(rho, bi, n)
            ar, br, th, vrr = _prow(a, bi, n), _prow(b, bi, n), _prow(thr, bi, n), _prow(vr, bi, n)
            vl, wl, sp = v[bi], w[bi], s0[bi]
            for t in range(n_steps):
                xt = xin[t, bi]
                _recurrent_input(xt, x[t, bi], sp, wt, w1, r)
                for k in range(n):
                    v_prev[t, bi, k] = vl[k]
                    w_prev[t, bi, k] = wl[k]
                    u, fired, vl[k], wl[k] = _step(
                        xt[k], vl[k], wl[k], be[k], cb[k], rh[k], ar[k], br[k], th[k], vrr[k],
                        reset,
                    )  # fmt: skip
                    u_out[t, bi, k] = u
                    s_out[t, bi, k] = 1 if fired else 0
                sp = s_out[t, bi]


@njit(cache=True, parallel=True, error_model="numpy")
def recurrent_backward(gs, g, u, s, s0, v_prev, w_prev, xin, w, w1, beta, rho, a, b, thr, vr,
                       reset, detach, lv, lw, gx, gbeta, grho, ga, gb, gthr, gs0, gw,
                       parts):  # fmt: skip
    """The adjoint of :func:`recurrent_forward`. ``gs, g`` ``[T, B, N]``: gradient of the spikes
    and surrogate derivatives; ``lv, lw`` ``[B, N]`` (float64): gradients of the final ``v, w`` on
    entry, of the initial ones on exit; ``w`` is ``W`` (dense) or ``None``. Writes ``gx``
    ``[T, B, N]``, ``gs0`` ``[B, N]`` (``dL/ds0``), the parameter gradients ``gbeta ... gthr``
    ``[B * N]`` (float64) and the weight's, ``gw`` (``[parts, N, N]`` as ``dW^T``, or
    ``[parts, N]``, one slice per part). A part walks its rows together, step by step, so that
    ``dL/ds[t-1]`` is one ``[R, N] x [N, N]`` product per step."""
    n_steps, nb, n = u.shape
    for p in prange(parts):
        lo, hi = p * nb // parts, (p + 1) * nb // parts
        grec = np.zeros((hi - lo, n), u.dtype)
        gwp = gw[p]
        for t in range(n_steps - 1, -1, -1):
            for bi in range(lo, hi):
                be, rh, ar = _prow(beta, bi, n), _prow(rho, bi, n), _prow(a, bi, n)
                br, th, vrr = _prow(b, bi, n), _prow(thr, bi, n), _prow(vr, bi, n)
                gr, gu = grec[bi - lo], gx[t, bi]
                for k in range(n):
                    du, lv[bi, k], lw[bi, k], d1, d2, d3, d4, d5 = _adjoint(
                        gs[t, bi, k] + gr[k], g[t, bi, k], u[t, bi, k], s[t, bi, k],
                        v_prev[t, bi, k], w_prev[t, bi, k], xin[t, bi, k], be[k], rh[k],
                        ar[k], br[k], th[k], vrr[k], reset, detach, lv[bi, k], lw[bi, k],
                    )  # fmt: skip
                    gu[k] = du * (1.0 - be[k])
                    j = bi * n + k
                    gbeta[j] += d1
                    grho[j] += d2
                    ga[j] += d3
                    gb[j] += d4
                    gthr[j] += d5
                _weight_grad(gu, s0[bi] if t == 0 else s[t - 1, bi], w1, gwp)
            _rows_product(gx[t, lo:hi], w, w1, grec)
        gs0[lo:hi] = grec
