"""numba engine of the fused Izhikevich layer: forward over the whole time axis and its exact
reverse.

Neurons are flat (``M = B * N``), parameters per neuron ``[M]``, in ``parts`` contiguous ranges, one
per thread (each neuron is independent, so the result does not depend on the thread count). A step
repeats :func:`spikeflow.functional.izhikevich_step` operation by operation in the input's dtype
(the constants rounded to it, as torch rounds Python scalars), so spikes and states equal the
reference scan's bit for bit::

    n times: v = v + h ((((0.04 v) v + 5 v) + 140) - u + x)     # h = dt / n
    u = u + (dt a) (b v - u);  s = (v - v_peak >= 0);  v = v - s (v - c);  u = u + d s

The backward takes the surrogate derivative ``g = sg'(v - v_peak)`` of every step (computed by the
caller in torch, so any surrogate works), replays the Euler sub-steps from the saved state and runs
the adjoint backwards in time.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from spikeflow._numba_cache import njit


@njit(error_model="numpy")
def _euler(v, u, x, h):
    """One forward-Euler sub-step of the membrane (the reference's order of operations)."""
    f = type(v)
    return v + h * ((((f(0.04) * v) * v + f(5.0) * v) + f(140.0)) - u + x)


@njit(cache=True, parallel=True, error_model="numpy")
def forward(x, v, u, dta, b, c, d, vpk, h, substeps, v_out, v_prev, u_prev, s_out, parts):
    """Run ``x`` ``[T, M]`` from the state ``v, u`` ``[M]`` (updated in place). ``dta`` is
    ``dt * a`` (rounded as the reference rounds it), ``h`` the sub-step ``dt / substeps``. Writes
    the membrane before reset ``v_out``, the state before every step ``v_prev, u_prev`` and the
    spikes ``s_out`` (all ``[T, M]``)."""
    n_steps, m = x.shape
    for p in prange(parts):
        lo, hi = p * m // parts, (p + 1) * m // parts
        for t in range(n_steps):
            for k in range(lo, hi):
                vk, uk, xk = v[k], u[k], x[t, k]
                v_prev[t, k] = vk
                u_prev[t, k] = uk
                for _ in range(substeps):
                    vk = _euler(vk, uk, xk, h)
                uk = uk + dta[k] * (b[k] * vk - uk)
                fired = vk - vpk[k] >= 0
                v_out[t, k] = vk
                s_out[t, k] = 1 if fired else 0
                v[k] = vk - (vk - c[k]) if fired else vk
                u[k] = uk + d[k] if fired else uk


@njit(cache=True, parallel=True, error_model="numpy")
def backward(gs, g, vt, s, v_prev, u_prev, x, dta, b, c, d, h, substeps, detach, lv, lu, gx,
             parts):  # fmt: skip
    """The adjoint of :func:`forward`. ``gs`` ``[T, M]``: gradient of the spikes; ``g``: the
    surrogate derivative at every step; ``vt``: the membrane before reset; ``lv, lu`` ``[M]``
    (float64): gradients of the final ``v, u`` on entry, of the initial ones on exit. Writes
    ``gx`` ``[T, M]``."""
    n_steps, m = x.shape
    for p in prange(parts):
        vs = np.empty(substeps, x.dtype)
        lo, hi = p * m // parts, (p + 1) * m // parts
        for k in range(lo, hi):
            av, au = lv[k], lu[k]
            for t in range(n_steps - 1, -1, -1):
                sk, vk = s[t, k], vt[t, k]
                ds = gs[t, k]
                if not detach:  # v = v - s (v - c) and u = u + d s, through the spike
                    ds += au * d[k] - av * (vk - c[k])
                dv = av * (1.0 - sk) + ds * g[t, k] + au * dta[k] * b[k]
                au = au * (1.0 - dta[k])
                vj, uk, xk = v_prev[t, k], u_prev[t, k], x[t, k]
                for j in range(substeps):  # replay the sub-steps, then walk them back
                    vs[j] = vj
                    vj = _euler(vj, uk, xk, h)
                gxk = 0.0
                for j in range(substeps - 1, -1, -1):
                    gxk += h * dv
                    au -= h * dv
                    dv = dv * (1.0 + h * (0.08 * vs[j] + 5.0))
                gx[t, k] = gxk
                av = dv
            lv[k], lu[k] = av, au
