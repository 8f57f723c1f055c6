"""Static synapses in 10 bytes each, drawn in bounded memory: the storage of large networks.

A :class:`CompactSynapses` keeps every synapse as a float32 weight, an int32 global target index
and a uint16 delay in steps, in CSR order by source neuron. Within a source's row the synapses
are grouped by *part* of the target neurons (blocks of ``PART_BLOCK`` neurons dealt round-robin
to ``PARTS`` parts), with ``part_ptr[s, k]`` the first synapse of source ``s`` into part ``k``:
an engine delivers spikes in parallel over parts, each part's targets touched by one thread, in
an order that does not depend on the number of threads.

:func:`build_compact` draws NEST's ``fixed_total_number`` connectivity (each synapse's source and
target uniform and independent, multapses and autapses allowed) without a Python loop over
neurons or synapses: the number of synapses of each source is multinomial, so it is drawn first
(one draw per source), which fixes every row's place; targets, weights and delays are then drawn
in chunks of sources (about ``CHUNK`` synapses each, one seeded generator per chunk, on as many
threads as numba uses: the result does not depend on their number) and copied into place. Peak
memory is the final arrays plus one chunk per thread.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from spikeflow._numba_cache import njit
from spikeflow.errors import UserError

CHUNK = 1 << 22  # synapses drawn per chunk: bounds the temporaries of a build
PARTS = 32  # parts of the target neurons (parallel delivery; fixed, so results are too)
PART_BLOCK = 16  # consecutive target neurons per block (128 bytes of a float64 row)
MAX_DELAY_STEPS = np.iinfo(np.uint16).max


class Projection(NamedTuple):
    """Synapses from one source range to one target range (global indices), ``n`` of them.

    Weights are normal (``w_mean``, ``w_std``), redrawn until they have the sign of ``w_mean``
    (zero allowed); delays are normal (``d_mean``, ``d_std``, ms), redrawn below ``dt``, then
    rounded to the nearest step (NEST's ``redraw`` with ``min=resolution``)."""

    pre_start: int
    n_pre: int
    post_start: int
    n_post: int
    n: int
    w_mean: float
    w_std: float
    d_mean: float
    d_std: float


class CompactSynapses(NamedTuple):
    """Synapses in CSR order by source, grouped by target part within each row.

    ``part_ptr`` int64 ``[n_src, PARTS + 1]``; ``post`` int32 ``[S]`` (global target);
    ``weight`` float32 ``[S]``; ``delay`` uint16 ``[S]`` (steps, >= 1)."""

    part_ptr: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    @property
    def n(self) -> int:
        return int(self.post.size)

    @property
    def bytes_per_synapse(self) -> float:
        """Bytes per synapse of the per-synapse arrays."""
        return (self.post.itemsize + self.weight.itemsize + self.delay.itemsize) * 1.0

    def row(self, s: int) -> slice:
        """The synapses of source ``s``."""
        return slice(int(self.part_ptr[s, 0]), int(self.part_ptr[s, -1]))


def part_of(post: np.ndarray) -> np.ndarray:
    """The part of each target neuron index (see the module docstring)."""
    return (post // PART_BLOCK) % PARTS


def bytes_needed(n_synapses: float, n_sources: int) -> float:
    """Peak bytes of :func:`build_compact`: 10 per synapse, the row tables, the temporaries of
    one chunk per thread (about 40 bytes per drawn synapse) and the multinomial counts."""
    chunks = 40.0 * CHUNK * numba.get_num_threads()
    return 10.0 * n_synapses + 8.0 * n_sources * (PARTS + 4) + chunks


def build_compact(
    projections: list[Projection], n_sources: int, dt: float, seed: int
) -> CompactSynapses:
    """Draw every projection's synapses (see the module docstring).

    Arguments:
        projections: the projections, in a fixed order (the draws follow it).
        n_sources: number of source neurons (rows), global indices ``[0, n_sources)``.
        dt: time step (ms). seed: seed of every draw.

    Returns:
        The :class:`CompactSynapses`.
    """
    counts = [
        np.random.default_rng([seed, p, 0]).multinomial(pr.n, np.full(pr.n_pre, 1.0 / pr.n_pre))
        if pr.n_pre and pr.n
        else np.zeros(pr.n_pre, dtype=np.int64)
        for p, pr in enumerate(projections)
    ]
    row_len = np.zeros(n_sources, dtype=np.int64)
    for pr, c in zip(projections, counts, strict=True):
        row_len[pr.pre_start : pr.pre_start + pr.n_pre] += c
    ptr = np.zeros(n_sources + 1, dtype=np.int64)
    np.cumsum(row_len, out=ptr[1:])
    total = int(ptr[-1])
    post = np.empty(total, dtype=np.int32)
    weight = np.empty(total, dtype=np.float32)
    delay = np.empty(total, dtype=np.uint16)
    cursor = ptr[:-1].copy()
    chunks = []
    for p, (pr, c) in enumerate(zip(projections, counts, strict=True)):
        rows = slice(pr.pre_start, pr.pre_start + pr.n_pre)
        dst = cursor[rows].copy()
        cursor[rows] += c
        ends = np.cumsum(c)
        cuts = np.searchsorted(ends, np.arange(CHUNK, pr.n, CHUNK), side="left")
        bounds = np.unique(np.concatenate([[0], cuts + 1, [pr.n_pre]]).clip(0, pr.n_pre))
        for b, (a, z) in enumerate(itertools.pairwise(bounds)):
            if c[a:z].sum():
                chunks.append((pr, dst[a:z], c[a:z], (seed, p, b + 1)))

    def draw(chunk: tuple) -> None:
        pr, dst, c, key = chunk
        m = int(c.sum())
        rng = np.random.default_rng(key)
        tgt = rng.integers(pr.post_start, pr.post_start + pr.n_post, size=m, dtype=np.int32)
        w = _redrawn_normal(rng, pr.w_mean, pr.w_std, m, sign=np.sign(pr.w_mean))
        d = delay_steps(_redrawn_normal(rng, pr.d_mean, pr.d_std, m, low=dt), dt)
        _scatter(dst, c, tgt, w, d, post, weight, delay)

    # chunks draw from their own generators into disjoint places: any order, any thread
    with ThreadPoolExecutor(numba.get_num_threads()) as pool:
        list(pool.map(draw, chunks))
    part_ptr = np.empty((n_sources, PARTS + 1), dtype=np.int64)
    _group_rows(ptr, post, weight, delay, part_ptr, PARTS, PART_BLOCK)
    return CompactSynapses(part_ptr, post, weight, delay)


def delay_steps(d_ms: np.ndarray, dt: float) -> np.ndarray:
    """Delays (ms) rounded to the nearest step, as uint16 (at least 1 step)."""
    steps = np.floor(d_ms.astype(np.float64) / dt + 0.5)
    if steps.size and steps.max() > MAX_DELAY_STEPS:
        raise UserError(
            f"a delay of {steps.max() * dt:g} ms is {steps.max():.0f} steps of dt={dt:g} ms; "
            f"expected at most {MAX_DELAY_STEPS} steps"
        )
    return np.maximum(steps, 1).astype(np.uint16)


def _redrawn_normal(
    rng: np.random.Generator,
    mean: float,
    std: float,
    m: int,
    *,
    sign: float = 0.0,
    low: float = -np.inf,
) -> np.ndarray:
    """``m`` normal draws (float32); those below ``low`` or of the wrong ``sign`` (when non-zero)
    are drawn again until none is left."""
    x = rng.standard_normal(m, dtype=np.float32)
    x *= np.float32(std)
    x += np.float32(mean)
    while True:
        bad = (x < low) | (x * np.float32(sign) < 0)
        n_bad = int(np.count_nonzero(bad))
        if n_bad == 0:
            return x
        x[bad] = rng.standard_normal(n_bad, dtype=np.float32) * np.float32(std) + np.float32(mean)


@njit(cache=True, nogil=True)
def _scatter(dst, counts, tgt, w, d, post, weight, delay):
    """Copy consecutive segments of ``tgt``, ``w``, ``d`` (``counts[k]`` synapses of the k-th
    source) to ``dst[k]`` onwards in ``post``, ``weight``, ``delay``."""
    q = 0
    for k in range(dst.size):
        o = dst[k]
        for r in range(counts[k]):
            post[o + r] = tgt[q]
            weight[o + r] = w[q]
            delay[o + r] = d[q]
            q += 1


@njit(cache=True, parallel=True)
def _group_rows(ptr, post, weight, delay, part_ptr, parts, block):
    """Within each row, order the synapses by target part (stably) and fill ``part_ptr``."""
    n = ptr.size - 1
    for s in prange(n):
        a, z = ptr[s], ptr[s + 1]
        cnt = np.zeros(parts + 1, dtype=np.int64)
        for q in range(a, z):
            cnt[(post[q] // block) % parts + 1] += 1
        for k in range(parts):
            cnt[k + 1] += cnt[k]
        for k in range(parts + 1):
            part_ptr[s, k] = a + cnt[k]
        tp = post[a:z].copy()
        tw = weight[a:z].copy()
        td = delay[a:z].copy()
        for r in range(z - a):
            k = (tp[r] // block) % parts
            o = a + cnt[k]
            post[o], weight[o], delay[o] = tp[r], tw[r], td[r]
            cnt[k] += 1
