"""STDP against the closed-form pair rule, a hand-computed triplet case, and the simulator."""

import math

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.errors import UserError
from spikeflow.plasticity import STDP

DT = 0.5


def _trains(steps_by_neuron, T):
    x = torch.zeros(T, 1, len(steps_by_neuron), dtype=torch.float64)
    for n, steps in enumerate(steps_by_neuron):
        x[list(steps), 0, n] = 1.0
    return x


def _pair_rule(pre_steps, post_steps, rule, dt):
    dw = 0.0
    for tp in pre_steps:
        for tq in post_steps:
            lag = (tq - tp) * dt
            if lag > 0:
                dw += rule.a_plus * math.exp(-lag / rule.tau_plus)
            elif lag < 0:
                dw -= rule.a_minus * math.exp(lag / rule.tau_minus)
    return dw


def test_pair_rule_matches_closed_form_for_spike_pairs():
    rule = STDP(tau_plus=16.8, tau_minus=33.7, a_plus=0.01, a_minus=0.007, w_min=-10, w_max=10)
    gen = np.random.default_rng(0)
    T = 400
    pre_steps = [sorted(gen.choice(T, 12, replace=False)) for _ in range(3)]
    post_steps = [sorted(gen.choice(T, 9, replace=False)) for _ in range(2)]
    w0 = torch.zeros(2, 3, dtype=torch.float64)
    w, _ = rule.run(w0, _trains(pre_steps, T), _trains(post_steps, T), DT)
    expected = [[_pair_rule(p, q, rule, DT) for p in pre_steps] for q in post_steps]
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_single_pairs_and_simultaneous_spikes():
    rule = STDP(a_plus=0.1, a_minus=0.2, w_min=-1, w_max=1)
    T = 50
    for pre, post, expected in [
        (10, 14, 0.1 * math.exp(-4 * DT / 20.0)),
        (14, 10, -0.2 * math.exp(-4 * DT / 20.0)),
        (12, 12, 0.0),
    ]:
        w, _ = rule.run(
            torch.zeros(1, 1, dtype=torch.float64), _trains([[pre]], T), _trains([[post]], T), DT
        )
        assert float(w) == pytest.approx(expected, abs=1e-15)


def test_nearest_pairing_only_counts_the_latest_spike():
    T = 40
    pre = _trains([[5, 10]], T)
    post = _trains([[20]], T)
    for pairing, expected in [
        ("all", 0.1 * (math.exp(-15 * DT / 20) + math.exp(-10 * DT / 20))),
        ("nearest", 0.1 * math.exp(-10 * DT / 20)),
    ]:
        rule = STDP(a_plus=0.1, a_minus=0.0, pairing=pairing, w_min=-1, w_max=1)
        w, _ = rule.run(torch.zeros(1, 1, dtype=torch.float64), pre, post, DT)
        assert float(w) == pytest.approx(expected, rel=1e-12)


def test_triplet_term_by_hand():
    # post at 0 and 8, pre at 4: depression at 4 uses y1(4); potentiation at 8 uses x1 and y2(8-)
    rule = STDP(a_plus=0.0, a3_plus=0.3, a_minus=0.05, a3_minus=0.0, tau_y=40.0, w_min=-1, w_max=1)
    T = 12
    w, _ = rule.run(
        torch.zeros(1, 1, dtype=torch.float64), _trains([[4]], T), _trains([[0, 8]], T), DT
    )
    dep = 0.05 * math.exp(-4 * DT / 20.0)
    pot = math.exp(-4 * DT / 20.0) * 0.3 * math.exp(-8 * DT / 40.0)
    assert float(w) == pytest.approx(pot - dep, rel=1e-12)


def test_multiplicative_soft_bounds_and_clipping():
    rule = STDP(a_plus=0.5, a_minus=0.5, mode="multiplicative", w_min=0.0, w_max=1.0)
    T = 30
    w0 = torch.full((1, 1), 0.8, dtype=torch.float64)
    w, _ = rule.run(w0, _trains([[10]], T), _trains([[12]], T), DT)
    assert float(w) == pytest.approx(0.8 + 0.5 * math.exp(-2 * DT / 20) * 0.2, rel=1e-12)
    hard = STDP(a_plus=5.0, a_minus=0.0, w_max=1.0)
    w, _ = hard.run(w0, _trains([[10]], T), _trains([[12]], T), DT)
    assert float(w) == 1.0


def _engine_weights(rule, pre_steps, post_steps, n_pre, n_post, w0, T):
    """Force post spikes with a strong delta synapse one step earlier; learn pre -> post."""
    idx = [n for n, s in enumerate(pre_steps) for _ in s]
    pre = sim.SpikeGeneratorGroup(n_pre, idx, [t * DT for s in pre_steps for t in s], name="pre")
    drive_idx = [n for n, s in enumerate(post_steps) for _ in s]
    driver = sim.SpikeGeneratorGroup(
        n_post, drive_idx, [(t - 1) * DT for s in post_steps for t in s], name="drv"
    )
    post = sim.LIFGroup(n_post, tau_m=20.0, v_rest=-65.0, v_th=-50.0, v_reset=-65.0, name="post")
    force = sim.Synapses(driver, post, target="v", rule="one_to_one", weight=100.0)
    plastic = sim.Synapses(pre, post, target="e", rule="all", weight=w0, stdp=rule)
    mon = sim.SpikeMonitor(post)
    net = sim.Network(pre, driver, post, force, plastic, mon, dt=DT)
    net.run(T * DT)
    got = sorted(zip(mon.i.tolist(), mon.steps.tolist(), strict=True))
    want = sorted((n, t) for n, s in enumerate(post_steps) for t in s)
    assert got == want  # the post spikes landed where intended
    w = np.zeros((n_post, n_pre))
    p, q = net.connectivity(plastic)
    w[q, p] = net.weights(plastic)[0]
    return w


@pytest.mark.parametrize("pairing", ["all", "nearest"])
@pytest.mark.parametrize("mode", ["additive", "multiplicative"])
def test_simulator_applies_the_same_rule_as_the_tensor_version(pairing, mode):
    rule = STDP(a_plus=0.02, a_minus=0.03, a3_plus=0.01, a3_minus=0.004, mode=mode, pairing=pairing)
    T = 300
    gen = np.random.default_rng(1)
    pre_steps = [sorted(gen.choice(np.arange(2, T), 15, replace=False)) for _ in range(4)]
    post_steps = [sorted(gen.choice(np.arange(2, T, 40), 4, replace=False)) for _ in range(3)]
    w0 = gen.uniform(0.3, 0.7, size=12)
    w_sim = _engine_weights(rule, pre_steps, post_steps, 4, 3, w0, T)
    w_init = torch.tensor(w0.reshape(4, 3).T, dtype=torch.float64)
    w_t, _ = rule.run(w_init, _trains(pre_steps, T), _trains(post_steps, T), DT)
    assert not np.allclose(w_sim, w_init.numpy())
    np.testing.assert_allclose(w_sim, w_t.numpy(), rtol=1e-12, atol=1e-14)


def test_stdp_errors():
    with pytest.raises(UserError, match="tau_plus"):
        STDP(tau_plus=0.0)
    with pytest.raises(UserError, match="a_minus"):
        STDP(a_minus=-1.0)
    with pytest.raises(UserError, match="w_max"):
        STDP(w_min=1.0, w_max=1.0)
    with pytest.raises(UserError, match="mode='hebbian'"):
        STDP(mode="hebbian")
    with pytest.raises(UserError, match="expected \\[N_post, N_pre\\]"):
        STDP().run(torch.zeros(3, 3), torch.zeros(5, 1, 2), torch.zeros(5, 1, 3), 1.0)
    with pytest.raises(UserError, match="equal T and B"):
        STDP().run(torch.zeros(3, 2), torch.zeros(5, 1, 2), torch.zeros(4, 1, 3), 1.0)
