"""CPU engine: the fused LIF-family recurrence compiled with numba.

Neurons are split into blocks (64 to 4,096 neurons, see :func:`_block`) run in parallel
(``prange``); within a block the time loop is outside and the neuron loop inside, so every step
reads and writes contiguous memory and the neuron loop vectorises.

Each call compiles to code for exactly its model: terms the model lacks (synaptic current,
adaptation, refractory period, un-detached reset, parameter gradients) are passed as ``None`` and
numba prunes their code; uniform parameters are passed as scalars. Compilation is cached on disk
(``cache=True``): the first call per variant and dtype compiles (seconds), later processes load the
machine code. The tensors' memory is used in place through ``Tensor.numpy()``.

Saved for backward: the input itself (no copy) and packed bits, see :func:`_forward`. The backward
recomputes each block's trajectory into a scratch of ``T x block`` floats per thread (bitwise equal
to the forward), then runs the reverse-time pass.

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
MAX_BLOCK = 4096  # is 16; 64 keeps every block's rows 256-byte aligned in float32)
_SCRATCH_FLOATS = 96 * 1024  # backward scratch per thread (384 KiB in float32): fits in L2
_HUGE = 2 << 20  # transparent huge page size on x86-64 / arm64 Linux
_MADV_HUGEPAGE = 14
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
)


def _fresh(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """``torch.empty``, with large buffers advised to use transparent huge pages (Linux).

    Touching a fresh multi-megabyte buffer page by page costs more than the kernel itself on
    many machines; with 2 MiB pages the first touch is several times cheaper. Advice only: where it
    is not available nothing changes.
    """
    t = torch.empty(shape, dtype=dtype)
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


@njit(cache=True, error_model="numpy")
def _surrogate_row(kind, a, d, out):
    """``out = Surrogate.grad(d)`` for the surrogate with id ``kind`` (``plan.SURROGATE_IDS``).

    One loop per surrogate, so each loop vectorises. Constants are folded in double precision and
    rounded to the rows' dtype once, as torch does with Python scalars, so a float32 row is computed
    in float32 (a float64 constant would promote every element).
    """
    dt = d.dtype.type
    one, zero = dt(1), dt(0)
    if kind == 0:
        c, h = dt(0.5 * math.pi * a), dt(0.5 * a)
        for k in range(d.shape[0]):
            z = c * d[k]
            out[k] = h / (one + z * z)
    elif kind == 1:
        aa = dt(a)
        for k in range(d.shape[0]):
            s = one / (one + math.exp(-aa * d[k]))
            out[k] = aa * s * (one - s)
    elif kind == 2:
        aa, h = dt(a), dt(0.5 * a)
        for k in range(d.shape[0]):
            q = one + aa * abs(d[k])
            out[k] = h / (q * q)
    elif kind == 3:
        aa = dt(a)
        for k in range(d.shape[0]):
            out[k] = aa * max(zero, one - aa * abs(d[k]))
    elif kind == 4:
        aa, w = dt(a), dt(0.5 / a)
        for k in range(d.shape[0]):
            out[k] = aa if abs(d[k]) < w else zero
    else:
        c = dt(a / math.sqrt(math.pi))
        aa = dt(a)
        for k in range(d.shape[0]):
            z = aa * d[k]
            out[k] = c * math.exp(-(z * z))


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


@njit(cache=True, parallel=True, error_model="numpy")
def _forward(
    x, xst, n_steps, v, cur, adapt, refrac,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero, k_ref,
    spikes, flags, plane, block,
):  # fmt: skip
    """The recurrence of :mod:`spikeflow.kernels.plan` over ``n_steps`` steps, in place on the state.

    Optional terms are ``None`` where the model lacks them and their code is then pruned at compile
    time (numba specialises on ``None``): ``cur``/``alpha`` (synaptic), ``adapt``/``rho``/``beta_a``
    (adaptive), ``refrac`` (refractory period), ``flags`` (nothing saved for backward). Parameters
    are ``[M]`` arrays or scalars.

    ``flags`` (uint8, flat) holds bit planes of ``ceil(T / 8) x M`` bytes: step ``t`` of neuron
    ``j`` is bit ``t % 8`` of byte ``(t // 8) * M + j``; the spike plane first, then (with a
    refractory period only) the not-refractory plane at offset ``plane``.

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
            xs = x[t * xst + lo : t * xst + hi]
            ss = spikes[t * m + lo : t * m + hi]
            if flags is not None:  # bit t % 8 of byte row t // 8 (see _bits)
                sh, row = t & 7, (t >> 3) * m + lo
                keep = np.uint8(255) if sh else np.uint8(0)
                fs = flags[row : row + hi - lo]
                if refrac is not None:
                    fr = flags[plane + row : plane + row + hi - lo]
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
                if flags is not None:
                    fs[k] = (fs[k] & keep) | (np.uint8(spk) << sh)
                    if refrac is not None:
                        fr[k] = (fr[k] & keep) | (np.uint8(free) << sh)
        v[lo:hi] = vl
        if cur is not None:
            cur[lo:hi] = il
        if adapt is not None:
            adapt[lo:hi] = bl
        if refrac is not None:
            refrac[lo:hi] = rl


@njit(cache=True, parallel=True, error_model="numpy")
def _backward(
    gs, gst, gs_dense, x, xst, n_steps, flags, plane, v0, i0, b0,
    beta, alpha, thr, v_reset, rho, beta_a, c_sub, c_zero,
    refractory, reset_grad, sg_kind, sg_alpha,
    gx, gv, gi, gb, gbeta, galpha, gthr, block,
):  # fmt: skip
    """Reverse-time pass of :func:`_forward`.

    ``None`` prunes code as in :func:`_forward`: ``i0``/``alpha``/``gi``/``galpha`` (synaptic),
    ``b0``/``rho``/``beta_a``/``gb`` (adaptive), ``refractory`` (no refractory period: every step
    is free), ``reset_grad`` (detached reset), ``gbeta``/``gthr`` (parameter gradients not needed).

    First the block's forward trajectory is recomputed from the saved input and flags (the same
    float operations, so bitwise equal) into a scratch of ``T x block`` floats: the membrane before
    reset ``vp_t`` and, when the model has them, ``i_{t-1}`` and ``b_{t-1}``. Then per step one
    loop carries ``dL/dv`` back through reset, spike and leak, with the surrogate computed a row at
    a time (one vectorised loop per surrogate kind).
    """
    m = v0.shape[0]
    dt = v0.dtype.type
    zero, one = dt(0), dt(1)
    for blk in prange((m + block - 1) // block):
        lo = blk * block
        hi = min(lo + block, m)
        n = hi - lo
        be, th, vr = _local(beta, lo, hi), _local(thr, lo, hi), _local(v_reset, lo, hi)
        vps = np.empty(n_steps * n, v0.dtype)  # vp_t
        vv = v0[lo:hi].copy()
        if i0 is not None:
            al, ii = _local(alpha, lo, hi), i0[lo:hi].copy()
            ips = np.empty(n_steps * n, v0.dtype)  # i_{t-1}
        if b0 is not None:
            rh, ba, bb = _local(rho, lo, hi), _local(beta_a, lo, hi), b0[lo:hi].copy()
            bps = np.empty(n_steps * n, v0.dtype)  # b_{t-1}
        for t in range(n_steps):
            xs = x[t * xst + lo : t * xst + hi]
            sh, row = t & 7, (t >> 3) * m + lo
            fs, fr = flags[row : row + n], flags[plane + row : plane + row + n]
            for k in range(n):
                u = xs[k]
                if i0 is not None:
                    ips[t * n + k] = ii[k]
                    u = _at(al, k) * ii[k] + u
                    ii[k] = u
                vp = _at(be, k) * vv[k] + u
                if refractory is not None:
                    vp = vp if (fr[k] >> sh) & 1 else vv[k]
                vps[t * n + k] = vp
                theta = _at(th, k)
                if b0 is not None:
                    bps[t * n + k] = bb[k]
                    theta = theta + bb[k]
                s = dt((fs[k] >> sh) & 1)
                vv[k] = vp - s * (c_sub * theta + c_zero * (vp - _at(vr, k)))
                if b0 is not None:
                    bb[k] = _at(rh, k) * bb[k] + _at(ba, k) * s
        gvl = gv[lo:hi].copy()
        if gi is not None:
            gil, gal = gi[lo:hi].copy(), np.zeros(n, v0.dtype)
        if gb is not None:
            gbl = gb[lo:hi].copy()
        if gbeta is not None:
            gbe = np.zeros(n, v0.dtype)
        if gthr is not None:
            gth = np.zeros(n, v0.dtype)
        work, sgm, grow = np.empty(n, v0.dtype), np.empty(n, v0.dtype), np.empty(n, v0.dtype)
        for t in range(n_steps - 1, -1, -1):
            sh, row = t & 7, (t >> 3) * m + lo
            fs, fr = flags[row : row + n], flags[plane + row : plane + row + n]
            vp = vps[t * n : t * n + n]
            for k in range(n):
                theta = _at(th, k)
                if b0 is not None:
                    theta = theta + bps[t * n + k]
                work[k] = vp[k] - theta
            _surrogate_row(sg_kind, sg_alpha, work, sgm)
            if gs_dense:
                grow[:] = gs[t * gst + lo : t * gst + hi]
            else:
                grow[:] = gs[t * gst]
            gxs = gx[t * m + lo : t * m + hi]
            for k in range(n):
                s = dt((fs[k] >> sh) & 1)
                theta = _at(th, k)
                if b0 is not None:
                    theta = theta + bps[t * n + k]
                    grow[k] += _at(ba, k) * gbl[k]  # b_t = rho b_{t-1} + beta_a s_t
                if reset_grad is not None:  # the reset term depends on s_t
                    grow[k] -= gvl[k] * (c_sub * theta + c_zero * (vp[k] - _at(vr, k)))
                sg = sgm[k]
                if refractory is not None:
                    sg = sg if (fr[k] >> sh) & 1 else zero
                g_vp = gvl[k] * (one - s * c_zero) + grow[k] * sg
                g_theta = -gvl[k] * s * c_sub - grow[k] * sg
                g_u = g_vp
                gvl[k] = _at(be, k) * g_vp
                if refractory is not None:
                    free = (fr[k] >> sh) & 1
                    g_u = g_vp if free else zero
                    gvl[k] = gvl[k] if free else g_vp
                if gthr is not None:
                    gth[k] += g_theta
                if b0 is not None:
                    gbl[k] = _at(rh, k) * gbl[k] + g_theta
                if gbeta is not None:  # d vp_t / d beta = membrane after the previous reset
                    if t == 0:
                        v_prev = v0[lo + k]
                    else:
                        p = (t - 1) * n + k
                        th_p = _at(th, k)
                        if b0 is not None:
                            th_p = th_p + bps[p]
                        s_p = dt((flags[((t - 1) >> 3) * m + lo + k] >> ((t - 1) & 7)) & 1)
                        v_prev = vps[p] - s_p * (c_sub * th_p + c_zero * (vps[p] - _at(vr, k)))
                    gbe[k] += g_u * v_prev
                if gi is not None:  # i_t = alpha i_{t-1} + x_t feeds vp_t and i_{t+1}
                    g_u = gil[k] + g_u
                    gal[k] += g_u * ips[t * n + k]
                    gil[k] = _at(al, k) * g_u
                gxs[k] = g_u
        gv[lo:hi] = gvl
        if gi is not None:
            gi[lo:hi], galpha[lo:hi] = gil, gal
        if gb is not None:
            gb[lo:hi] = gbl
        if gbeta is not None:
            gbeta[lo:hi] = gbe
        if gthr is not None:
            gthr[lo:hi] = gth


def _param(t: Tensor) -> np.ndarray | np.generic:
    """A per-neuron parameter ``[M]`` as a numpy array, or as one scalar of its dtype if uniform.

    Uniform parameters (the common case: one ``beta`` for the layer) compile to a broadcast
    register instead of a stream from memory.
    """
    a = t.numpy()
    return a[0] if a.shape[0] > 0 and bool((a == a[0]).all()) else a


def _block(m: int, rows: int) -> int:
    """Neurons per parallel block: big for streaming, small enough that ``rows`` floats per neuron
    (the backward scratch) stay in a core's L2 cache, and at least two blocks per thread."""
    by_cache = _SCRATCH_FLOATS // max(rows, 1)
    by_threads = -(-m // (2 * numba.get_num_threads()))
    size = min(MAX_BLOCK, by_cache, by_threads)
    return max(MIN_BLOCK, size // MIN_BLOCK * MIN_BLOCK)


class CPUEngine:
    """Runs :func:`_forward` / :func:`_backward` on the tensors' own memory."""

    def forward(
        self,
        cfg: Config,
        x: Tensor,
        state: dict[str, Tensor],
        params: dict[str, Tensor],
        save: bool,
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        t_len, m = x.shape
        spikes = _fresh((t_len, m), x.dtype)
        flags = _fresh((1 + (cfg.refractory > 0), -(-t_len // 8), m), torch.uint8) if save else None
        p = {k: _param(t) for k, t in params.items()}
        s = {k: t.numpy() for k, t in state.items()}
        syn, ada, ref = cfg.synaptic, cfg.adaptive, cfg.refractory > 0
        _forward(
            _flat(x), x.stride(0), t_len, s["v"],
            s["i"] if syn else None, s["b"] if ada else None, s["refrac"] if ref else None,
            p["beta"], p["alpha"] if syn else None, p["threshold"], p["v_reset"],
            p["rho"] if ada else None, p["beta_a"] if ada else None,
            *_reset_coefficients(cfg, x.dtype), x.new_tensor(cfg.refractory).numpy()[()],
            spikes.view(-1).numpy(), None if flags is None else flags.view(-1).numpy(),
            -(-t_len // 8) * m, _block(m, 1),
        )  # fmt: skip
        return spikes, (x if save else None), flags

    def backward(
        self,
        cfg: Config,
        grad_spikes: Tensor,
        saved: Tensor,
        flags: Tensor,
        init: dict[str, Tensor],
        params: dict[str, Tensor],
        grads: dict[str, Tensor],
        need: frozenset[str] = frozenset(("beta", "alpha", "threshold")),
    ) -> Tensor:
        t_len, m = saved.shape
        gx = _fresh((t_len, m), saved.dtype)
        p = {k: _param(t) for k, t in params.items()}
        g = {k: t.numpy() for k, t in grads.items()}
        gs = grad_spikes.to(saved.dtype)
        syn, ada = cfg.synaptic, cfg.adaptive
        _backward(
            _flat(gs), gs.stride(0), m > 1 and gs.stride(1) == 1,
            _flat(saved), saved.stride(0), t_len, flags.view(-1).numpy(), flags[0].numel(),
            init["v"].numpy(), init["i"].numpy() if syn else None,
            init["b"].numpy() if ada else None,
            p["beta"], p["alpha"] if syn else None, p["threshold"], p["v_reset"],
            p["rho"] if ada else None, p["beta_a"] if ada else None,
            *_reset_coefficients(cfg, saved.dtype),
            True if cfg.refractory > 0 else None, None if cfg.detach_reset else True,
            cfg.surrogate, cfg.surrogate_alpha,
            gx.view(-1).numpy(), g["v"], g["i"] if syn else None, g["b"] if ada else None,
            g["beta"] if "beta" in need else None, g["alpha"] if syn else None,
            g["threshold"] if "threshold" in need else None,
            _block(m, t_len * (1 + syn + ada)),
        )  # fmt: skip
        return gx


def _reset_coefficients(cfg: Config, dtype: torch.dtype) -> tuple[np.generic, np.generic]:
    """``(c_sub, c_zero)`` of :func:`_forward` for the config's reset, as scalars of ``dtype``."""
    c = torch.tensor([cfg.reset == 0, cfg.reset == 1], dtype=dtype).numpy()
    return c[0], c[1]
