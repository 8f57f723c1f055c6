"""Property tests: for random models, shapes and inputs the CPU kernel equals the reference scan."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .kernel_cases import KINDS, compare, make_model, random_state

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@SETTINGS
@given(
    kind=st.sampled_from(KINDS),
    reset=st.sampled_from(["subtract", "zero", "none"]),
    refractory=st.integers(0, 3),
    detach=st.booleans(),
    t_len=st.integers(1, 9),
    batch=st.integers(1, 3),
    n=st.integers(1, 6),
    threshold=st.floats(0.2, 2.0),
    scale=st.floats(0.1, 3.0),
    seed=st.integers(0, 2**16),
)
def test_cpu_kernel_equals_reference(
    kind, reset, refractory, detach, t_len, batch, n, threshold, scale, seed
):
    model = make_model(
        kind, reset=reset, refractory=refractory, detach_reset=detach, threshold=threshold
    )
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(t_len, batch, n, generator=gen) * scale).requires_grad_()
    compare(kind, model, x, random_state(model, x[0]), "cpu")


@SETTINGS
@given(
    beta=st.floats(0.0, 1.0),
    t_len=st.integers(1, 12),
    value=st.floats(-2.0, 4.0),
)
def test_constant_input_spike_count_is_exact(beta, t_len, value):
    """Spikes are decided with the reference's float operations, even at the threshold edge."""
    model = make_model("lif", learn=False, backend="cpu")
    model.beta.fill_(beta)
    x = torch.full((t_len, 1, 2), value)
    fused, _ = model(x)
    model.backend = "reference"
    ref, _ = model(x)
    assert torch.equal(fused, ref)
