"""Drawing synapses in time and memory proportional to the number of synapses drawn.

Every function returns local ``(pre, post)`` index arrays ``[S]`` sorted by (pre, post) and
never materialises the ``n_pre x n_post`` matrix of candidate pairs (except for all-to-all
rules, where every pair is a synapse). Long draws show a progress bar on stderr.
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

CHUNK = 1 << 22  # draws per block: bounds the temporaries and paces the progress bar
PROGRESS_MIN = 20_000_000  # synapses from which a draw shows progress


def _progress(total: int, expected: float, desc: str, unit: str) -> tqdm:
    return tqdm(
        total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, mininterval=1.0,
        disable=expected < PROGRESS_MIN, leave=False,
    )  # fmt: skip


def bernoulli(rng: np.random.Generator, n_pre: int, n_post: int, p: float):
    """Each of the ``n_pre * n_post`` pairs independently with probability ``p``.

    The pairs are numbered row by row (``pre * n_post + post``); the gaps between successive
    kept pairs of a Bernoulli process are geometric with parameter ``p``, so drawing the gaps
    costs one draw per synapse.

    Arguments:
        rng: the generator. n_pre, n_post: group sizes. p: probability in [0, 1].

    Returns:
        ``(pre, post)`` int64 ``[S]``, sorted by (pre, post), no pair twice.
    """
    total = n_pre * n_post
    if p <= 0.0 or total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    parts, last, expected = [], -1, total * p
    with _progress(total, expected, "drawing synapses (p)", "pairs") as bar:
        while True:
            left = (total - 1 - last) * p
            n = int(min(CHUNK, left + 6.0 * np.sqrt(left) + 64))
            idx = last + np.cumsum(rng.geometric(p, size=n))
            kept = idx[idx < total]
            parts.append(kept)
            if kept.size < n:
                break
            last = int(idx[-1])
            bar.update(last - bar.n)
    flat = np.concatenate(parts)
    return np.divmod(flat, n_post)


def distinct(rng: np.random.Generator, rows: int, n: int, k: int) -> np.ndarray:
    """``k`` distinct values of ``[0, n)`` per row, drawn uniformly, each row sorted.

    Values are drawn with replacement and the repeated ones drawn again until none is left
    (few rounds while ``k <= n / 2``); above that, the ``n - k`` values left out are drawn
    instead.

    Arguments:
        rng: the generator. rows: number of rows. n: range of the values. k: values per row.

    Returns:
        int64 ``[rows, k]``.
    """
    if k > n // 2:
        keep = np.ones((rows, n), dtype=bool)
        out = distinct(rng, rows, n, n - k)
        keep[np.repeat(np.arange(rows), n - k), out.ravel()] = False
        return np.nonzero(keep)[1].reshape(rows, k)
    vals = rng.integers(0, n, size=(rows, k))
    while True:
        vals.sort(axis=1)
        dup = np.zeros(vals.shape, dtype=bool)
        dup[:, 1:] = vals[:, 1:] == vals[:, :-1]
        n_dup = int(dup.sum())
        if n_dup == 0:
            return vals
        vals[dup] = rng.integers(0, n, size=n_dup)


def fixed_in_degree(rng: np.random.Generator, n_pre: int, n_post: int, k: int):
    """Each post neuron receives from ``k`` distinct pre neurons drawn uniformly.

    Returns:
        ``(pre, post)`` int64 ``[n_post * k]``, sorted by (pre, post).
    """
    pre, post = [], []
    block = max(1, CHUNK // max(k, 1))
    with _progress(n_post * k, n_post * k, "drawing synapses (in_degree)", "syn") as bar:
        for start in range(0, n_post, block):
            rows = min(block, n_post - start)
            pre.append(distinct(rng, rows, n_pre, k).ravel())
            post.append(np.repeat(np.arange(start, start + rows), k))
            bar.update(rows * k)
    return sort_pairs(np.concatenate(pre), np.concatenate(post), n_post)


def fixed_total(rng: np.random.Generator, n_pre: int, n_post: int, n: int):
    """``n`` synapses, each between a pre and a post neuron drawn uniformly and independently
    (NEST's ``fixed_total_number`` with autapses and multapses allowed: a pair may be drawn
    more than once, and then has several synapses).

    Returns:
        ``(pre, post)`` int64 ``[n]``, sorted by (pre, post).
    """
    with _progress(n, n, "drawing synapses (n_synapses)", "syn") as bar:
        pre, post = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            pre.append(rng.integers(0, n_pre, size=m))
            post.append(rng.integers(0, n_post, size=m))
            bar.update(m)
    return sort_pairs(np.concatenate(pre), np.concatenate(post), n_post)


def sort_pairs(pre: np.ndarray, post: np.ndarray, n_post: int):
    """``(pre, post)`` sorted by (pre, post), through one int64 key per synapse."""
    key = pre * n_post + post
    key.sort()
    return np.divmod(key, n_post)
