"""Every public constructor's numeric arguments, fed NaN, infinities, zero, negatives and huge
values: the only outcomes allowed are a working object or a one-line UserError (no other
exception, no silent NaN)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikeflow as sf
from spikeflow import loss, surrogate
from spikeflow.data import events as ev
from spikeflow.encode import latency, rate
from spikeflow.errors import UserError

HOSTILE = st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.0, -1.0, -1e30, 1e30])
NUMBERS = st.one_of(HOSTILE, st.floats(-10, 10, allow_nan=False))
SETTINGS = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

x = torch.rand(3, 2, 4)
events = ev.make_events([1, 2, 3], [0, 1, 2], [0, 5, 9], [0, 1, 0])
rng = np.random.default_rng(0)

CALLS = {
    "LIF.beta": lambda v: sf.nn.LIF(beta=v)(x),
    "LIF.tau": lambda v: sf.nn.LIF(tau=v, dt=1e-3)(x),
    "LIF.dt": lambda v: sf.nn.LIF(tau=2e-2, dt=v)(x),
    "LIF.threshold": lambda v: sf.nn.LIF(threshold=v)(x),
    "LIF.v_reset": lambda v: sf.nn.LIF(reset="zero", v_reset=v)(x),
    "IF.threshold": lambda v: sf.nn.IF(threshold=v)(x),
    "Synaptic.alpha": lambda v: sf.nn.Synaptic(alpha=v)(x),
    "ALIF.rho": lambda v: sf.nn.ALIF(rho=v)(x),
    "ALIF.beta_a": lambda v: sf.nn.ALIF(beta_a=v)(x),
    "surrogate.alpha": lambda v: surrogate.get("atan", alpha=v),
    "rate.gain": lambda v: rate(torch.rand(2, 3), 4, gain=v),
    "latency.threshold": lambda v: latency(torch.rand(2, 3), 4, threshold=v),
    "loss.count_mse": lambda v: loss.count_mse(x, x, torch.tensor([0, 1]), correct_rate=v),
    "loss.first_spike_ce": lambda v: loss.first_spike_ce(x, x, torch.tensor([0, 1]), tau=v),
    "loss.rate_l2": lambda v: loss.rate_l2([x.mean(0)], v),
    "events.time_jitter": lambda v: ev.time_jitter(events, v, rng),
    "events.drop_events": lambda v: ev.drop_events(events, v, rng),
    "events.make_events": lambda v: ev.make_events([v, 1.0], [0, 1], [0, 1], [0, 1]),
    "sim.LIFGroup.tau_m": lambda v: sf.sim.LIFGroup(4, tau_m=v).build(1, rng, 0.1),
}


def _finite(result) -> bool:
    """No NaN or infinity in a tensor (or tuple of tensors) result."""
    if isinstance(result, torch.Tensor):
        return result.numel() == 0 or bool(torch.isfinite(result.float()).all())
    if isinstance(result, tuple):
        return all(_finite(r) for r in result)
    return True


@pytest.mark.parametrize("name", list(CALLS))
@SETTINGS
@given(value=NUMBERS)
def test_numeric_arguments_give_a_result_or_a_user_error(name, value):
    try:
        result = CALLS[name](value)
    except UserError as err:
        assert "\n" not in str(err)
        return
    assert _finite(result), f"{name}({value!r}) returned NaN or inf without an error"


@pytest.mark.parametrize("name", list(CALLS))
def test_every_call_works_on_an_ordinary_value(name):
    """So that the property above cannot pass by refusing everything."""
    value = 1.0 if name == "events.make_events" else 0.5
    assert _finite(CALLS[name](value))
