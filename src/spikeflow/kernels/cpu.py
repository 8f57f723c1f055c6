"""CPU engine: the fused LIF-family recurrence compiled with numba.

Neurons are split into blocks (64 to 16,384 neurons, the same number of blocks per thread, see
:func:`_block`) run in parallel (``prange``); within a block the time loop is outside and the
neuron loop inside, so every step reads and writes contiguous memory and the neuron loop
vectorises.

Each call compiles to code for exactly its model: terms the model lacks (synaptic current,
adaptation, refractory period, un-detached reset, parameter gradients) are passed as ``None`` and
numba prunes their code; uniform parameters are passed as scalars. Compilation is cached on disk
(:func:`spikeflow._numba_cache.njit`, keyed on this file and the modules it imports): the first
call per variant and dtype compiles (seconds), later processes load the machine code. The
tensors' memory is used in place through ``Tensor.numpy()``; new buffers
(spikes, gradients, checkpoints) come from :mod:`spikeflow.kernels.buffers`, which reuses them
from one call to the next. Outputs of half the L3 or more (spikes, ``dL/dx``) are written past the
caches with non-temporal stores (:func:`_streams`): no read of each line before it is written.

One step of one neuron is written once, in :func:`_step`; the forward runs it and the backward
replays it. Saved for backward: the input itself (no copy) and the state every ``CHUNK`` steps
(one float per neuron and ``CHUNK`` steps per state variable), see :func:`_forward`. The backward
walks the chunks from last to first: it replays a chunk from its checkpoint (so membrane and spikes
are bitwise equal to the forward's, and no spike flags need saving) into a scratch that stays in
cache, and runs the reverse-time pass over the chunk replayed before, both in one neuron loop that
takes two steps of each at a time (see :func:`_backward`). The scratch does not grow with ``T``,
so blocks stay wide (long contiguous rows) for any sequence length.

float32 and float64 run natively. numba has no bfloat16, so bfloat16 and float16 input is converted
to a float32 copy (which is what backward saves) and the recurrence runs in float32.
"""

from __future__ import annotations

import math
import platform
from pathlib import Path

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from torch import Tensor

from spikeflow._numba_cache import njit
from spikeflow.kernels import buffers
from spikeflow.kernels.plan import LOW_DTYPES, Config

MIN_BLOCK = 64  # neurons per parallel block: bounds, and the granularity (one cache line of floats
MAX_BLOCK = 16384  # is 16; 64 keeps every block's rows 256-byte aligned in float32)


def _cache_bytes(level: int, default: int) -> int:
    """The size in bytes of the level-``level`` cache (2 or 3) of CPU 0 as Linux reports it, or
    ``default`` where it cannot be read."""
    cache = Path(f"/sys/devices/system/cpu/cpu0/cache/index{level}")
    try:
        if (cache / "level").read_text().strip() != str(level):
            return default
        size = (cache / "size").read_text().strip()
        units = {"K": 1 << 10, "M": 1 << 20}
        return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    except (OSError, ValueError, IndexError):
        return default


# backward scratch per thread: 3/4 of L2 (read as 256 KiB to 4 MiB) in float32
_SCRATCH_FLOATS = 3 * min(max(_cache_bytes(2, 512 << 10), 256 << 10), 4 << 20) // 16
# outputs of at least half the L3 (the input streams through it too) are written past the caches
STREAM_BYTES = _cache_bytes(3, 32 << 20) // 2
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


def _surrogate(sgc, z):
    """``Surrogate.grad(z)`` for the one surrogate whose constants ``sgc`` holds (see
    :func:`_surrogate_constants`): the others' slots are ``None``, so the surrogate is chosen at
    compile time and its code inlined into the neuron loop. (Inline, the backward reads and writes
    no surrogate row: 10-25 % faster than a vectorised row loop per surrogate.)"""


@overload(_surrogate, inline="always")
def _surrogate_impl(sgc, z):
    kind = next(i for i, t in enumerate(sgc.types) if not isinstance(t, types.NoneType)) // 2
    if kind == 0:  # arc-tangent: h / (1 + (c z)^2)

        def impl(sgc, z):
            c, h = sgc[0], sgc[1]
            w = c * z
            return h / (type(z)(1) + w * w)

    elif kind == 1:  # sigmoid: a s (1 - s), s = 1 / (1 + exp(-a z))

        def impl(sgc, z):
            a = sgc[2]
            one = type(z)(1)
            s = one / (one + math.exp(-a * z))
            return a * s * (one - s)

    elif kind == 2:  # fast sigmoid: h / (1 + a |z|)^2

        def impl(sgc, z):
            a, h = sgc[4], sgc[5]
            q = type(z)(1) + a * abs(z)
            return h / (q * q)

    elif kind == 3:  # triangle: a max(0, 1 - a |z|)

        def impl(sgc, z):
            a = sgc[6]
            return a * max(type(z)(0), type(z)(1) - a * abs(z))

    elif kind == 4:  # straight-through window: a where |z| < w

        def impl(sgc, z):
            a, w = sgc[8], sgc[9]
            return a if abs(z) < w else type(z)(0)

    else:  # erfc: c exp(-(a z)^2)

        def impl(sgc, z):
            a, c = sgc[10], sgc[11]
            w = a * z
            return c * math.exp(-(w * w))

    return impl


@intrinsic
def _stream_store(typingctx, arr, k, value):
    """``arr[k] = value`` as a non-temporal store: written past the caches, without reading the
    line first.

    Declared 64-byte aligned, so that the loop vectoriser's stores of 8 or 16 elements become
    aligned ``vmovntps``/``vmovntpd`` (an unaligned non-temporal vector store is split into one
    scalar store per element). Valid only in a neuron loop that starts at ``k = 0`` on a row whose
    first element is 64-byte aligned (see :func:`_streams`).
    """

    def codegen(context, builder, signature, args):
        a, kk, v = args
        ary = context.make_array(signature.args[0])(context, builder, a)
        store = builder.store(v, builder.gep(ary.data, [kk]), align=64)
        one = ir.Constant(ir.IntType(32), 1)
        store.set_metadata("nontemporal", builder.module.add_metadata([one]))
        return context.get_dummy_value()

    return types.void(arr, k, value), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64")


@intrinsic
def _fence(typingctx):
    """A fence that orders the non-temporal stores before it: ``sfence`` on x86, as glibc's
    ``memcpy`` and the Linux kernel use after theirs (LLVM's ``fence seq_cst`` becomes a locked
    no-op there), a full fence elsewhere (``dmb`` on ARM)."""

    def codegen(context, builder, signature, args):
        if _X86:
            void = ir.FunctionType(ir.VoidType(), [])
            builder.call(
                cgutils.get_or_insert_function(builder.module, void, "llvm.x86.sse.sfence"), []
            )
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


def _drain(stream):
    """After a block's non-temporal stores (``stream`` not ``None``): a fence, so that they are
    visible to every thread by the end of the parallel loop, as glibc's ``memcpy`` ends its own
    non-temporal copies with one (they are weakly ordered). Nothing where ``stream`` is ``None``."""


@overload(_drain, inline="always")
def _drain_impl(stream):
    if isinstance(stream, types.NoneType):
        return lambda stream: None
    return lambda stream: _fence()


def _put(stream, arr, k, value):
    """``arr[k] = value``; a non-temporal store where ``stream`` is not ``None``."""


@overload(_put, inline="always")
def _put_impl(stream, arr, k, value):
    if isinstance(stream, types.NoneType):

        def impl(stream, arr, k, value):
            arr[k] = value

        return impl
    return lambda stream, arr, k, value: _stream_store(arr, k, value)


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


@njit(error_model="numpy")
def _reset_by(c_sub, c_zero, theta, vp, vr):
    """How far a spike moves the membrane: ``theta`` (subtract, ``c_sub = 1``), ``vp - vr`` (zero,
    ``c_zero = 1``) or nothing; one expression for the step, its replay and its gradient."""
    return c_sub * theta + c_zero * (vp - vr)


@njit(error_model="numpy")
def _step(
    k, u, vl, il, bl, rl, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref, srow, vrow, irow, brow,
    rrow, stream,
):  # fmt: skip
    """Neuron ``k``'s step of the recurrence with input ``u``, updating the state rows
    ``vl`` (and ``il``, ``bl``, ``rl`` where the model has them) in place.

    The one definition of a step: the forward runs it, and the backward replays it, so the two are
    bitwise equal. Outputs, each ``None`` to skip: ``srow`` the spike; ``vrow`` the membrane before
    reset ``vp``; ``irow``, ``brow``, ``rrow`` the state before the step. ``stream`` picks the
    store of the spike (:func:`_put`). Parameters are rows or scalars (:func:`_at`); ``None`` prunes
    a term at compile time.
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
        _put(stream, srow, k, s)
    vl[k] = vp - s * _reset_by(c_sub, c_zero, theta, vp, _at(vr, k))
    if rl is not None:
        rl[k] = k_ref if spk else max(rl[k] - one, zero)
    if bl is not None:
        bl[k] = _at(rh, k) * bl[k] + _at(ba, k) * s


@njit(error_model="numpy")
def _back_step(
    k, first, vp, irow, brow, rrow, vprev, bprev, rprev, vfirst, sgc, gsl, gvl, gil, gal, gbl, gbe,
    gth, gxs, al, be, th, vr, rh, ba, c_sub, c_zero, reset_grad, stream,
):  # fmt: skip
    """Neuron ``k``'s reverse step: carries ``dL/dv`` (``gvl``, and ``gil``, ``gbl``) back through
    reset, spike and leak of step ``t`` and writes ``dL/dx_t`` to ``gxs[k]``.

    ``vp, irow, brow, rrow`` are the replayed step's rows (:func:`_step`), ``vprev, bprev, rprev``
    the previous step's, used for ``d vp_t / d beta`` unless ``first`` (the chunk's first step,
    whose previous membrane is the checkpoint row ``vfirst``). ``sgc`` selects the surrogate
    (:func:`_surrogate`), ``gsl`` is the row or single value ``dL/ds_t``. ``gal, gbe, gth``
    accumulate the gradients of alpha, beta and threshold. ``stream`` picks the store of ``gxs``
    (:func:`_put`). ``None`` prunes a term at compile time.
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
    sg = _surrogate(sgc, vp[k] - theta)
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
    _put(stream, gxs, k, g_u)


@njit(parallel=True, error_model="numpy")
def _forward(
    x, xst, n_steps, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    spikes, stream, save, cv, ci, cb, cr, chunk, block,
):  # fmt: skip
    """The recurrence of :mod:`spikeflow.kernels.plan` over ``n_steps`` steps, in place on the state.

    Optional terms are ``None`` where the model lacks them and their code is then pruned at compile
    time (numba specialises on ``None``): ``cur``/``alpha`` (synaptic), ``adapt``/``rho``/``beta_a``
    (adaptive), ``refrac`` (refractory period). Parameters are ``[M]`` arrays or scalars.

    Where ``save`` (a runtime flag: one compiled variant serves training and inference), ``cv, ci,
    cb, cr`` (flat ``[ceil(T / chunk), M]``; ``None`` where the model lacks the term, empty arrays
    where ``save`` is false) receive the checkpoints the backward starts from: ``v``, ``i``, ``b``
    and the refractory counter before steps ``0, chunk, 2 chunk, ...``.

    ``c_sub, c_zero`` pick the reset: ``v - s * (c_sub * theta + c_zero * (v - v_reset))`` is
    ``v - s * theta``, ``v - s * (v - v_reset)`` or ``v``. ``stream`` (``True`` or ``None``) writes
    the spikes past the caches, see :func:`_streams`. Every block handles ``block`` neurons.
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
            if save and t % chunk == 0:  # checkpoint: the state before step t
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
                    None, None, None, None, stream,
                )  # fmt: skip
        v[lo:hi] = vl
        if cur is not None:
            cur[lo:hi] = il
        if adapt is not None:
            adapt[lo:hi] = bl
        if refrac is not None:
            refrac[lo:hi] = rl
        _drain(stream)


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


@njit(error_model="numpy")
def _pair_views(
    q, chunk, t0, t1, n_steps, rep, half, prev_half, n, span, p_i, p_b, p_r, blkbuf, ci, cb, cr,
    gs, gst, gs_dense, gx, m, x, xst, lo, hi,
):  # fmt: skip
    """What step ``q`` of :func:`_backward`'s visit of chunk ``c = t0 / chunk`` reads and writes:
    the reverse pass's step ``t = t1 - 1 - q`` (of chunk ``c``) and the replay's step
    ``t0 - chunk + q`` (of chunk ``c - 1``).

    A plain jitted function rather than an inline overload: :func:`_backward` calls it twice per
    pair of steps, and numba types an inline overload afresh at every call site (twice the compile
    time of the whole kernel).

    Returns ``(rev, rep_q, first, vp, irow, brow, rrow, vprev, bprev, rprev, gsl, gxs, xs, vrow_r,
    irow_r, brow_r, rrow_r)``: whether each of the two steps exists (the last chunk may be short,
    there is no reverse step at ``c = n_chunks`` and no replay at ``c = 0``), whether ``t`` is the
    chunk's first step, and the views (:func:`_rows` of the scratch halves ``half`` for the reverse
    pass and ``prev_half`` for the replay, ``dL/ds_t``, ``dL/dx_t``, ``x``). Views are clamped in
    range where their step does not exist.
    """
    rev = q < t1 - t0
    j = max(t1 - 1 - q - t0, 0)
    t = min(t0 + j, n_steps - 1)
    vp, irow, brow, rrow = _rows(blkbuf, half + j * n, n, span, p_i, p_b, p_r, ci, cb, cr)
    jp = half + max(j - 1, 0) * n
    vprev, _, bprev, rprev = _rows(blkbuf, jp, n, span, p_i, p_b, p_r, ci, cb, cr)
    gsl = _row_or_value(gs, t * gst, lo, hi, gs_dense)  # dL/ds_t
    gxs = gx[t * m + lo : t * m + hi]
    tq = t0 - chunk + q
    tp = min(max(tq, 0), n_steps - 1)
    xs = x[tp * xst + lo : tp * xst + hi]
    vrow_r, irow_r, brow_r, rrow_r = _rows(
        blkbuf, prev_half + q * n, n, span, p_i, p_b, p_r, ci, cb, cr,
    )  # fmt: skip
    return (
        rev, rep & (tq < n_steps), j == 0, vp, irow, brow, rrow, vprev, bprev, rprev, gsl,
        gxs, xs, vrow_r, irow_r, brow_r, rrow_r,
    )  # fmt: skip


@njit(parallel=True, error_model="numpy")
def _backward(
    gs, gst, gs_dense, x, xst, n_steps, cv, ci, cb, cr, chunk,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    reset_grad, sgc,
    gx, stream, gv, gi, gb, gbeta, galpha, gthr, scratch, block,
):  # fmt: skip
    """Reverse-time pass of :func:`_forward`, one chunk of ``chunk`` steps at a time.

    ``None`` prunes code as in :func:`_forward`: ``ci``/``alpha``/``gi``/``galpha`` (synaptic),
    ``cb``/``rho``/``beta_a``/``gb`` (adaptive), ``cr``/``k_ref`` (refractory period),
    ``reset_grad`` (detached reset), ``gbeta``/``gthr`` (parameter gradients not needed),
    ``gs_dense`` (``dL/ds`` is one value per step for every neuron, as from ``spikes.sum()``; else
    ``True`` and a row per step, as for a layer of one neuron whatever its stride).

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
    The loop takes two steps of each pass at a time, so the state rows are loaded and stored once
    per two steps (the backward is bound by loads and stores, not arithmetic: 20 % faster).
    ``scratch`` holds both halves for every block (allocated by the caller: buffers of this size
    allocated inside the kernel would be mapped and faulted in afresh by every worker thread on every
    call). The surrogate is inlined into the reverse step (``sgc``, :func:`_surrogate_constants`).
    ``stream`` (``True`` or ``None``) writes ``dL/dx`` past the caches, see :func:`_streams`.
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
            nq = chunk if rep else max(t1 - t0, 0)
            q = nq - nq  # an int64, not the literal 0: one compiled _pair_views serves both calls
            while q < nq:
                # steps q and q + 1 (clamped where there is none: its views are then unused)
                (
                    rev, rep_q, first, vp, irow, brow, rrow, vprev, bprev, rprev, gsl, gxs, xs,
                    vrow_r, irow_r, brow_r, rrow_r,
                ) = _pair_views(
                    q, chunk, t0, t1, n_steps, rep, half, prev_half, n, span, p_i, p_b, p_r,
                    blkbuf, ci, cb, cr, gs, gst, gs_dense, gx, m, x, xst, lo, hi,
                )  # fmt: skip
                (
                    rev2, rep_q2, first2, vp2, irow2, brow2, rrow2, vprev2, bprev2, rprev2, gsl2,
                    gxs2, xs2, vrow_r2, irow_r2, brow_r2, rrow_r2,
                ) = _pair_views(
                    min(q + 1, nq - 1), chunk, t0, t1, n_steps, rep, half, prev_half, n, span,
                    p_i, p_b, p_r, blkbuf, ci, cb, cr, gs, gst, gs_dense, gx, m, x, xst, lo, hi,
                )  # fmt: skip
                if q + 1 < nq and rev and rep_q and rev2 and rep_q2:
                    # two steps per pass over the neurons: the state rows are loaded and stored
                    # once for both
                    for k in range(n):
                        _step(
                            k, xs[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref,
                            None, vrow_r, irow_r, brow_r, rrow_r, None,
                        )  # fmt: skip
                        _back_step(
                            k, first, vp, irow, brow, rrow, vprev, bprev, rprev, vfirst, sgc, gsl,
                            gvl, gil, gal, gbl, gbe, gth, gxs, al, be, th, vr, rh, ba, c_sub,
                            c_zero, reset_grad, stream,
                        )  # fmt: skip
                        _step(
                            k, xs2[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero,
                            k_ref, None, vrow_r2, irow_r2, brow_r2, rrow_r2, None,
                        )  # fmt: skip
                        _back_step(
                            k, first2, vp2, irow2, brow2, rrow2, vprev2, bprev2, rprev2, vfirst,
                            sgc, gsl2, gvl, gil, gal, gbl, gbe, gth, gxs2, al, be, th, vr, rh, ba,
                            c_sub, c_zero, reset_grad, stream,
                        )  # fmt: skip
                    q += 2
                    continue
                # one step alone: where only one of the two passes has a step q (the walk's
                # first and last chunk, a short last chunk) or q is the last
                if rep_q:
                    for k in range(n):
                        _step(
                            k, xs[k], vv, ii, bb, rr, al, be, th, vr, rh, ba, c_sub, c_zero, k_ref,
                            None, vrow_r, irow_r, brow_r, rrow_r, None,
                        )  # fmt: skip
                if rev:
                    for k in range(n):
                        _back_step(
                            k, first, vp, irow, brow, rrow, vprev, bprev, rprev, vfirst, sgc, gsl,
                            gvl, gil, gal, gbl, gbe, gth, gxs, al, be, th, vr, rh, ba, c_sub,
                            c_zero, reset_grad, stream,
                        )  # fmt: skip
                q += 1
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
        _drain(stream)


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
        if x.dtype in LOW_DTYPES:
            x = x.float()
        t_len, m = x.shape
        spikes = buffers.empty((t_len, m), x.dtype)
        names = [k for k in ("v", "i", "b", "refrac") if state[k] is not None]
        n_ckpt = -(-t_len // CHUNK)
        ckpt = {k: buffers.empty((n_ckpt, m), x.dtype) for k in names} if save else {}
        p = {k: _param(t) for k, t in params.items()}
        s = {k: None if t is None else t.numpy() for k, t in state.items()}
        # the model's checkpoint planes when nothing is saved (one compiled variant for both)
        unused = torch.empty(0, dtype=x.dtype).numpy()
        c = {
            k: ckpt[k].view(-1).numpy() if k in ckpt else unused if k in names else None
            for k in ("v", "i", "b", "refrac")
        }
        _forward(
            _flat(x), x.stride(0), t_len, s["v"], s["i"], s["b"], s["refrac"],
            p["beta"], p["alpha"] if cfg.synaptic else None, p["threshold"], p["v_reset"],
            p["rho"] if cfg.adaptive else None, p["beta_a"] if cfg.adaptive else None,
            *_reset_coefficients(cfg, x.dtype), _scalar(cfg.refractory, x.dtype),
            spikes.view(-1).numpy(), _streams(spikes), save, c["v"], c["i"], c["b"], c["refrac"],
            CHUNK,
            _block(m, 1),
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
            _flat(gs), gs.stride(0), True if m == 1 or gs.stride(1) == 1 else None,
            _flat(x), x.stride(0), t_len, c["v"], c["i"], c["b"], c["refrac"], CHUNK,
            p["beta"], p["alpha"] if syn else None, p["threshold"], p["v_reset"],
            p["rho"] if ada else None, p["beta_a"] if ada else None,
            *_reset_coefficients(cfg, x.dtype), _scalar(cfg.refractory, x.dtype) if ref else None,
            None if cfg.detach_reset else True, _surrogate_constants(cfg, x.dtype),
            gx.view(-1).numpy(), _streams(gx), g["v"], g["i"], g["b"],
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


def _surrogate_constants(cfg: Config, dtype: torch.dtype) -> tuple:
    """The two constants of :func:`_surrogate` for the config's surrogate (id ``k``,
    ``plan.SURROGATE_IDS``) at slots ``2k, 2k + 1`` of a 12-tuple whose other slots are ``None``:
    flat, since numba passes tuples of scalars into a parallel loop but not nested ones.

    Folded in double precision and rounded to ``dtype`` once (as torch does with Python scalars),
    so a float32 row is computed in float32 (a float64 constant would promote every element).
    """
    a = cfg.surrogate_alpha
    consts = (
        (0.5 * math.pi * a, 0.5 * a),
        (a, a),
        (a, 0.5 * a),
        (a, a),
        (a, 0.5 / a),
        (a, a / math.sqrt(math.pi)),
    )[cfg.surrogate]
    slots: list = [None] * 12
    slots[2 * cfg.surrogate : 2 * cfg.surrogate + 2] = [_scalar(c, dtype) for c in consts]
    return tuple(slots)


def _streams(out: Tensor) -> bool | None:
    """``True`` where the kernel writes ``out`` ``[T, M]`` with non-temporal stores (:func:`_put`),
    else ``None``.

    A store past the caches saves reading each line before writing it (a third of a streaming
    kernel's memory traffic), but whoever reads ``out`` next then reads it from memory: worth it
    only where ``out`` would not stay in cache anyway (``STREAM_BYTES``, half the L3). The stores
    are 64-byte aligned vectors, so every row of every block must start on a cache line: the data
    on a 64-byte boundary, the rows' stride a multiple of 64 bytes, the neurons contiguous (blocks
    start at multiples of ``MIN_BLOCK`` neurons, whole cache lines).
    """
    size = out.element_size()
    aligned = out.data_ptr() % 64 == 0 and out.stride(0) * size % 64 == 0 and out.stride(1) == 1
    return True if aligned and out.numel() * size >= STREAM_BYTES else None
