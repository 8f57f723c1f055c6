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
``W`` of the neurons that fired (``N`` adds per spike instead of ``N x N`` multiply-adds per step;
the positions of the spikes gathered first, then four columns per pass), and so does the weight
gradient (``dW[:, j] += dL/du_t[r]`` for every spike ``s[t-1, r, j]``, the rows ``r`` of a part
where neuron ``j`` fired taken four per pass over ``dW[:, j]``). The backward's
``dL/ds[t-1] = dL/du_t W`` is dense (the surrogate gradient is nowhere zero): ``N x N``
multiply-adds per step and row, the floor of the whole computation. The backward walks a part's
rows together, step by step, so this is one ``[R, N] x [N, N]`` product per step and part
(:func:`_dense_product`, register-blocked eight rows at a time), not ``R`` vector products.
Measured on the benchmark's layer (``benchmarks/recurrent_layer.py``, ``[250, 32, 256]``, 10 %
of the neurons spiking per step, one thread): the dense product is about half of the backward's
time and runs at about the speed of ``torch.mm`` on the same shapes.

Saved for backward: the total input ``u`` (one float per step and neuron, so the backward's replay
needs no recurrent sum), the spikes (the output) and the state every ``CHUNK`` steps; the backward
replays each chunk from its checkpoint, so membrane and spikes are bitwise equal to the forward's.
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


def _recurrent_input(u, x, sp, wt, w1, r, idx=None):
    """``u = x + W sp`` (``wt`` is ``W^T`` ``[N, N]``, summed over the spikes only) or
    ``u = x + w1 * sp`` (one-to-one, ``wt`` is ``None``). ``r`` is an ``[N]`` scratch; ``idx``
    an ``[N]`` integer scratch for the positions of the spikes, so that the sum takes four rows of
    ``wt`` per pass over ``r`` (:func:`_add_rows`; about 1.3x the row-by-row sum, which runs where
    ``idx`` is ``None``)."""


@overload(_recurrent_input, inline="always")
def _recurrent_input_impl(u, x, sp, wt, w1, r, idx=None):
    if isinstance(wt, types.NoneType):

        def one_to_one(u, x, sp, wt, w1, r, idx=None):
            for k in range(u.shape[0]):
                u[k] = x[k] + sp[k] * w1[k]

        return one_to_one

    if isinstance(idx, (types.NoneType, types.Omitted)) or idx is None:

        def row_by_row(u, x, sp, wt, w1, r, idx=None):
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

        return row_by_row

    def dense(u, x, sp, wt, w1, r, idx=None):
        n = u.shape[0]
        m = 0
        for j in range(n):
            if sp[j] != 0:
                idx[m] = j
                m += 1
        r[:] = 0
        _add_rows(wt, sp, m, idx, r)
        for k in range(n):
            u[k] = x[k] + r[k]

    return dense


@njit(cache=True, error_model="numpy")
def _add_rows(a, c, m, idx, r):
    """``r += sum_q c[idx[q]] * a[idx[q]]`` over ``q < m`` (rows of ``a`` ``[K, N]``, weights
    ``c`` ``[K]``), four rows per pass, so each pass loads and stores ``r`` once for four rows."""
    n = r.shape[0]
    q = 0
    while q + 4 <= m:
        j0, j1, j2, j3 = idx[q], idx[q + 1], idx[q + 2], idx[q + 3]
        c0, c1, c2, c3 = c[j0], c[j1], c[j2], c[j3]
        a0, a1, a2, a3 = a[j0], a[j1], a[j2], a[j3]
        for k in range(n):
            r[k] += (c0 * a0[k] + c1 * a1[k]) + (c2 * a2[k] + c3 * a3[k])
        q += 4
    while q < m:
        j0 = idx[q]
        c0, a0 = c[j0], a[j0]
        for k in range(n):
            r[k] += c0 * a0[k]
        q += 1


def _rows_product(g, w, w1, out):
    """``out = g @ w`` for ``g`` ``[R, N]`` (``R`` batch rows) and ``w`` ``[N, N]``, or, one-to-one
    (``w`` is ``None``), ``out = w1 * g`` (``w1`` ``[N]``)."""


@overload(_rows_product, inline="always")
def _rows_product_impl(g, w, w1, out):
    if isinstance(w, types.NoneType):

        def one_to_one(g, w, w1, out):
            for r in range(g.shape[0]):
                for k in range(g.shape[1]):
                    out[r, k] = w1[k] * g[r, k]

        return one_to_one
    return lambda g, w, w1, out: _dense_product(g, w, out)


@njit(cache=True, error_model="numpy")
def _dense_product(g, w, out):
    """``out = g @ w`` (``out[r, j] = sum_i g[r, i] w[i, j]``): eight rows of ``g`` against two
    rows of ``w`` per pass (then four, then one), so each loaded pair of rows of ``w`` serves eight
    rows of the result and the whole of ``w`` is read once per eight rows (eight rows kept the
    broadcast values in registers and ran fastest of the blockings measured: 1.6x four rows by two
    on the benchmark's ``[32, 256] x [256, 256]``; sixteen rows spill)."""
    nr, n = g.shape
    out[:] = 0
    b = 0
    while b + 8 <= nr:
        o0, o1, o2, o3 = out[b], out[b + 1], out[b + 2], out[b + 3]
        o4, o5, o6, o7 = out[b + 4], out[b + 5], out[b + 6], out[b + 7]
        i = 0
        while i + 2 <= n:
            a0, a1, a2, a3 = g[b, i], g[b + 1, i], g[b + 2, i], g[b + 3, i]
            a4, a5, a6, a7 = g[b + 4, i], g[b + 5, i], g[b + 6, i], g[b + 7, i]
            c0, c1, c2, c3 = g[b, i + 1], g[b + 1, i + 1], g[b + 2, i + 1], g[b + 3, i + 1]
            c4, c5, c6, c7 = g[b + 4, i + 1], g[b + 5, i + 1], g[b + 6, i + 1], g[b + 7, i + 1]
            wi, wj = w[i], w[i + 1]
            for k in range(n):
                p, q = wi[k], wj[k]
                o0[k] += a0 * p + c0 * q
                o1[k] += a1 * p + c1 * q
                o2[k] += a2 * p + c2 * q
                o3[k] += a3 * p + c3 * q
                o4[k] += a4 * p + c4 * q
                o5[k] += a5 * p + c5 * q
                o6[k] += a6 * p + c6 * q
                o7[k] += a7 * p + c7 * q
            i += 2
        if i < n:
            for r in range(b, b + 8):
                a0, o0, wi = g[r, i], out[r], w[i]
                for k in range(n):
                    o0[k] += a0 * wi[k]
        b += 8
    while b + 4 <= nr:
        o0, o1, o2, o3 = out[b], out[b + 1], out[b + 2], out[b + 3]
        i = 0
        while i + 2 <= n:
            a0, a1, a2, a3 = g[b, i], g[b + 1, i], g[b + 2, i], g[b + 3, i]
            c0, c1, c2, c3 = g[b, i + 1], g[b + 1, i + 1], g[b + 2, i + 1], g[b + 3, i + 1]
            wi, wj = w[i], w[i + 1]
            for k in range(n):
                p, q = wi[k], wj[k]
                o0[k] += a0 * p + c0 * q
                o1[k] += a1 * p + c1 * q
                o2[k] += a2 * p + c2 * q
                o3[k] += a3 * p + c3 * q
            i += 2
        if i < n:
            for r in range(b, b + 4):
                a0, o0, wi = g[r, i], out[r], w[i]
                for k in range(n):
                    o0[k] += a0 * wi[k]
        b += 4
    while b < nr:
        o, gb = out[b], g[b]
        for i in range(n):
            a, wi = gb[i], w[i]
            for k in range(n):
                o[k] += a * wi[k]
        b += 1


def _weight_grad(gu, sp, w1, gw):
    """``dW += gu s_{t-1}^T`` into ``gw`` (``dW^T`` ``[N, N]``: ``gw[j] += gu`` for every spike
    ``s_{t-1, j}``, so the cost follows the spikes), or, one-to-one (``w1`` not ``None``),
    ``gw += s_{t-1} * gu``."""


@overload(_weight_grad, inline="always")
def _weight_grad_impl(gu, sp, w1, gw):
    if isinstance(w1, types.NoneType):

        def dense(gu, sp, w1, gw):
            n = gu.shape[0]
            for j in range(n):
                sj = sp[j]
                if sj != 0:
                    row = gw[j]
                    for k in range(n):
                        row[k] += sj * gu[k]

        return dense

    def one_to_one(gu, sp, w1, gw):
        for k in range(gu.shape[0]):
            gw[k] += sp[k] * gu[k]

    return one_to_one


def _weight_grad_rows(gu, sp, w1, gw, idx, c):
    """``dW += gu^T s_{t-1}`` over a part's rows (``gu``, ``sp`` ``[R, N]``) into ``gw``
    (``dW^T`` ``[N, N]``: ``gw[j] += sum_r s_{t-1}[r, j] gu[r]`` over the rows where neuron ``j``
    spiked, so the cost follows the spikes, four rows of ``gu`` per pass over ``gw[j]``), or,
    one-to-one (``w1`` not ``None``), ``gw += sum_r s_{t-1}[r] * gu[r]``. ``idx`` (integers) and
    ``c`` are ``[R]`` scratches."""


@overload(_weight_grad_rows, inline="always")
def _weight_grad_rows_impl(gu, sp, w1, gw, idx, c):
    if isinstance(w1, types.NoneType):

        def dense(gu, sp, w1, gw, idx, c):
            nr, n = gu.shape
            for j in range(n):
                m = 0
                for r in range(nr):
                    sj = sp[r, j]
                    if sj != 0:
                        idx[m] = r
                        c[r] = sj
                        m += 1
                if m:
                    _add_rows(gu, c, m, idx, gw[j])

        return dense

    def one_to_one(gu, sp, w1, gw, idx, c):
        for r in range(gu.shape[0]):
            for k in range(gu.shape[1]):
                gw[k] += sp[r, k] * gu[r, k]

    return one_to_one


@njit(cache=True, parallel=True, error_model="numpy")
def _forward(
    x, s0, wt, w1, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    spikes, save, uo, cv, ci, cb, cr, chunk, parts,
):  # fmt: skip
    """The recurrent layer over ``x`` ``[T, B, N]``, in place on the state ``v, cur, adapt,
    refrac`` (``[B, N]``, ``None`` where the model lacks the term), from the spikes ``s0``
    ``[B, N]``. ``wt`` is ``W^T`` (dense; ``w1`` is then ``None``) or ``None`` (one-to-one
    ``w1`` ``[N]``). Parameters are flat ``[B * N]`` arrays or scalars. Where ``save`` (a runtime
    flag: one compiled variant serves training and inference), ``uo`` (``[T, B, N]``) receives the
    total input ``x_t + W s_{t-1}``, and ``cv, ci, cb, cr`` (``[ceil(T / chunk), B, N]``,
    ``None`` where the model lacks the term) the state before steps ``0, chunk, ...``, for the
    backward; otherwise they are empty arrays. The batch runs in ``parts`` parallel parts."""
    n_steps, nb, n = x.shape
    dt = x.dtype.type
    for p in prange(parts):
        u0, r, idx = np.empty(n, dt), np.empty(n, dt), np.empty(n, np.intp)
        for b in range(p * nb // parts, (p + 1) * nb // parts):
            vl, il = v[b].copy(), _copy(_srow(cur, b))
            bl, rl = _copy(_srow(adapt, b)), _copy(_srow(refrac, b))
            be, al, th = _prow(beta, b, n), _prow(alpha, b, n), _prow(thr, b, n)
            vr, rh, ba = _prow(v_reset, b, n), _prow(rho, b, n), _prow(beta_a, b, n)
            sp = s0[b]
            for t in range(n_steps):
                if save and t % chunk == 0:
                    c = t // chunk
                    cv[c, b] = vl
                    if cur is not None:
                        ci[c, b] = il
                    if adapt is not None:
                        cb[c, b] = bl
                    if refrac is not None:
                        cr[c, b] = rl
                u = uo[t, b] if save else u0
                _recurrent_input(u, x[t, b], sp, wt, w1, r, idx)
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


def _plane(present, a, j, r):
    """Row ``a[j, r]`` of a ``[CHUNK, R, N]`` scratch, or ``None`` where ``present`` is ``None``."""


@overload(_plane, inline="always")
def _plane_impl(present, a, j, r):
    if isinstance(present, types.NoneType):
        return lambda present, a, j, r: None
    return lambda present, a, j, r: a[j, r]


def _opt3(present, rows, nr, n, dt):
    """A ``[rows, nr, n]`` scratch, or ``None`` where ``present`` is ``None``."""


@overload(_opt3, inline="always")
def _opt3_impl(present, rows, nr, n, dt):
    if isinstance(present, types.NoneType):
        return lambda present, rows, nr, n, dt: None
    return lambda present, rows, nr, n, dt: np.empty((rows, nr, n), dt)


@njit(cache=True, parallel=True, error_model="numpy")
def _backward(
    gs, u, s0, spikes, w, w1, cv, ci, cb, cr, chunk,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref, reset_grad, sgc,
    gx, gv, gi, gb, gbeta, galpha, gthr, gs0, gw, parts,
):  # fmt: skip
    """Reverse-time pass of :func:`_forward`, one chunk of ``chunk`` steps at a time, each
    replayed from its checkpoint and the saved total input ``u`` ``[T, B, N]`` (bitwise equal to
    the forward's).

    Each part walks its batch rows together, step by step, so that ``dL/ds_{t-1} = dL/du_t W``
    is one product of the part's ``[R, N]`` rows with ``W`` (:func:`_dense_product`) rather
    than ``R`` vector products that each read all of ``W``.

    ``gs`` ``[T, B, N]`` is ``dL/ds``; ``gv, gi, gb`` ``[B, N]`` hold the gradients of the final
    state and receive those of the initial state; ``gs0`` ``[B, N]`` receives ``dL/ds0``.
    ``gbeta, galpha, gthr`` (``[B, N]`` or ``None``) accumulate the parameters' gradients, ``gw``
    (``[parts, N, N]`` as ``dW^T``, or ``[parts, N]`` one-to-one) the weight's, one slice per
    part. ``w`` is ``W`` (dense) or ``None``.
    """
    n_steps, nb, n = u.shape
    dt = u.dtype.type
    n_chunks = (n_steps + chunk - 1) // chunk
    for p in prange(parts):
        lo, hi = p * nb // parts, (p + 1) * nb // parts
        nr = hi - lo
        grec, gsrow = np.zeros((nr, n), dt), np.empty(n, dt)
        ridx, rc = np.empty(nr, np.intp), np.empty(nr, dt)
        vps = np.empty((chunk, nr, n), dt)
        irs = _opt3(ci, chunk, nr, n, dt)
        brs = _opt3(cb, chunk, nr, n, dt)
        rrs = _opt3(cr, chunk, nr, n, dt)
        gwp = gw[p]
        for c in range(n_chunks - 1, -1, -1):
            t0 = c * chunk
            t1 = min(t0 + chunk, n_steps)
            for r in range(nr):
                b = lo + r
                be, al, th = _prow(beta, b, n), _prow(alpha, b, n), _prow(thr, b, n)
                vr, rh, ba = _prow(v_reset, b, n), _prow(rho, b, n), _prow(beta_a, b, n)
                vv, ii = cv[c, b].copy(), _copy(_srow(_srow(ci, c), b))
                bb, rr = _copy(_srow(_srow(cb, c), b)), _copy(_srow(_srow(cr, c), b))
                for t in range(t0, t1):
                    j = t - t0
                    ut = u[t, b]
                    vrow, irow = vps[j, r], _plane(ci, irs, j, r)
                    brow, rrow = _plane(cb, brs, j, r), _plane(cr, rrs, j, r)
                    for k in range(n):
                        _step(
                            k, ut[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero,
                            k_ref, None, vrow, irow, brow, rrow, None,
                        )  # fmt: skip
            for t in range(t1 - 1, t0 - 1, -1):
                j = t - t0
                jp = max(j - 1, 0)
                for r in range(nr):
                    b = lo + r
                    be, al, th = _prow(beta, b, n), _prow(alpha, b, n), _prow(thr, b, n)
                    vr, rh, ba = _prow(v_reset, b, n), _prow(rho, b, n), _prow(beta_a, b, n)
                    gsr, gr = gs[t, b], grec[r]
                    for k in range(n):
                        gsrow[k] = gsr[k] + gr[k]
                    gu = gx[t, b]
                    gvl, gil, gbl = gv[b], _srow(gi, b), _srow(gb, b)
                    gbe, gal, gth = _srow(gbeta, b), _srow(galpha, b), _srow(gthr, b)
                    for k in range(n):
                        _back_step(
                            k, j == 0, vps[j, r], _plane(ci, irs, j, r), _plane(cb, brs, j, r),
                            _plane(cr, rrs, j, r), vps[jp, r], _plane(cb, brs, jp, r),
                            _plane(cr, rrs, jp, r), cv[c, b], sgc, gsrow, gvl, gil, gal, gbl,
                            gbe, gth, gu, al, be, th, vr, rh, ba, c_sub, c_zero, reset_grad, None,
                        )  # fmt: skip
                sp = s0[lo:hi] if t == 0 else spikes[t - 1, lo:hi]
                _weight_grad_rows(gx[t, lo:hi], sp, w1, gwp, ridx, rc)
                _rows_product(gx[t, lo:hi], w, w1, grec)
        gs0[lo:hi] = grec


def parts(batch: int) -> int:
    """Parallel parts of a batch of ``batch`` rows: one per thread, at most one per row."""
    return max(1, min(numba.get_num_threads(), batch))
