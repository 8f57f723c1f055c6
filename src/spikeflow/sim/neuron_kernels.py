"""Compiled neuron updates: one step of every group (LIF, conductance LIF, Izhikevich, adLIF,
Poisson).

See :mod:`spikeflow.sim.groups` for the equations and :mod:`spikeflow.sim.engine` for the step.

numba caches :func:`spikeflow.sim.engine.run_steps` with these functions compiled into it, keyed on
the source of engine.py and of every module it imports, this one included
(:mod:`spikeflow._numba_cache`): an edit here recompiles it.
"""

from __future__ import annotations

import numpy as np

from spikeflow._numba_cache import njit
from spikeflow.sim.layout import (
    D_EVERY,
    D_OFF,
    D_ROWS,
    D_STRIDE,
    G_ADAPT,
    G_KIND,
    G_NCH,
    G_PSTRIDE,
    G_START,
    G_STOP,
    KIND_ADLIF,
    KIND_GENERATOR,
    KIND_IZHIKEVICH,
    KIND_LIF,
    KIND_LIF_COND,
    KIND_POISSON,
    P_AD_A,
    P_AD_B,
    P_AD_BETA,
    P_AD_RHO,
    P_DECAY_M,
    P_IZ_A,
    P_IZ_B,
    P_IZ_C,
    P_IZ_D,
    P_TAU_M,
    P_THETA_DECAY,
    P_THETA_JUMP,
    P_V_RESET,
    P_V_REST,
    P_V_TH,
    S_G0,
    S_THETA,
    S_U,
    S_V,
)


@njit(cache=True, inline="always")
def _integrate(kind, dt, P, X, ch_coup, ch_erev, v, drv, nch, b, bp, k, j):
    """The membrane potential after one step from ``v`` (channels taken at the step's start)."""
    vr = P[P_V_REST, bp, k]
    if kind == KIND_LIF:
        dm = P[P_DECAY_M, bp, k]
        vn = vr + (v - vr) * dm + drv * (1.0 - dm)
        for c in range(nch):
            vn += X[S_G0 + c, b, j] * ch_coup[c, bp, k]
        return vn
    gt = 1.0
    num = vr + drv
    for c in range(nch):
        gc = X[S_G0 + c, b, j]
        gt += gc
        num += gc * ch_erev[c, bp, k]
    v_inf = num / gt
    return v_inf + (v - v_inf) * np.exp(-dt * gt / P[P_TAU_M, bp, k])


@njit(cache=True, inline="always")
def _lif(
    kind,
    dt,
    P,
    X,
    ref,
    ref_steps,
    ch_decay,
    ch_coup,
    ch_erev,
    drv,
    nch,
    start,
    stop,
    b,
    ps,
    ds,
    adapt,
    spiked,
    nspk,
):
    """LIF / adaptive LIF neurons ``start:stop`` of copy ``b``; appends spikes to ``spiked``.

    ``ps`` / ``ds`` are 1, or 0 when the group's parameters / drive are the same for every
    neuron and copy (then only the first entry is read, which keeps the working set small).
    """
    v, r = X[S_V, b, start:stop], ref[b, start:stop]
    bp = b * ps
    n = stop - start
    if not adapt:
        # two passes: a branch-free update (which vectorises), then the threshold test; a
        # refractory neuron holds v_reset < v_th, so it cannot pass the test
        for i in range(n):
            k = start + i * ps
            free = r[i] <= 0
            vn = _integrate(
                kind, dt, P, X, ch_coup, ch_erev, v[i], drv[i * ds], nch, b, bp, k, start + i
            )
            for c in range(nch):
                X[S_G0 + c, b, start + i] *= ch_decay[c, bp, k]
            v[i] = vn if free else v[i]
            r[i] = r[i] if free else r[i] - 1
        for i in range(n):
            k = start + i * ps
            if v[i] >= P[P_V_TH, bp, k]:
                v[i] = P[P_V_RESET, bp, k]
                r[i] = ref_steps[bp, k]
                spiked[b, nspk[b]] = start + i
                nspk[b] += 1
        return
    for i in range(n):
        k, j = start + i * ps, start + i
        free = r[i] <= 0
        vn = _integrate(kind, dt, P, X, ch_coup, ch_erev, v[i], drv[i * ds], nch, b, bp, k, j)
        for c in range(nch):
            X[S_G0 + c, b, j] *= ch_decay[c, bp, k]
        theta = X[S_THETA, b, j] * P[P_THETA_DECAY, bp, k]
        if not free:
            r[i] -= 1
        elif vn >= P[P_V_TH, bp, k] + theta:
            v[i] = P[P_V_RESET, bp, k]
            r[i] = ref_steps[bp, k]
            theta += P[P_THETA_JUMP, bp, k]
            spiked[b, nspk[b]] = j
            nspk[b] += 1
        else:
            v[i] = vn
        X[S_THETA, b, j] = theta


@njit(cache=True, inline="always", error_model="numpy")
def _lif_uniform2(kind, dt, P, X, ref, ref_steps, ch_decay, ch_coup, ch_erev, drv, start, stop, b,
                  spiked, nspk):  # fmt: skip
    """:func:`_lif` for the common case of one parameter set and drive for the whole group, two
    channels and no adaptation (CUBA, COBA): the same operations in the same order, on 1-D views
    with the parameters hoisted out of the loop, so the update vectorises."""
    n = stop - start
    v, r = X[S_V, b, start:stop], ref[b, start:stop]
    g0, g1 = X[S_G0, b, start:stop], X[S_G0 + 1, b, start:stop]
    vr, dm, tau, d = P[P_V_REST, 0, start], P[P_DECAY_M, 0, start], P[P_TAU_M, 0, start], drv[0]
    c0, c1 = ch_coup[0, 0, start], ch_coup[1, 0, start]
    e0, e1 = ch_erev[0, 0, start], ch_erev[1, 0, start]
    k0, k1 = ch_decay[0, 0, start], ch_decay[1, 0, start]
    for i in range(n):
        if kind == KIND_LIF:
            vn = vr + (v[i] - vr) * dm + d * (1.0 - dm)
            vn += g0[i] * c0
            vn += g1[i] * c1
        else:
            gt = 1.0 + g0[i]
            gt += g1[i]
            num = vr + d + g0[i] * e0
            num += g1[i] * e1
            v_inf = num / gt
            vn = v_inf + (v[i] - v_inf) * np.exp(-dt * gt / tau)
        g0[i] *= k0
        g1[i] *= k1
        free = r[i] <= 0
        v[i] = vn if free else v[i]
        r[i] = r[i] if free else r[i] - 1
    th, reset, steps = P[P_V_TH, 0, start], P[P_V_RESET, 0, start], ref_steps[0, start]
    for i in range(n):
        if v[i] >= th:
            v[i] = reset
            r[i] = steps
            spiked[b, nspk[b]] = start + i
            nspk[b] += 1


@njit(cache=True)
def _izhikevich(dt, P, X, ch_decay, drv, ds, nch, start, stop, b, spiked, nspk):
    """Izhikevich neurons ``start:stop`` of copy ``b`` (forward Euler); appends spikes."""
    for i in range(stop - start):
        k = start + i
        v, u = X[S_V, b, k], X[S_U, b, k]
        cur = drv[i * ds]
        for c in range(nch):
            cur += X[S_G0 + c, b, k]
            X[S_G0 + c, b, k] *= ch_decay[c, b, k]
        v_new = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + cur)
        u += dt * P[P_IZ_A, b, k] * (P[P_IZ_B, b, k] * v - u)
        if v_new >= 30.0:
            v_new = P[P_IZ_C, b, k]
            u += P[P_IZ_D, b, k]
            spiked[b, nspk[b]] = k
            nspk[b] += 1
        X[S_V, b, k], X[S_U, b, k] = v_new, u


@njit(cache=True)
def _adlif(P, X, ch_decay, drv, ds, nch, start, stop, b, spiked, nspk):
    """adLIF neurons ``start:stop`` of copy ``b`` (the operations of
    :func:`spikeflow.functional.adlif_step`, subtract reset); appends spikes."""
    for i in range(stop - start):
        k = start + i
        v, w = X[S_V, b, k], X[S_U, b, k]
        cur = drv[i * ds]
        for c in range(nch):
            cur += X[S_G0 + c, b, k]
            X[S_G0 + c, b, k] *= ch_decay[c, b, k]
        beta, th = P[P_AD_BETA, b, k], P[P_V_TH, b, k]
        u = beta * v + (1.0 - beta) * (cur - w)
        w = P[P_AD_RHO, b, k] * w + P[P_AD_A, b, k] * u
        if u - th >= 0:
            u = u - th
            w = w + P[P_AD_B, b, k]
            spiked[b, nspk[b]] = k
            nspk[b] += 1
        X[S_V, b, k], X[S_U, b, k] = u, w


@njit(cache=True)
def _update_groups(
    ta, dt, groups, dtab, P, X, ref, ref_steps, ch_decay, ch_coup, ch_erev, drive, spiked, nspk
):
    B = X.shape[1]
    for g in range(groups.shape[0]):
        start, stop, kind, nch = (
            groups[g, G_START],
            groups[g, G_STOP],
            groups[g, G_KIND],
            groups[g, G_NCH],
        )
        if kind == KIND_GENERATOR:
            continue
        n = stop - start
        ds = dtab[g, D_STRIDE]
        row = min(ta // dtab[g, D_EVERY], dtab[g, D_ROWS] - 1)
        base = dtab[g, D_OFF] + row * (B * n if ds else 1)
        for b in range(B):
            drv = drive[base + b * n * ds : base + (b + 1) * n * ds + (1 - ds)]
            if kind == KIND_POISSON:
                scale = dt * 1e-3
                for i in range(n):
                    if np.random.random() < drv[i * ds] * scale:
                        spiked[b, nspk[b]] = start + i
                        nspk[b] += 1
            elif kind == KIND_IZHIKEVICH:
                _izhikevich(dt, P, X, ch_decay, drv, ds, nch, start, stop, b, spiked, nspk)
            elif kind == KIND_ADLIF:
                _adlif(P, X, ch_decay, drv, ds, nch, start, stop, b, spiked, nspk)
            else:
                ps, adapt = groups[g, G_PSTRIDE], groups[g, G_ADAPT] != 0
                # call sites with constant channel counts and strides let LLVM specialise the loop
                # (2-4x faster); the last one covers every other case
                plain = ps == 0 and ds == 0 and not adapt
                if plain and kind == KIND_LIF and nch == 2:
                    _lif_uniform2(
                        KIND_LIF, dt, P, X, ref, ref_steps, ch_decay, ch_coup, ch_erev, drv,
                        start, stop, b, spiked, nspk,
                    )  # fmt: skip
                elif plain and kind == KIND_LIF_COND and nch == 2:
                    _lif_uniform2(
                        KIND_LIF_COND, dt, P, X, ref, ref_steps, ch_decay, ch_coup, ch_erev, drv,
                        start, stop, b, spiked, nspk,
                    )  # fmt: skip
                elif ps == 0 and ds == 0 and nch == 2:
                    _lif(
                        kind,
                        dt,
                        P,
                        X,
                        ref,
                        ref_steps,
                        ch_decay,
                        ch_coup,
                        ch_erev,
                        drv,
                        2,
                        start,
                        stop,
                        b,
                        0,
                        0,
                        adapt,
                        spiked,
                        nspk,
                    )
                else:
                    _lif(
                        kind,
                        dt,
                        P,
                        X,
                        ref,
                        ref_steps,
                        ch_decay,
                        ch_coup,
                        ch_erev,
                        drv,
                        nch,
                        start,
                        stop,
                        b,
                        ps,
                        ds,
                        adapt,
                        spiked,
                        nspk,
                    )
