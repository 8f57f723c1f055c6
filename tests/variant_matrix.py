"""Parametrisations over a matrix of kernel settings, run in full only where it matters.

Each combination of structural settings (model kind, refractory period, detached reset, dtype,
surrogate, ...) is a numba variant of its own, compiled on first use in 3-10 s of CPU: the product of a
few axes is most of the default suite's time. :func:`variant_matrix` gives every combination as a
pytest parameter; the default suite runs a pairwise cover of them (every value of each axis meets
every value of every other axis at least once), and the rest carry the ``matrix`` marker, run by
``make test-matrix`` (in CI).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest


def _pairs(combo: tuple[int, ...]) -> set[tuple[int, int, int, int]]:
    """The (axis, value, axis, value) pairs of one combination of value indices."""
    return {(i, combo[i], j, combo[j]) for i, j in itertools.combinations(range(len(combo)), 2)}


def pairwise(*axes: Sequence[Any]) -> list[tuple[Any, ...]]:
    """A subset of ``itertools.product(*axes)`` in which every pair of values of any two axes
    appears, in the product's order (greedy: each pick covers the most uncovered pairs, the
    earliest on ties, so the result is the same on every machine). One axis: all of its values."""
    index = list(itertools.product(*[range(len(a)) for a in axes]))
    if len(axes) < 2:
        return [tuple(a[k] for a, k in zip(axes, c, strict=True)) for c in index]
    uncovered = set().union(*(_pairs(c) for c in index))
    chosen: set[tuple[int, ...]] = set()
    while uncovered:
        best = max(index, key=lambda c: len(_pairs(c) & uncovered))  # max keeps the first
        chosen.add(best)
        uncovered -= _pairs(best)
    return [tuple(a[k] for a, k in zip(axes, c, strict=True)) for c in index if c in chosen]


def variant_matrix(*axes: Sequence[Any], each: Sequence[Any] = (None,)) -> list[Any]:
    """Every combination of ``axes`` as a ``pytest.param``; those outside :func:`pairwise`'s cover
    marked ``matrix``. ``each``: values of a runtime setting (one that compiles no variant of its
    own) crossed with every combination as a last parameter, all of them run where the combination
    is (the default ``(None,)`` adds none)."""
    cover = pairwise(*axes)
    return [
        pytest.param(*combo, *extra, marks=() if combo in cover else pytest.mark.matrix)
        for combo in itertools.product(*axes)
        for extra in ([] if e is None else [e] for e in each)
    ]
