"""CPU engine: the fused LIF-family recurrence compiled with numba.

Neurons are split into blocks (64 to 16,384 neurons, the same number of blocks per thread, see
:func:`_block`) run in parallel (``prange``); within a block the time loop is outside and the
neuron loop inside, so every step reads and writes contiguous memory and the neuron loop
vectorises.

Each call compiles to code for exactly its model: terms the model lacks (synaptic current,
adaptation, refractory period, un-detached reset, parameter gradients) are passed as ``None`` and
numba prunes their code; uniform parameters are passed as scalars. Compilation is cached on disk
(``cache=True``): the first call per variant and dtype compiles (seconds), later processes load the
machine code. The tensors' memory is used in place through ``Tensor.numpy()``.

Saved for backward: the input itself (no copy) and the state every ``CHUNK`` steps (one float per
neuron and ``CHUNK`` steps per state variable), see :func:`_forward`. The backward walks the
chunks from last to first: it replays a chunk from its checkpoint with the forward's own float
operations (so membrane and spikes are bitwise equal to the forward's, and no spike flags need
saving) into a scratch that stays in cache, then runs the reverse-time pass over it. The scratch
does not grow with ``T``, so blocks stay wide (long contiguous rows) for any sequence length.

float32 and float64 run natively; other dtypes never reach this engine (the dispatcher falls back to
the reference scan for bfloat16 and float16).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys

import numba
import numpy as np
import torch
from numba import njit, prange, types
from numba.extending import overload
from torch import Tensor

from spikeflow.kernels.plan import Config

MIN_BLOCK = 64  # neurons per parallel block: bounds, and the granularity (one cache line of floats
MAX_BLOCK = 16384  # is 16; 64 keeps every block's rows 256-byte aligned in float32)
_SCRATCH_FLOATS = 96 * 1024  # backward scratch per thread (384 KiB in float32): fits in L2
CHUNK = 8  # steps between the forward's state checkpoints (the backward replays one chunk)
_HUGE = 2 << 20  # transparent huge page size on x86-64 / arm64 Linux
_MADV_HUGEPAGE = 14
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
)


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _fresh(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """An uninitialised tensor whose memory comes from ``malloc`` (through numpy), with large
    buffers advised to use transparent huge pages (Linux).

    Why not ``torch.empty``: torch allocates with ``posix_memalign``, and glibc cannot serve an
    aligned request from a freed chunk of exactly the requested size (it needs slack to align), so
    a training loop that frees the previous call's spikes or gradient and asks for the same size
    again gets fresh pages from the kernel every call: page faults and zero-filling that cost about
    as much as the kernel itself. A plain ``malloc`` of the same size reuses the freed chunk. The
    tensor owns its numpy array (``torch.from_numpy``): a normal CPU tensor, except that its
    storage cannot be resized in place.

    With 2 MiB pages the first touch of a large buffer is several times cheaper. Advice only: where
    it is not available nothing changes.
    """
    t = torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[dtype]))
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


def _local(p, lo, hi):
    """Block-local copy of a per-neuron parameter, or the scalar itself (resolved at compile time)."""


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
    dt = v.dtype.type
    zero, one = dt(0), dt(1)
    for blk in prange((m + block - 1) // block):
        lo = blk * block
        hi = min(lo + block, m)
        # block-local copies: contiguous and unaliased, so the neuron loop vectorises
        vl = v[lo:hi].copy()
        be, th, vr = _local(beta, lo, hi), _local(thr, lo, hi), _local(v_reset, lo, hi)
        if cur is not None:
            il, al = cur[lo:hi].copy(), _local(alpha, lo, hi)
        if adapt is not None:
            bl, rh, ba = adapt[lo:hi].copy(), _local(rho, lo, hi), _local(beta_a, lo, hi)
        if refrac is not None:
            rl = refrac[lo:hi].copy()
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
                u = xs[k]
                if cur is not None:
                    u = _at(al, k) * il[k] + u
                    il[k] = u
                vp = _at(be, k) * vl[k] + u
                free = True
                if refrac is not None:
                    free = rl[k] <= zero
                    vp = vp if free else vl[k]
                theta = _at(th, k)
                if adapt is not None:
                    theta = theta + bl[k]
                spk = vp - theta >= zero
                if refrac is not None:
                    spk = spk & free
                s = one if spk else zero
                ss[k] = s
                vl[k] = vp - s * (c_sub * theta + c_zero * (vp - _at(vr, k)))
                if refrac is not None:
                    rl[k] = k_ref if spk else max(rl[k] - one, zero)
                if adapt is not None:
                    bl[k] = _at(rh, k) * bl[k] + _at(ba, k) * s
        v[lo:hi] = vl
        if cur is not None:
            cur[lo:hi] = il
        if adapt is not None:
            adapt[lo:hi] = bl
        if refrac is not None:
            refrac[lo:hi] = rl


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
    to first; each is replayed from its checkpoint and the saved input with the forward's float
    operations in the forward's order, so the membrane, and with it every spike decision, is
    bitwise equal to the forward's. The replay fills ``chunk x block`` floats per plane that stay in
    cache: the membrane before reset ``vp_t`` and, when the model has them, ``i_{t-1}``,
    ``b_{t-1}`` and the refractory counter ``r_{t-1}``. ``scratch`` holds those planes for every
    block (allocated by the caller: buffers of this size allocated inside the kernel would be mapped
    and faulted in afresh by every worker thread on every call). Then per step one loop carries
    ``dL/dv`` back through reset, spike and leak, with the surrogate computed a row at a time (one
    vectorised loop per surrogate kind).
    """
    m = gv.shape[0]
    dt = gv.dtype.type
    zero, one = dt(0), dt(1)
    for blk in prange((m + block - 1) // block):
        lo = blk * block
        hi = min(lo + block, m)
        n = hi - lo
        be, th, vr = _local(beta, lo, hi), _local(thr, lo, hi), _local(v_reset, lo, hi)
        span, planes = chunk * block, 1
        if ci is not None:
            planes += 1
        if cb is not None:
            planes += 1
        if cr is not None:
            planes += 1
        base = blk * planes * span
        vps = scratch[base : base + chunk * n]  # vp_t
        vv = np.empty(n, gv.dtype)
        if ci is not None:
            base += span
            al, ii = _local(alpha, lo, hi), np.empty(n, gv.dtype)
            ips = scratch[base : base + chunk * n]  # i_{t-1}
            gil, gal = gi[lo:hi].copy(), np.zeros(n, gv.dtype)
        if cb is not None:
            base += span
            rh, ba, bb = _local(rho, lo, hi), _local(beta_a, lo, hi), np.empty(n, gv.dtype)
            bps = scratch[base : base + chunk * n]  # b_{t-1}
            gbl = gb[lo:hi].copy()
        if cr is not None:
            base += span
            rr = np.empty(n, gv.dtype)
            rps = scratch[base : base + chunk * n]  # r_{t-1}
        gvl = gv[lo:hi].copy()
        if gbeta is not None:
            gbe = np.zeros(n, gv.dtype)
        if gthr is not None:
            gth = np.zeros(n, gv.dtype)
        work, sgm = np.empty(n, gv.dtype), np.empty(n, gv.dtype)
        for c in range((n_steps + chunk - 1) // chunk - 1, -1, -1):
            t0 = c * chunk
            t1 = min(t0 + chunk, n_steps)
            vv[:] = cv[c * m + lo : c * m + hi]
            if ci is not None:
                ii[:] = ci[c * m + lo : c * m + hi]
            if cb is not None:
                bb[:] = cb[c * m + lo : c * m + hi]
            if cr is not None:
                rr[:] = cr[c * m + lo : c * m + hi]
            for t in range(t0, t1):  # the forward's step, replayed
                # rows of the scratch as views: non-negative indices keep the loop vectorised
                j = (t - t0) * n
                vrow = vps[j : j + n]
                if ci is not None:
                    irow = ips[j : j + n]
                if cb is not None:
                    brow = bps[j : j + n]
                if cr is not None:
                    rrow = rps[j : j + n]
                xs = x[t * xst + lo : t * xst + hi]
                for k in range(n):
                    u = xs[k]
                    if ci is not None:
                        irow[k] = ii[k]
                        u = _at(al, k) * ii[k] + u
                        ii[k] = u
                    vp = _at(be, k) * vv[k] + u
                    free = True
                    if cr is not None:
                        rrow[k] = rr[k]
                        free = rr[k] <= zero
                        vp = vp if free else vv[k]
                    vrow[k] = vp
                    theta = _at(th, k)
                    if cb is not None:
                        brow[k] = bb[k]
                        theta = theta + bb[k]
                    spk = vp - theta >= zero
                    if cr is not None:
                        spk = spk & free
                    s = one if spk else zero
                    vv[k] = vp - s * (c_sub * theta + c_zero * (vp - _at(vr, k)))
                    if cr is not None:
                        rr[k] = k_ref if spk else max(rr[k] - one, zero)
                    if cb is not None:
                        bb[k] = _at(rh, k) * bb[k] + _at(ba, k) * s
            for t in range(t1 - 1, t0 - 1, -1):
                j = (t - t0) * n
                vp = vps[j : j + n]
                if ci is not None:
                    irow = ips[j : j + n]
                if cb is not None:
                    brow = bps[j : j + n]
                if cr is not None:
                    rrow = rps[j : j + n]
                # the previous step's rows, for d vp_t / d beta (unused at t0). Defined whether or
                # not beta needs a gradient: numba 0.68 miscompiled these views when they were
                # defined under `if gbeta is not None` (wrong beta gradients of the synaptic model)
                jp = max(j - n, 0)
                vprev = vps[jp : jp + n]
                if cb is not None:
                    bprev = bps[jp : jp + n]
                if cr is not None:
                    rprev = rps[jp : jp + n]
                if cb is not None:  # theta_t = threshold + b_{t-1}
                    for k in range(n):
                        work[k] = _at(th, k) + brow[k]
                    _surrogate_row(sg_kind, sg_alpha, vp, work, sgm)
                else:
                    _surrogate_row(sg_kind, sg_alpha, vp, th, sgm)
                gsl = _row_or_value(gs, t * gst, lo, hi, gs_dense)  # dL/ds_t
                gxs = gx[t * m + lo : t * m + hi]
                for k in range(n):
                    theta = _at(th, k)
                    if cb is not None:
                        theta = theta + brow[k]
                    spk = vp[k] - theta >= zero  # the forward's decision (bitwise equal vp)
                    free = True
                    if cr is not None:
                        free = rrow[k] <= zero
                        spk = spk & free
                    s = one if spk else zero
                    g_s = _at(gsl, k)
                    if cb is not None:
                        g_s += _at(ba, k) * gbl[k]  # b_t = rho b_{t-1} + beta_a s_t
                    if reset_grad is not None:  # the reset term depends on s_t
                        g_s -= gvl[k] * (c_sub * theta + c_zero * (vp[k] - _at(vr, k)))
                    sg = sgm[k]
                    if cr is not None:
                        sg = sg if free else zero
                    g_vp = gvl[k] * (one - s * c_zero) + g_s * sg
                    g_theta = -gvl[k] * s * c_sub - g_s * sg
                    g_u = g_vp
                    gvl[k] = _at(be, k) * g_vp
                    if cr is not None:
                        g_u = g_vp if free else zero
                        gvl[k] = gvl[k] if free else g_vp
                    if gthr is not None:
                        gth[k] += g_theta
                    if cb is not None:
                        gbl[k] = _at(rh, k) * gbl[k] + g_theta
                    if gbeta is not None:  # d vp_t / d beta = membrane after the previous reset
                        if t == t0:
                            v_prev = cv[c * m + lo + k]
                        else:
                            th_p = _at(th, k)
                            if cb is not None:
                                th_p = th_p + bprev[k]
                            vq = vprev[k]
                            spk_p = vq - th_p >= zero
                            if cr is not None:
                                spk_p = spk_p & (rprev[k] <= zero)
                            s_p = one if spk_p else zero
                            v_prev = vq - s_p * (c_sub * th_p + c_zero * (vq - _at(vr, k)))
                        gbe[k] += g_u * v_prev
                    if ci is not None:  # i_t = alpha i_{t-1} + x_t feeds vp_t and i_{t+1}
                        g_u = gil[k] + g_u
                        gal[k] += g_u * irow[k]
                        gil[k] = _at(al, k) * g_u
                    gxs[k] = g_u
        gv[lo:hi] = gvl
        if ci is not None:
            gi[lo:hi], galpha[lo:hi] = gil, gal
        if cb is not None:
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
        spikes = _fresh((t_len, m), x.dtype)
        names = [k for k in ("v", "i", "b", "refrac") if state[k] is not None]
        n_ckpt = -(-t_len // CHUNK)
        ckpt = {k: _fresh((n_ckpt, m), x.dtype) for k in names} if save else {}
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
        need: frozenset[str] = frozenset(("beta", "alpha", "threshold")),
    ) -> Tensor:
        x, *rest = saved
        t_len, m = x.shape
        syn, ada, ref = cfg.synaptic, cfg.adaptive, cfg.refractory > 0
        names = [k for k, used in (("v", 1), ("i", syn), ("b", ada), ("refrac", ref)) if used]
        c = dict.fromkeys(("v", "i", "b", "refrac"))
        c.update({k: t.view(-1).numpy() for k, t in zip(names, rest, strict=True)})
        gx = _fresh((t_len, m), x.dtype)
        block = _block(m, CHUNK * len(names))
        scratch = _fresh((-(-m // block) * len(names) * CHUNK * block,), x.dtype)
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
            g["beta"] if "beta" in need else None, g["alpha"] if syn else None,
            g["threshold"] if "threshold" in need else None, scratch.numpy(), block,
        )  # fmt: skip
        return gx


def _scalar(value: float, dtype: torch.dtype) -> np.generic:
    """``value`` as a numpy scalar of ``dtype`` (float32 or float64), as the kernels take it."""
    return (np.float32 if dtype == torch.float32 else np.float64)(value)


def _reset_coefficients(cfg: Config, dtype: torch.dtype) -> tuple[np.generic, np.generic]:
    """``(c_sub, c_zero)`` of :func:`_forward` for the config's reset, as scalars of ``dtype``."""
    return _scalar(cfg.reset == 0, dtype), _scalar(cfg.reset == 1, dtype)
