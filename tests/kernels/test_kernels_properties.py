"""Property tests: for random models, shapes and inputs the CPU kernel equals the reference scan."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeflow.errors import UserError

from .kernel_cases import (
    COVER,
    KINDS,
    NON_FINITE,
    compare,
    make_model,
    non_finite_input,
    random_state,
)

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@SETTINGS
@given(
    # the compiled variants of the default suite's pairwise cover (tests/variant_matrix.py): the
    # draws explore values and shapes, not new compilations
    variant=st.sampled_from(COVER),
    reset=st.sampled_from(["subtract", "zero", "none"]),
    refractory=st.integers(1, 3),
    t_len=st.integers(1, 9),
    batch=st.integers(1, 3),
    n=st.integers(1, 6),
    threshold=st.floats(0.2, 2.0),
    scale=st.floats(0.1, 3.0),
    seed=st.integers(0, 2**16),
)
def test_cpu_kernel_equals_reference(
    variant, reset, refractory, t_len, batch, n, threshold, scale, seed
):
    kind, refractory_period, detach, learn = variant
    model = make_model(
        kind,
        learn,
        reset=reset,
        refractory=refractory if refractory_period else 0,
        detach_reset=detach,
        threshold=threshold,
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


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("value", list(NON_FINITE))
@pytest.mark.parametrize("kind", KINDS)
def test_non_finite_input_is_refused_by_every_backend(kind, value, reset, backend):
    """The fused kernels and the reference order NaN-producing operations apart, so no backend
    returns spikes for an input that drives the state non-finite: each raises the same error."""
    model = make_model(kind, reset=reset, backend=backend)
    x = non_finite_input(NON_FINITE[value])
    with pytest.raises(UserError, match=r"^state\.\w+ became NaN or infinite"):
        model(x)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("kind", KINDS)
def test_finite_input_that_overflows_the_state_is_refused(kind, backend):
    model = make_model(kind, backend=backend)
    x = torch.full((6, 1, 2), 3e38)  # finite in float32, but beta v + x overflows to inf
    with pytest.raises(UserError, match=r"became NaN or infinite.*overflows torch\.float32"):
        model(x)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_non_finite_state_is_refused(backend):
    model = make_model("lif", backend=backend)
    state = model.initial_state(torch.zeros(2, 3))
    state.v[0, 0] = float("nan")
    with pytest.raises(UserError, match="became NaN or infinite"):
        model(torch.rand(4, 2, 3), state)
    with pytest.raises(UserError, match="became NaN or infinite"):
        model.step(torch.rand(2, 3), state)
    with pytest.raises(UserError, match="became NaN or infinite"):
        model.trace(torch.rand(4, 2, 3), state)


@pytest.mark.parametrize("value", list(NON_FINITE))
@pytest.mark.parametrize("kind", ["lif", "if", "alif"])
def test_non_finite_input_ignored_while_refractory_matches_exactly(kind, value):
    """Input is ignored during a refractory period, so a non-finite value there changes nothing:
    the fused kernel equals the reference, spikes, state and gradients."""
    model = make_model(kind, refractory=3, detach_reset=False)
    x = torch.zeros(5, 1, 2)
    x[0] = 5.0  # every neuron fires at step 0, so steps 1-3 are refractory
    x[2, 0, 1] = NON_FINITE[value]
    compare(kind, model, x.requires_grad_(), model.initial_state(x[0]), "cpu")
