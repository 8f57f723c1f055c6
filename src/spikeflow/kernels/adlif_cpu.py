"""numba engine of the fused AdLIF layer (no refractory period): forward over the whole time axis
and its exact reverse.

Neurons are flat (``M = B * N``), parameters per neuron ``[M]``. The forward repeats
:func:`spikeflow.functional.adlif_step` operation by operation in the input's dtype, so spikes and
states equal the reference scan's bit for bit::

    u = beta v + (1 - beta) (x - w);  s = (u - thr >= 0);  v = reset(u, s);  w = (rho w + a u) + b s

The backward takes the surrogate derivative ``g = sg'(u - thr)`` of every step (computed by the
caller in torch, so any surrogate works) and runs the adjoint recurrence backwards in time. The
neurons are split into ``parts`` contiguous ranges, one per thread; each neuron is independent, so
the result does not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from spikeflow._numba_cache import njit

RESET_IDS = {"subtract": 0, "zero": 1, "none": 2}


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
                vk, wk = v[k], w[k]
                v_prev[t, k] = vk
                w_prev[t, k] = wk
                u = beta[k] * vk + cbeta[k] * (x[t, k] - wk)
                fired = u - thr[k] >= 0
                u_out[t, k] = u
                s_out[t, k] = 1 if fired else 0
                if not fired or reset == 2:
                    v[k] = u
                elif reset == 0:
                    v[k] = u - thr[k]
                else:
                    v[k] = u - (u - vr[k])
                wn = rho[k] * wk + a[k] * u
                w[k] = wn + b[k] if fired else wn


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
                sk, gk, uk = s[t, k], g[t, k], u[t, k]
                # v = reset(u, s): the direct derivative in u, and in s where the reset is attached
                dv_du, dv_ds, dv_dth = 1.0, 0.0, 0.0
                if reset == 0:
                    dv_ds, dv_dth = -th, -sk
                elif reset == 1:
                    dv_du, dv_ds = 1.0 - sk, -(uk - vr[k])
                if detach:
                    dv_ds = 0.0
                ds = gs[t, k] + aw * bk + av * dv_ds
                du = ds * gk + av * dv_du + aw * ak
                dth += av * dv_dth - ds * gk
                da += aw * uk
                dbb += aw * sk
                dr += aw * w_prev[t, k]
                xw = x[t, k] - w_prev[t, k]
                db += du * (v_prev[t, k] - xw)
                gx[t, k] = du * (1.0 - be)
                av, aw = du * be, aw * rh - du * (1.0 - be)
            lv[k], lw[k] = av, aw
            gbeta[k], grho[k], ga[k], gb[k], gthr[k] = db, dr, da, dbb, dth
