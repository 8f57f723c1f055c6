"""The numba CPU kernels against the reference scan on the extended cases: per-neuron settings of
every kind for every model, long sequences (T not a multiple of the 8-step backward chunk, several
chunks) and every surrogate in float64 with a refractory period."""

from __future__ import annotations

import pytest

from .kernel_cases import EXTENDED, compare, extended_case


@pytest.mark.parametrize(("kind", "t", "dtype", "options"), [c[1:] for c in EXTENDED],
                         ids=[c[0] for c in EXTENDED])  # fmt: skip
def test_cpu_kernel_matches_reference(kind, t, dtype, options):
    model, x, state = extended_case(kind, t, dtype, options)
    spikes = compare(kind, model, x, state, "cpu")
    assert 0 < spikes.sum() < spikes.numel()
