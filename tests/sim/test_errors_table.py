"""NaN and inf in every range check of the simulator and the plasticity rules (one table, one
line naming the argument), the untested refusals, and the small public pieces no test runs."""

import math

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.errors import UserError
from spikeflow.plasticity import (
    STDP,
    RewardSTDP,
    adaptive_threshold,
    lateral_inhibition,
    normalize_weights,
)
from spikeflow.sim import compact, layout, models
from spikeflow.sim.microcircuit import derive
from spikeflow.sim.microcircuit_run import simulate_microcircuit
from spikeflow.sim.spike_stats import synchrony

NAN, INF = float("nan"), float("inf")


def _syn(**kwargs) -> sim.Synapses:
    return sim.Synapses(sim.LIFGroup(2, name="a"), sim.LIFGroup(2, name="b"), target="e", **kwargs)


CASES = [
    # the simulator
    (lambda: _syn(p=NAN), "p=nan is not valid"),
    (lambda: _syn(p=INF), "p=inf is not valid"),
    (lambda: sim.TimedArray(np.ones((2, 3)), step=NAN), "TimedArray.step=nan is not valid"),
    (lambda: sim.TimedArray(np.ones((2, 3)), step=INF), "TimedArray.step=inf is not valid"),
    (lambda: sim.Network(sim.LIFGroup(2), dt=INF).run(1.0), "dt=inf is not valid"),
    (lambda: sim.Network(sim.LIFGroup(2)).run(NAN), "duration=nan is not valid"),
    (lambda: models.simulate("cuba", 100, duration_ms=10.0, dt=INF), "dt=inf is not valid"),
    (lambda: derive(NAN), "scale=nan is not valid"),
    (lambda: derive(INF), "scale=inf is not valid"),
    (lambda: derive(0.1, k_scale=NAN), "k_scale=nan is not valid"),
    (lambda: derive(0.1, dt=INF), "dt=inf is not valid"),
    (lambda: derive(0.1, dt=2.0), "dt=2.0 is out of range"),
    (lambda: simulate_microcircuit(0.01, NAN, "unused"), "duration=nan is not valid"),
    (lambda: simulate_microcircuit(0.01, INF, "unused"), "duration=inf is not valid"),
    (lambda: simulate_microcircuit(0.01, 0.25, "unused"), "duration=0.25 ms is not a whole number"),
    (
        lambda: simulate_microcircuit(0.01, 10.0, "unused", transient_ms=NAN),
        "transient=nan is not valid",
    ),
    (
        lambda: simulate_microcircuit(0.01, 10.0, "unused", transient_ms=10.0),
        "transient=10.0 is out of range",
    ),
    (
        lambda: compact.delay_steps(np.array([1.0, 1e5]), 0.1),
        "a delay of 100000 ms is 1000000 steps of dt=0.1 ms",
    ),
    # the plasticity rules
    (lambda: STDP(tau_plus=NAN), "tau_plus=nan is not valid"),
    (lambda: STDP(tau_minus=INF), "tau_minus=inf is not valid"),
    (lambda: STDP(a_plus=INF), "a_plus=inf is not valid"),
    (lambda: STDP(a3_minus=NAN), "a3_minus=nan is not valid"),
    (lambda: STDP().decays(INF), "dt=inf is not valid"),
    (lambda: STDP().engine_params(NAN), "dt=nan is not valid"),
    (lambda: RewardSTDP(STDP(), tau_e=NAN), "tau_e=nan is not valid"),
    (lambda: RewardSTDP(STDP(), tau_e=0.0), "tau_e=0.0 is out of range"),
    (lambda: RewardSTDP(STDP(), lr=INF), "lr=inf is not valid"),
    (lambda: RewardSTDP(STDP(), tau_d=NAN), "tau_d=nan is not valid"),
    (lambda: RewardSTDP(STDP()).engine_params(INF), "dt=inf is not valid"),
    (lambda: RewardSTDP(STDP(mode="multiplicative")), "rule.mode='multiplicative' is not valid"),
    (lambda: RewardSTDP("stdp"), "rule='stdp' is not valid"),
    (lambda: normalize_weights(torch.ones(2, 3), NAN), "total=nan is not valid"),
    (lambda: normalize_weights(torch.ones(2, 3), INF), "total=inf is not valid"),
    (lambda: adaptive_threshold(torch.zeros(2, 1, 3), NAN, 0.1, 1.0), "tau=nan is not valid"),
    (lambda: adaptive_threshold(torch.zeros(2, 1, 3), 10.0, INF, 1.0), "b=inf is not valid"),
    (lambda: adaptive_threshold(torch.zeros(2, 1, 3), 10.0, 0.1, NAN), "dt=nan is not valid"),
    (lambda: adaptive_threshold(torch.zeros(2, 3), 10.0, 0.1, 1.0), "spikes has shape (2, 3)"),
    (lambda: lateral_inhibition(3, NAN), "strength=nan is not valid"),
    (lambda: lateral_inhibition(3, INF), "strength=inf is not valid"),
]


@pytest.mark.parametrize(("call", "words"), CASES)
def test_simulator_refuses(call, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the checkout
    with pytest.raises(UserError) as err:
        call()
    assert words in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "unused").exists()


def test_an_infinite_eligibility_time_constant_never_decays():
    """The docstring's ``tau_e=inf`` (refused before: check_range turned it away as non-finite)."""
    rule = RewardSTDP(STDP(), tau_e=INF, lr=0.5)
    row = rule.engine_params(0.1)
    assert row[layout.RP_DECAY_E] == 1.0 and row[layout.RP_LR] == 0.5
    assert row[layout.RP_DECAY_D] == 1.0  # tau_d=None holds the reward level


def test_stdp_engine_params_are_the_per_step_decays_and_amplitudes():
    row = STDP(tau_plus=10.0, a_plus=0.02, w_max=2.0, pairing="nearest").engine_params(0.5)
    assert row[layout.SP_DX1] == pytest.approx(math.exp(-0.05))
    assert row[layout.SP_A2P] == 0.02 and row[layout.SP_WMAX] == 2.0
    assert row[layout.SP_NEAREST] == 1.0 and row[layout.SP_MULT] == 0.0


def test_synchrony_of_fewer_than_two_bins_is_nan():
    assert math.isnan(synchrony(np.array([1, 2]), 0.1, 0.0, 5.0, bin_ms=3.0))
    # two bins of 3 ms: counts [2, 0] -> variance 1 / mean 1
    assert synchrony(np.array([1, 2]), 0.1, 0.0, 6.0, bin_ms=3.0) == pytest.approx(1.0)


def test_monitor_times_are_steps_times_dt():
    g = sim.LIFGroup(2, name="g")
    state, rate = sim.StateMonitor(g, "v", every=2), sim.PopulationRateMonitor(g)
    net = sim.Network(g, state, rate, dt=0.5)
    net.run(2.0)
    assert state.t.tolist() == [0.0, 1.0]
    assert rate.t.tolist() == [0.0, 0.5, 1.0, 1.5]
