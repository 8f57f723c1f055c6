"""CPU engine of the fused recurrent layer: a LIF-family neuron fed back its own spikes, compiled
with numba.

The recurrence per batch row ``b`` (``N`` neurons, ``W`` ``[N, N]`` or ``w`` ``[N]``)::

    u[t] = x[t] + W s[t-1]        (dense)   |   x[t] + w * s[t-1]     (one-to-one)
    s[t], state = step(u[t], state)          # the neuron step of spikeflow.kernels.plan

The steps of one row depend on each other through ``W``, so the batch rows, not the neurons, run in
parallel (``prange`` over ``P`` parts of the batch, one per thread). Within a row the neuron step is
:func:`spikeflow.kernels.cpu._step`, the very step of the feedforward kernels (so the two paths
share their semantics bit for bit), and its reverse :func:`spikeflow.kernels.cpu._back_step`.

Event-driven where the work follows the spikes: the forward's recurrent input sums the columns of
``W`` of the neurons that fired (``N`` adds per spike instead of ``N x N`` multiply-adds per step),
and so does the weight gradient (``dW[:, j] += dL/du_t`` for every spike ``s[t-1, j]``). The
backward's ``dL/ds[t-1] = W^T dL/du_t`` is dense (the surrogate gradient is nowhere zero): ``N x N``
multiply-adds per step and row, the floor of the whole computation; it takes four rows of ``W`` per
pass, so the accumulator row is loaded and stored once per four.

Saved for backward: the input (a view), the spikes (the output) and the state every ``CHUNK``
steps; the backward replays each chunk from its checkpoint, so membrane and spikes are bitwise
equal to the forward's.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange, types
from numba.extending import overload

from spikeflow._numba_cache import njit
from spikeflow.kernels.cpu import _back_step, _step

CHUNK = 16  # steps between checkpoints (the backward replays one chunk into a [CHUNK, N] scratch)


def _prow(p, b, n):
    """Row ``b`` (``n`` values) of a flat ``[B * N]`` parameter, or the scalar (or ``None``)
    itself (resolved at compile time)."""


@overload(_prow, inline="always")
def _prow_impl(p, b, n):
    if isinstance(p, types.Array):
        return lambda p, b, n: p[b * n : (b + 1) * n]
    return lambda p, b, n: p


def _srow(a, b):
    """``a[b]`` of a ``[B, N]`` state, or ``None`` where the model lacks the term."""


@overload(_srow, inline="always")
def _srow_impl(a, b):
    if isinstance(a, types.NoneType):
        return lambda a, b: None
    return lambda a, b: a[b]


def _copy(a):
    """A copy of a row, or ``None`` (resolved at compile time)."""


@overload(_copy, inline="always")
def _copy_impl(a):
    if isinstance(a, types.NoneType):
        return lambda a: None
    return lambda a: a.copy()


def _plane(present, a, j):
    """``a[j]`` of a ``[CHUNK, N]`` scratch, or ``None`` where ``present`` is ``None``."""


@overload(_plane, inline="always")
def _plane_impl(present, a, j):
    if isinstance(present, types.NoneType):
        return lambda present, a, j: None
    return lambda present, a, j: a[j]


def _opt2(present, rows, n, dt):
    """A ``[rows, n]`` scratch, or ``None`` where ``present`` is ``None``."""


@overload(_opt2, inline="always")
def _opt2_impl(present, rows, n, dt):
    if isinstance(present, types.NoneType):
        return lambda present, rows, n, dt: None
    return lambda present, rows, n, dt: np.empty((rows, n), dt)


def _recurrent_input(u, x, sp, wt, w1, r):
    """``u = x + W sp`` (``wt`` is ``W^T`` ``[N, N]``, summed over the spikes only) or
    ``u = x + w1 * sp`` (one-to-one, ``wt`` is ``None``). ``r`` is an ``[N]`` scratch."""


@overload(_recurrent_input, inline="always")
def _recurrent_input_impl(u, x, sp, wt, w1, r):
    if isinstance(wt, types.NoneType):

        def one_to_one(u, x, sp, wt, w1, r):
            for k in range(u.shape[0]):
                u[k] = x[k] + sp[k] * w1[k]

        return one_to_one

    def dense(u, x, sp, wt, w1, r):
        n = u.shape[0]
        r[:] = 0
        for j in range(n):
            sj = sp[j]
            if sj != 0:
                row = wt[j]
                for k in range(n):
                    r[k] += sj * row[k]
        for k in range(n):
            u[k] = x[k] + r[k]

    return dense


@njit(cache=True, error_model="numpy")
def _transpose_product(g, w, out):
    """``out = g @ w`` (``out[j] = sum_i g[i] w[i, j]``), four rows of ``w`` per pass."""
    n = g.shape[0]
    out[:] = 0
    i = 0
    while i + 4 <= n:
        g0, g1, g2, g3 = g[i], g[i + 1], g[i + 2], g[i + 3]
        r0, r1, r2, r3 = w[i], w[i + 1], w[i + 2], w[i + 3]
        for k in range(n):
            out[k] += g0 * r0[k] + g1 * r1[k] + g2 * r2[k] + g3 * r3[k]
        i += 4
    while i < n:
        gi = g[i]
        ri = w[i]
        for k in range(n):
            out[k] += gi * ri[k]
        i += 1


def _recurrent_grad(gu, sp, w, w1, grec, gw):
    """Through ``u_t = x_t + W s_{t-1}``: ``grec = dL/ds_{t-1} = W^T gu`` and ``dW += gu s_{t-1}^T``
    (``gw`` holds ``dW^T`` ``[N, N]``; summed over the spikes only), or, one-to-one (``w`` is
    ``None``), ``grec = w1 * gu`` and ``gw += s_{t-1} * gu``."""


@overload(_recurrent_grad, inline="always")
def _recurrent_grad_impl(gu, sp, w, w1, grec, gw):
    if isinstance(w, types.NoneType):

        def one_to_one(gu, sp, w, w1, grec, gw):
            for k in range(gu.shape[0]):
                grec[k] = w1[k] * gu[k]
                gw[k] += sp[k] * gu[k]

        return one_to_one

    def dense(gu, sp, w, w1, grec, gw):
        n = gu.shape[0]
        _transpose_product(gu, w, grec)
        for j in range(n):
            sj = sp[j]
            if sj != 0:
                row = gw[j]
                for k in range(n):
                    row[k] += sj * gu[k]

    return dense


@njit(cache=True, parallel=True, error_model="numpy")
def _forward(
    x, s0, wt, w1, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    spikes, cv, ci, cb, cr, chunk, parts,
):  # fmt: skip
    """The recurrent layer over ``x`` ``[T, B, N]``, in place on the state ``v, cur, adapt,
    refrac`` (``[B, N]``, ``None`` where the model lacks the term), from the spikes ``s0``
    ``[B, N]``. ``wt`` is ``W^T`` (dense; ``w1`` is then ``None``) or ``None`` (one-to-one
    ``w1`` ``[N]``). Parameters are flat ``[B * N]`` arrays or scalars. ``cv, ci, cb, cr``
    (``[ceil(T / chunk), B, N]`` or ``None``) receive the state before steps ``0, chunk, ...``.
    The batch runs in ``parts`` parallel parts."""
    n_steps, nb, n = x.shape
    dt = x.dtype.type
    for p in prange(parts):
        u, r = np.empty(n, dt), np.empty(n, dt)
        for b in range(p * nb // parts, (p + 1) * nb // parts):
            vl, il = v[b].copy(), _copy(_srow(cur, b))
            bl, rl = _copy(_srow(adapt, b)), _copy(_srow(refrac, b))
            be, al, th = _prow(beta, b, n), _prow(alpha, b, n), _prow(thr, b, n)
            vr, rh, ba = _prow(v_reset, b, n), _prow(rho, b, n), _prow(beta_a, b, n)
            sp = s0[b]
            for t in range(n_steps):
                if cv is not None and t % chunk == 0:
                    c = t // chunk
                    cv[c, b] = vl
                    if cur is not None:
                        ci[c, b] = il
                    if adapt is not None:
                        cb[c, b] = bl
                    if refrac is not None:
                        cr[c, b] = rl
                _recurrent_input(u, x[t, b], sp, wt, w1, r)
                ss = spikes[t, b]
                for k in range(n):
                    _step(
                        k, u[k], vl, il, bl, rl, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref,
                        ss, None, None, None, None, None,
                    )  # fmt: skip
                sp = ss
            v[b] = vl
            if cur is not None:
                cur[b] = il
            if adapt is not None:
                adapt[b] = bl
            if refrac is not None:
                refrac[b] = rl


@njit(cache=True, parallel=True, error_model="numpy")
def _backward(
    gs, x, s0, spikes, w, wt, w1, cv, ci, cb, cr, chunk,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref, reset_grad, sgc,
    gx, gv, gi, gb, gbeta, galpha, gthr, gs0, gw, parts,
):  # fmt: skip
    """Reverse-time pass of :func:`_forward`, one chunk of ``chunk`` steps at a time, each
    replayed from its checkpoint (bitwise equal to the forward's).

    ``gs`` ``[T, B, N]`` is ``dL/ds``; ``gv, gi, gb`` ``[B, N]`` hold the gradients of the final
    state and receive those of the initial state; ``gs0`` ``[B, N]`` receives ``dL/ds0``.
    ``gbeta, galpha, gthr`` (``[B, N]`` or ``None``) accumulate the parameters' gradients, ``gw``
    (``[parts, N, N]`` as ``dW^T``, or ``[parts, N]`` one-to-one) the weight's, one slice per
    part. ``w`` is ``W`` (dense) or ``None``.
    """
    n_steps, nb, n = x.shape
    dt = x.dtype.type
    n_chunks = (n_steps + chunk - 1) // chunk
    for p in prange(parts):
        u, r = np.empty(n, dt), np.empty(n, dt)
        grec, gsrow = np.empty(n, dt), np.empty(n, dt)
        vps = np.empty((chunk, n), dt)
        irs = _opt2(ci, chunk, n, dt)
        brs = _opt2(cb, chunk, n, dt)
        rrs = _opt2(cr, chunk, n, dt)
        gwp = gw[p]
        for b in range(p * nb // parts, (p + 1) * nb // parts):
            be, al, th = _prow(beta, b, n), _prow(alpha, b, n), _prow(thr, b, n)
            vr, rh, ba = _prow(v_reset, b, n), _prow(rho, b, n), _prow(beta_a, b, n)
            gvl, gil, gbl = gv[b], _srow(gi, b), _srow(gb, b)
            gbe, gal, gth = _srow(gbeta, b), _srow(galpha, b), _srow(gthr, b)
            grec[:] = 0
            for c in range(n_chunks - 1, -1, -1):
                t0 = c * chunk
                t1 = min(t0 + chunk, n_steps)
                vv, ii = cv[c, b].copy(), _copy(_srow(_srow(ci, c), b))
                bb, rr = _copy(_srow(_srow(cb, c), b)), _copy(_srow(_srow(cr, c), b))
                for t in range(t0, t1):
                    j = t - t0
                    sp = s0[b] if t == 0 else spikes[t - 1, b]
                    _recurrent_input(u, x[t, b], sp, wt, w1, r)
                    vrow, irow = vps[j], _plane(ci, irs, j)
                    brow, rrow = _plane(cb, brs, j), _plane(cr, rrs, j)
                    for k in range(n):
                        _step(
                            k, u[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero,
                            k_ref, None, vrow, irow, brow, rrow, None,
                        )  # fmt: skip
                for t in range(t1 - 1, t0 - 1, -1):
                    j = t - t0
                    jp = max(j - 1, 0)
                    gsr = gs[t, b]
                    for k in range(n):
                        gsrow[k] = gsr[k] + grec[k]
                    gu = gx[t, b]
                    for k in range(n):
                        _back_step(
                            k, j == 0, vps[j], _plane(ci, irs, j), _plane(cb, brs, j),
                            _plane(cr, rrs, j), vps[jp], _plane(cb, brs, jp), _plane(cr, rrs, jp),
                            cv[c, b], sgc, gsrow, gvl, gil, gal, gbl, gbe, gth, gu, al, be, th,
                            vr, rh, ba, c_sub, c_zero, reset_grad, None,
                        )  # fmt: skip
                    sp = s0[b] if t == 0 else spikes[t - 1, b]
                    _recurrent_grad(gu, sp, w, w1, grec, gwp)
            gs0[b] = grec


def parts(batch: int) -> int:
    """Parallel parts of a batch of ``batch`` rows: one per thread, at most one per row."""
    return max(1, min(numba.get_num_threads(), batch))
