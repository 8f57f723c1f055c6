"""CPU engine: the fused LIF-family recurrence compiled with numba.

Neurons are split into blocks (64 to 16,384 neurons, the same number of blocks per thread, see
:func:`_block`) run in parallel (``prange``); within a block the time loop is outside and the
neuron loop inside, so every step reads and writes contiguous memory and the neuron loop
vectorises.

Each call compiles to code for exactly its model: terms the model lacks (synaptic current,
adaptation, refractory period, un-detached reset, parameter gradients) are passed as ``None`` and
numba prunes their code; uniform parameters are passed as scalars. Compilation is cached on disk
(``cache=True``): the first call per variant and dtype compiles (seconds), later processes load the
machine code. The tensors' memory is used in place through ``Tensor.numpy()``; new buffers
(spikes, gradients, checkpoints) come from :mod:`spikeflow.kernels.buffers`, which reuses them
from one call to the next.

One step of one neuron is written once, in :func:`_step`; the forward runs it and the backward
replays it. Saved for backward: the input itself (no copy) and the state every ``CHUNK`` steps
(one float per neuron and ``CHUNK`` steps per state variable), see :func:`_forward`. The backward
walks the chunks from last to first: it replays a chunk from its checkpoint (so membrane and spikes
are bitwise equal to the forward's, and no spike flags need saving) into a scratch that stays in
cache, and runs the reverse-time pass over the chunk replayed before, both in one neuron loop (see
:func:`_backward`). The scratch does not grow with ``T``, so blocks stay wide (long contiguous
rows) for any sequence length.

float32 and float64 run natively; other dtypes never reach this engine (the dispatcher falls back to
the reference scan for bfloat16 and float16).
"""

from __future__ import annotations

import math
from pathlib import Path

import numba
import numpy as np
import torch
from numba import njit, prange, types
from numba.extending import overload
from torch import Tensor

from spikeflow.kernels import buffers
from spikeflow.kernels.plan import Config

MIN_BLOCK = 64  # neurons per parallel block: bounds, and the granularity (one cache line of floats
MAX_BLOCK = 16384  # is 16; 64 keeps every block's rows 256-byte aligned in float32)


def _l2_bytes() -> int:
    """A core's L2 cache in bytes as Linux reports it, or 512 KiB where it cannot be read."""
    cache = Path("/sys/devices/system/cpu/cpu0/cache/index2")
    try:
        if (cache / "level").read_text().strip() != "2":
            return 512 << 10
        size = (cache / "size").read_text().strip()
        units = {"K": 1 << 10, "M": 1 << 20}
        nbytes = int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    except (OSError, ValueError):
        return 512 << 10
    return min(max(nbytes, 256 << 10), 4 << 20)


_SCRATCH_FLOATS = 3 * _l2_bytes() // 16  # backward scratch per thread: 3/4 of L2 in float32
CHUNK = 8  # steps between the forward's state checkpoints (the backward replays one chunk)
# floats between the two halves of a block's backward scratch. Rows are multiples of 64 floats, so
# without it a row the replay writes and the row the reverse pass reads in the same loop are often
# a multiple of 4 KiB apart, and the core then takes every load for a possible reload of the store
# before it (4K aliasing): 15-20 % slower in cache.
_PAD = 16


def _flat(t: Tensor) -> np.ndarray:
    """The memory spanned by a 2-D ``[T, M]`` tensor as a 1-D numpy view (no copy)."""
    span = (t.shape[0] - 1) * t.stride(0) + (t.shape[1] - 1) * t.stride(1) + 1
    return torch.as_strided(t, (span,), (1,)).numpy()


def _local(p, lo, hi):
    """Block-local copy ``p[lo:hi]`` of a per-neuron array, or ``p`` itself where it is a scalar or
    ``None`` (resolved at compile time)."""


@overload(_local, inline="always")
def _local_impl(p, lo, hi):
    if isinstance(p, types.Array):
        return lambda p, lo, hi: p[lo:hi].copy()
    return lambda p, lo, hi: p


def _at(p, k):
    """``p[k]`` for a per-neuron parameter, ``p`` for a uniform one (resolved at compile time)."""


@overload(_at, inline="always")
def _at_impl(p, k):
    if isinstance(p, types.Array):
        return lambda p, k: p[k]
    return lambda p, k: p


def _row_or_value(a, base, lo, hi, rowwise):
    """``a[base + lo : base + hi]`` if ``rowwise`` is not ``None``, else the one value ``a[base]``
    that stands for the whole row (a broadcast; resolved at compile time)."""


@overload(_row_or_value, inline="always")
def _row_or_value_impl(a, base, lo, hi, rowwise):
    if isinstance(rowwise, types.NoneType):
        return lambda a, base, lo, hi, rowwise: a[base]
    return lambda a, base, lo, hi, rowwise: a[base + lo : base + hi]


@njit(cache=True, error_model="numpy")
def _surrogate_row(kind, a, v, shift, out):
    """``out = Surrogate.grad(v - shift)`` for the surrogate with id ``kind``
    (``plan.SURROGATE_IDS``); ``shift`` is a scalar or a row like ``v``.

    One loop per surrogate, so each loop vectorises. Constants are folded in double precision and
    rounded to the rows' dtype once, as torch does with Python scalars, so a float32 row is computed
    in float32 (a float64 constant would promote every element).
    """
    dt = v.dtype.type
    one, zero = dt(1), dt(0)
    if kind == 0:
        c, h = dt(0.5 * math.pi * a), dt(0.5 * a)
        for k in range(v.shape[0]):
            z = c * (v[k] - _at(shift, k))
            out[k] = h / (one + z * z)
    elif kind == 1:
        aa = dt(a)
        for k in range(v.shape[0]):
            s = one / (one + math.exp(-aa * (v[k] - _at(shift, k))))
            out[k] = aa * s * (one - s)
    elif kind == 2:
        aa, h = dt(a), dt(0.5 * a)
        for k in range(v.shape[0]):
            q = one + aa * abs(v[k] - _at(shift, k))
            out[k] = h / (q * q)
    elif kind == 3:
        aa = dt(a)
        for k in range(v.shape[0]):
            out[k] = aa * max(zero, one - aa * abs(v[k] - _at(shift, k)))
    elif kind == 4:
        aa, w = dt(a), dt(0.5 / a)
        for k in range(v.shape[0]):
            out[k] = aa if abs(v[k] - _at(shift, k)) < w else zero
    else:
        c = dt(a / math.sqrt(math.pi))
        aa = dt(a)
        for k in range(v.shape[0]):
            z = aa * (v[k] - _at(shift, k))
            out[k] = c * math.exp(-(z * z))


def _opt(present, value):
    """``value``, or ``None`` where ``present`` is ``None`` (resolved at compile time): buffers of
    optional terms are defined on every path, never under an ``if`` (numba 0.68 miscompiled array
    views defined under a pruned branch: wrong beta gradients of the synaptic model)."""


@overload(_opt, inline="always")
def _opt_impl(present, value):
    if isinstance(present, types.NoneType):
        return lambda present, value: None
    return lambda present, value: value


def _row(present, a, j, n):
    """``a[j : j + n]``, or ``None`` where ``present`` is ``None`` (resolved at compile time)."""


@overload(_row, inline="always")
def _row_impl(present, a, j, n):
    if isinstance(present, types.NoneType):
        return lambda present, a, j, n: None
    return lambda present, a, j, n: a[j : j + n]


@njit(cache=True, error_model="numpy")
def _reset_by(c_sub, c_zero, theta, vp, vr):
    """How far a spike moves the membrane: ``theta`` (subtract, ``c_sub = 1``), ``vp - vr`` (zero,
    ``c_zero = 1``) or nothing; one expression for the step, its replay and its gradient."""
    return c_sub * theta + c_zero * (vp - vr)


@njit(cache=True, error_model="numpy")
def _step(
    k, u, vl, il, bl, rl, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref, srow, vrow, irow, brow,
    rrow,
):  # fmt: skip
    """Neuron ``k``'s step of the recurrence with input ``u``, updating the state rows
    ``vl`` (and ``il``, ``bl``, ``rl`` where the model has them) in place.

    The one definition of a step: the forward runs it, and the backward replays it, so the two are
    bitwise equal. Outputs, each ``None`` to skip: ``srow`` the spike; ``vrow`` the membrane before
    reset ``vp``; ``irow``, ``brow``, ``rrow`` the state before the step. Parameters are rows or
    scalars (:func:`_at`); ``None`` prunes a term at compile time.
    """
    dt = vl.dtype.type
    zero, one = dt(0), dt(1)
    if il is not None:  # i_t = alpha i_{t-1} + x_t
        if irow is not None:
            irow[k] = il[k]
        u = _at(al, k) * il[k] + u
        il[k] = u
    vp = _at(be, k) * vl[k] + u
    free = True
    if rl is not None:  # refractory: the membrane holds, no spike
        if rrow is not None:
            rrow[k] = rl[k]
        free = rl[k] <= zero
        vp = vp if free else vl[k]
    if vrow is not None:
        vrow[k] = vp
    theta = _at(th, k)
    if bl is not None:  # adaptive threshold
        if brow is not None:
            brow[k] = bl[k]
        theta = theta + bl[k]
    spk = vp - theta >= zero
    if rl is not None:
        spk = spk & free
    s = one if spk else zero
    if srow is not None:
        srow[k] = s
    vl[k] = vp - s * _reset_by(c_sub, c_zero, theta, vp, _at(vr, k))
    if rl is not None:
        rl[k] = k_ref if spk else max(rl[k] - one, zero)
    if bl is not None:
        bl[k] = _at(rh, k) * bl[k] + _at(ba, k) * s


@njit(cache=True, error_model="numpy")
def _back_step(
    k, first, vp, irow, brow, rrow, vprev, bprev, rprev, vfirst, sgm, gsl, gvl, gil, gal, gbl, gbe,
    gth, gxs, al, be, th, vr, rh, ba, c_sub, c_zero, reset_grad,
):  # fmt: skip
    """Neuron ``k``'s reverse step: carries ``dL/dv`` (``gvl``, and ``gil``, ``gbl``) back through
    reset, spike and leak of step ``t`` and writes ``dL/dx_t`` to ``gxs[k]``.

    ``vp, irow, brow, rrow`` are the replayed step's rows (:func:`_step`), ``vprev, bprev, rprev``
    the previous step's, used for ``d vp_t / d beta`` unless ``first`` (the chunk's first step,
    whose previous membrane is the checkpoint row ``vfirst``). ``sgm`` is the surrogate row,
    ``gsl`` the row or single value ``dL/ds_t``. ``gal, gbe, gth`` accumulate the gradients of
    alpha, beta and threshold. ``None`` prunes a term at compile time.
    """
    dt = gvl.dtype.type
    zero, one = dt(0), dt(1)
    theta = _at(th, k)
    if brow is not None:
        theta = theta + brow[k]
    spk = vp[k] - theta >= zero  # the forward's decision (bitwise equal vp)
    free = True
    if rrow is not None:
        free = rrow[k] <= zero
        spk = spk & free
    s = one if spk else zero
    g_s = _at(gsl, k)
    if gbl is not None:
        g_s += _at(ba, k) * gbl[k]  # b_t = rho b_{t-1} + beta_a s_t
    if reset_grad is not None:  # the reset term depends on s_t
        g_s -= gvl[k] * _reset_by(c_sub, c_zero, theta, vp[k], _at(vr, k))
    sg = sgm[k]
    if rrow is not None:
        sg = sg if free else zero
    g_vp = gvl[k] * (one - s * c_zero) + g_s * sg
    g_theta = -gvl[k] * s * c_sub - g_s * sg
    g_u = g_vp
    gvl[k] = _at(be, k) * g_vp
    if rrow is not None:
        g_u = g_vp if free else zero
        gvl[k] = gvl[k] if free else g_vp
    if gth is not None:
        gth[k] += g_theta
    if gbl is not None:
        gbl[k] = _at(rh, k) * gbl[k] + g_theta
    if gbe is not None:  # d vp_t / d beta = membrane after the previous reset
        if first:
            v_prev = vfirst[k]
        else:
            th_p = _at(th, k)
            if bprev is not None:
                th_p = th_p + bprev[k]
            vq = vprev[k]
            spk_p = vq - th_p >= zero
            if rprev is not None:
                spk_p = spk_p & (rprev[k] <= zero)
            s_p = one if spk_p else zero
            v_prev = vq - s_p * _reset_by(c_sub, c_zero, th_p, vq, _at(vr, k))
        gbe[k] += g_u * v_prev
    if gil is not None:  # i_t = alpha i_{t-1} + x_t feeds vp_t and i_{t+1}
        g_u = gil[k] + g_u
        if gal is not None:
            gal[k] += g_u * irow[k]
        gil[k] = _at(al, k) * g_u
    gxs[k] = g_u


@njit(cache=True, parallel=True, error_model="numpy")
def _forward(
    x, xst, n_steps, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    spikes, cv, ci, cb, cr, chunk, block,
):  # fmt: skip
    """The recurrence of :mod:`spikeflow.kernels.plan` over ``n_steps`` steps, in place on the state.

    Optional terms are ``None`` where the model lacks them and their code is then pruned at compile
    time (numba specialises on ``None``): ``cur``/``alpha`` (synaptic), ``adapt``/``rho``/``beta_a``
    (adaptive), ``refrac`` (refractory period), ``cv`` (nothing saved for backward). Parameters
    are ``[M]`` arrays or scalars.

    ``cv, ci, cb, cr`` (flat ``[ceil(T / chunk), M]``; ``None`` where the model lacks the term)
    receive the checkpoints the backward starts from: ``v``, ``i``, ``b`` and the refractory counter
    before steps ``0, chunk, 2 chunk, ...``.

    ``c_sub, c_zero`` pick the reset: ``v - s * (c_sub * theta + c_zero * (v - v_reset))`` is
    ``v - s * theta``, ``v - s * (v - v_reset)`` or ``v``. Every block handles ``block`` neurons.
    """
    m = v.shape[0]
    for blk in prange((m + block - 1) // block):
        lo = blk * block
        hi = min(lo + block, m)
        # block-local copies: contiguous and unaliased, so the neuron loop vectorises
        vl, il = v[lo:hi].copy(), _local(cur, lo, hi)
        bl, rl = _local(adapt, lo, hi), _local(refrac, lo, hi)
        be, th, vr = _local(beta, lo, hi), _local(thr, lo, hi), _local(v_reset, lo, hi)
        al, rh, ba = _local(alpha, lo, hi), _local(rho, lo, hi), _local(beta_a, lo, hi)
        for t in range(n_steps):
            if cv is not None and t % chunk == 0:  # checkpoint: the state before step t
                c = (t // chunk) * m
                cv[c + lo : c + hi] = vl
                if cur is not None:
                    ci[c + lo : c + hi] = il
                if adapt is not None:
                    cb[c + lo : c + hi] = bl
                if refrac is not None:
                    cr[c + lo : c + hi] = rl
            xs = x[t * xst + lo : t * xst + hi]
            ss = spikes[t * m + lo : t * m + hi]
            for k in range(hi - lo):
                _step(
                    k, xs[k], vl, il, bl, rl, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref, ss,
                    None, None, None, None,
                )  # fmt: skip
        v[lo:hi] = vl
        if cur is not None:
            cur[lo:hi] = il
        if adapt is not None:
            adapt[lo:hi] = bl
        if refrac is not None:
            refrac[lo:hi] = rl


def _rows(blkbuf, o, n, span, p_i, p_b, p_r, ci, cb, cr):
    """The rows ``(v, i, b, r)`` at offset ``o`` of a block's scratch (planes ``span`` apart;
    ``None`` for the model's absent terms)."""


@overload(_rows, inline="always")
def _rows_impl(blkbuf, o, n, span, p_i, p_b, p_r, ci, cb, cr):
    def impl(blkbuf, o, n, span, p_i, p_b, p_r, ci, cb, cr):
        return (
            blkbuf[o : o + n],
            _row(ci, blkbuf, o + p_i * span, n),
            _row(cb, blkbuf, o + p_b * span, n),
            _row(cr, blkbuf, o + p_r * span, n),
        )

    return impl


@njit(cache=True, parallel=True, error_model="numpy")
def _backward(
    gs, gst, gs_dense, x, xst, n_steps, cv, ci, cb, cr, chunk,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    reset_grad, sg_kind, sg_alpha,
    gx, gv, gi, gb, gbeta, galpha, gthr, scratch, block,
):  # fmt: skip
    """Reverse-time pass of :func:`_forward`, one chunk of ``chunk`` steps at a time.

    ``None`` prunes code as in :func:`_forward`: ``ci``/``alpha``/``gi``/``galpha`` (synaptic),
    ``cb``/``rho``/``beta_a``/``gb`` (adaptive), ``cr``/``k_ref`` (refractory period),
    ``reset_grad`` (detached reset), ``gbeta``/``gthr`` (parameter gradients not needed),
    ``gs_dense`` (``dL/ds`` is one value per step for every neuron, as from ``spikes.sum()``; else
    ``True`` and a row per step).

    ``cv, ci, cb, cr`` are the forward's checkpoints (see :func:`_forward`). Chunks are visited last
    to first. Each is replayed from its checkpoint and the saved input by :func:`_step`, the
    forward's own step, so the membrane, and with it every spike decision, is bitwise equal to the
    forward's. The replay fills ``chunk x block`` floats per plane that stay in cache: the membrane
    before reset ``vp_t`` and, when the model has them, ``i_{t-1}``, ``b_{t-1}`` and the refractory
    counter ``r_{t-1}``.

    The replay is pipelined with the reverse pass: while the reverse pass walks chunk ``c`` down
    (reading the scratch, writing ``dL/dx``), the same neuron loop replays chunk ``c - 1`` into
    the other half of the scratch (reading ``x``). Reads of the input and writes of its gradient
    then stream side by side, as in the forward, instead of in turns with the core waiting on each.
    ``scratch`` holds both halves for every block (allocated by the caller: buffers of this size
    allocated inside the kernel would be mapped and faulted in afresh by every worker thread on every
    call). The surrogate is computed a row at a time (one vectorised loop per surrogate kind).
    """
    m = gv.shape[0]
    dt = gv.dtype.type
    n_chunks = (n_steps + chunk - 1) // chunk
    p_i = 1  # planes of one half of a block's scratch: v, then i, b, r where present
    p_b = p_i + (0 if ci is None else 1)
    p_r = p_b + (0 if cb is None else 1)
    planes = p_r + (0 if cr is None else 1)
    span = chunk * block
    for blk in prange((m + block - 1) // block):
        lo = blk * block
        hi = min(lo + block, m)
        n = hi - lo
        blkbuf = scratch[blk * (2 * planes * span + _PAD) : (blk + 1) * (2 * planes * span + _PAD)]
        be, th, vr = _local(beta, lo, hi), _local(thr, lo, hi), _local(v_reset, lo, hi)
        al, rh, ba = _local(alpha, lo, hi), _local(rho, lo, hi), _local(beta_a, lo, hi)
        # replay state
        vv, ii = np.empty(n, dt), _opt(ci, np.empty(n, dt))
        bb, rr = _opt(cb, np.empty(n, dt)), _opt(cr, np.empty(n, dt))
        # reverse state and accumulators
        gvl, gil, gbl = gv[lo:hi].copy(), _local(gi, lo, hi), _local(gb, lo, hi)
        gal, gbe = _opt(galpha, np.zeros(n, dt)), _opt(gbeta, np.zeros(n, dt))
        gth = _opt(gthr, np.zeros(n, dt))
        sgm, work = np.empty(n, dt), _opt(cb, np.empty(n, dt))
        for c in range(n_chunks, -1, -1):
            # reverse chunk c (none at c = n_chunks), replay chunk c - 1 (none at c = 0)
            t0 = c * chunk
            t1 = min(t0 + chunk, n_steps)
            rep = c > 0
            if rep:  # the replay's state: chunk c - 1's checkpoint
                cp = (c - 1) * m
                vv[:] = cv[cp + lo : cp + hi]
                if ci is not None:
                    ii[:] = ci[cp + lo : cp + hi]
                if cb is not None:
                    bb[:] = cb[cp + lo : cp + hi]
                if cr is not None:
                    rr[:] = cr[cp + lo : cp + hi]
            # the halves start _PAD floats apart modulo 4 KiB: see _PAD
            half = (c % 2) * (planes * span + _PAD)
            prev_half = ((c + 1) % 2) * (planes * span + _PAD)
            cf = min(c, n_chunks - 1) * m  # views stay in range where unused
            vfirst = cv[cf + lo : cf + hi]
            for q in range(chunk if rep else max(t1 - t0, 0)):
                rev = q < t1 - t0
                # reverse step t = t1 - 1 - q of chunk c; every view is defined whether used or not
                j = max(t1 - 1 - q - t0, 0)
                t = min(t0 + j, n_steps - 1)  # clamped where unused (c = n_chunks)
                vp, irow, brow, rrow = _rows(
                    blkbuf, half + j * n, n, span, p_i, p_b, p_r, ci, cb, cr,
                )  # fmt: skip
                jp = half + max(j - 1, 0) * n
                vprev, _, bprev, rprev = _rows(blkbuf, jp, n, span, p_i, p_b, p_r, ci, cb, cr)
                first = j == 0
                gsl = _row_or_value(gs, t * gst, lo, hi, gs_dense)  # dL/ds_t
                gxs = gx[t * m + lo : t * m + hi]
                # replay step t0 - chunk + q of chunk c - 1 (the last chunk may be short), into
                # the other half
                tq = t0 - chunk + q
                rep_q = rep and tq < n_steps
                tp = min(max(tq, 0), n_steps - 1)
                xs = x[tp * xst + lo : tp * xst + hi]
                vrow_r, irow_r, brow_r, rrow_r = _rows(
                    blkbuf, prev_half + q * n, n, span, p_i, p_b, p_r, ci, cb, cr,
                )  # fmt: skip
                if rev:
                    if cb is not None:  # theta_t = threshold + b_{t-1}
                        for k in range(n):
                            work[k] = _at(th, k) + brow[k]
                        _surrogate_row(sg_kind, sg_alpha, vp, work, sgm)
                    else:
                        _surrogate_row(sg_kind, sg_alpha, vp, th, sgm)
                if rev and rep_q:
                    for k in range(n):
                        _step(
                            k, xs[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref,
                            None, vrow_r, irow_r, brow_r, rrow_r,
                        )  # fmt: skip
                        _back_step(
                            k, first, vp, irow, brow, rrow, vprev, bprev, rprev, vfirst, sgm, gsl,
                            gvl, gil, gal, gbl, gbe, gth, gxs, al, be, th, vr, rh, ba, c_sub,
                            c_zero, reset_grad,
                        )  # fmt: skip
                elif rep_q:
                    for k in range(n):
                        _step(
                            k, xs[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref,
                            None, vrow_r, irow_r, brow_r, rrow_r,
                        )  # fmt: skip
                elif rev:
                    for k in range(n):
                        _back_step(
                            k, first, vp, irow, brow, rrow, vprev, bprev, rprev, vfirst, sgm, gsl,
                            gvl, gil, gal, gbl, gbe, gth, gxs, al, be, th, vr, rh, ba, c_sub,
                            c_zero, reset_grad,
                        )  # fmt: skip
        gv[lo:hi] = gvl
        if gi is not None:
            gi[lo:hi] = gil
        if galpha is not None:
            galpha[lo:hi] = gal
        if gb is not None:
            gb[lo:hi] = gbl
        if gbeta is not None:
            gbeta[lo:hi] = gbe
        if gthr is not None:
            gthr[lo:hi] = gth


def _param(t: Tensor) -> np.ndarray | np.generic:
    """A per-neuron parameter ``[M]`` as a numpy array, or as one scalar of its dtype if uniform.

    Uniform parameters (the common case: one ``beta`` for the layer, passed as a stride-0 view)
    compile to a broadcast register instead of a stream from memory.
    """
    a = t.numpy()
    if a.shape[0] > 0 and (a.strides[0] == 0 or bool((a == a[0]).all())):
        return a[0]
    return a


def _block(m: int, rows: int) -> int:
    """Neurons per parallel block: big for streaming, small enough that ``rows`` floats per neuron
    (the backward scratch) stay in a core's L2 cache, and a whole number of blocks per thread
    (at least two), so every thread gets the same share."""
    threads = numba.get_num_threads()
    size = min(MAX_BLOCK, _SCRATCH_FLOATS // max(rows, 1))
    n_blocks = -(-max(-(-m // size), 2 * threads) // threads) * threads
    size = -(-m // n_blocks)
    return -(-size // MIN_BLOCK) * MIN_BLOCK


class CPUEngine:
    """Runs :func:`_forward` / :func:`_backward` on the tensors' own memory.

    Saved for backward: ``(x, checkpoints of v[, i][, b][, refrac])``; ``x`` is the input itself.
    """

    def forward(
        self,
        cfg: Config,
        x: Tensor,
        state: dict[str, Tensor | None],
        params: dict[str, Tensor],
        save: bool,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        t_len, m = x.shape
        spikes = buffers.empty((t_len, m), x.dtype)
        names = [k for k in ("v", "i", "b", "refrac") if state[k] is not None]
        n_ckpt = -(-t_len // CHUNK)
        ckpt = {k: buffers.empty((n_ckpt, m), x.dtype) for k in names} if save else {}
        p = {k: _param(t) for k, t in params.items()}
        s = {k: None if t is None else t.numpy() for k, t in state.items()}
        c = {k: ckpt[k].view(-1).numpy() if k in ckpt else None for k in ("v", "i", "b", "refrac")}
        _forward(
            _flat(x), x.stride(0), t_len, s["v"], s["i"], s["b"], s["refrac"],
            p["beta"], p["alpha"] if cfg.synaptic else None, p["threshold"], p["v_reset"],
            p["rho"] if cfg.adaptive else None, p["beta_a"] if cfg.adaptive else None,
            *_reset_coefficients(cfg, x.dtype), _scalar(cfg.refractory, x.dtype),
            spikes.view(-1).numpy(), c["v"], c["i"], c["b"], c["refrac"], CHUNK, _block(m, 1),
        )  # fmt: skip
        return spikes, ((x, *ckpt.values()) if save else ())

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        saved: tuple[Tensor, ...],
        init: dict[str, Tensor | None],
        params: dict[str, Tensor],
        grads: dict[str, Tensor | None],
    ) -> Tensor:
        x, *rest = saved
        t_len, m = x.shape
        syn, ada, ref = cfg.synaptic, cfg.adaptive, cfg.refractory > 0
        names = [k for k, used in (("v", 1), ("i", syn), ("b", ada), ("refrac", ref)) if used]
        c = dict.fromkeys(("v", "i", "b", "refrac"))
        c.update({k: t.view(-1).numpy() for k, t in zip(names, rest, strict=True)})
        gx = buffers.empty((t_len, m), x.dtype)
        rows = 2 * CHUNK * len(names)  # two halves (see _backward) of CHUNK rows per plane
        block = _block(m, rows)
        scratch = buffers.empty((-(-m // block) * (rows * block + _PAD),), x.dtype)
        p = {k: _param(t) for k, t in params.items()}
        g = {k: None if t is None else t.numpy() for k, t in grads.items()}
        gs = grad_spikes.to(x.dtype)
        _backward(
            _flat(gs), gs.stride(0), True if m > 1 and gs.stride(1) == 1 else None,
            _flat(x), x.stride(0), t_len, c["v"], c["i"], c["b"], c["refrac"], CHUNK,
            p["beta"], p["alpha"] if syn else None, p["threshold"], p["v_reset"],
            p["rho"] if ada else None, p["beta_a"] if ada else None,
            *_reset_coefficients(cfg, x.dtype), _scalar(cfg.refractory, x.dtype) if ref else None,
            None if cfg.detach_reset else True, cfg.surrogate, cfg.surrogate_alpha,
            gx.view(-1).numpy(), g["v"], g["i"], g["b"],
            g["beta"], g["alpha"], g["threshold"], scratch.numpy(), block,
        )  # fmt: skip
        return gx


def _scalar(value: float, dtype: torch.dtype) -> np.generic:
    """``value`` as a numpy scalar of ``dtype`` (float32 or float64), as the kernels take it."""
    return (np.float32 if dtype == torch.float32 else np.float64)(value)


def _reset_coefficients(cfg: Config, dtype: torch.dtype) -> tuple[np.generic, np.generic]:
    """``(c_sub, c_zero)`` of :func:`_forward` for the config's reset, as scalars of ``dtype``.

    Runtime values, not compile-time switches: one compiled variant serves every reset mode
    (specialising on the reset tripled the variants and the test suite's compile time)."""
    return _scalar(cfg.reset == 0, dtype), _scalar(cfg.reset == 1, dtype)
