"""Homeostasis, weight normalisation, winner-take-all and reward-modulated STDP."""

import math

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.errors import UserError
from spikeflow.plasticity import (
    STDP,
    adaptive_threshold,
    lateral_inhibition,
    normalize_incoming,
    normalize_weights,
    reward_stdp,
    winner_take_all,
)


def test_adaptive_threshold_closed_form():
    s = torch.zeros(10, 1, 2)
    s[2, 0, 0] = s[5, 0, 0] = 1.0
    theta = adaptive_threshold(s, tau=10.0, b=0.5, dt=1.0, theta0=torch.tensor([1.0, 2.0]))
    d = math.exp(-0.1)
    t = torch.arange(10, dtype=torch.float64)
    expected0 = d ** (t + 1) + 0.5 * d ** (t - 2) * (t >= 2) + 0.5 * d ** (t - 5) * (t >= 5)
    np.testing.assert_allclose(theta[:, 0, 0].numpy(), expected0.numpy(), rtol=1e-6)
    np.testing.assert_allclose(theta[:, 0, 1].numpy(), (2.0 * d ** (t + 1)).numpy(), rtol=1e-6)
    with pytest.raises(UserError, match="tau"):
        adaptive_threshold(s, tau=-1.0, b=0.5, dt=1.0)
    with pytest.raises(UserError, match="\\[T, B, N\\]"):
        adaptive_threshold(s[0], tau=1.0, b=0.5, dt=1.0)


def test_normalize_weights_rows_and_zero_rows():
    w = torch.tensor([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]])
    out = normalize_weights(w, 2.0)
    np.testing.assert_allclose(out.numpy(), [[0.5, 1.5], [0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(UserError, match="total"):
        normalize_weights(w, 0.0)


def test_normalize_incoming_in_the_simulator():
    a, b = sim.LIFGroup(5, name="a"), sim.LIFGroup(3, name="b")
    syn = sim.Synapses(a, b, target="e", rule="all", weight=sim.Uniform(0.1, 1.0))
    net = sim.Network(a, b, syn, batch=2, seed=4)
    normalize_incoming(net, syn, 7.0)
    _, post = net.connectivity(syn)
    w = net.weights(syn)
    for copy in range(2):
        np.testing.assert_allclose(np.bincount(post, weights=w[copy]), 7.0)


def test_winner_take_all_keeps_the_highest_spiking_neurons():
    spikes = torch.tensor([[1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    v = torch.tensor([[0.2, 0.9, 5.0, 0.5], [1.0, 2.0, 3.0, 4.0]])
    out = winner_take_all(spikes, v)
    np.testing.assert_array_equal(out.numpy(), [[0, 1, 0, 0], [0, 0, 0, 0]])
    out2 = winner_take_all(spikes, v, k=2)
    np.testing.assert_array_equal(out2.numpy(), [[0, 1, 0, 1], [0, 0, 0, 0]])
    with pytest.raises(UserError, match="same shape"):
        winner_take_all(spikes, v[:1])
    with pytest.raises(UserError, match="k=0"):
        winner_take_all(spikes, v, k=0)


def test_lateral_inhibition_matrix():
    w = lateral_inhibition(3, 2.0)
    np.testing.assert_array_equal(w.numpy(), [[0, -2, -2], [-2, 0, -2], [-2, -2, 0]])


def test_reward_stdp_needs_reward_and_uses_the_eligibility_trace():
    rule = STDP(a_plus=0.1, a_minus=0.0, w_min=-5, w_max=5)
    T = 40
    pre = torch.zeros(T, 1, 1, dtype=torch.float64)
    post = torch.zeros(T, 1, 1, dtype=torch.float64)
    pre[5], post[10] = 1.0, 1.0
    w0 = torch.zeros(1, 1, dtype=torch.float64)
    no_reward, _ = reward_stdp(rule, w0, pre, post, torch.zeros(T), 1.0, tau_e=100.0)
    assert float(no_reward) == 0.0
    r = torch.zeros(T)
    r[30] = 2.0
    w, state = reward_stdp(rule, w0, pre, post, r, 1.0, tau_e=100.0, lr=0.5)
    e_at_30 = 0.1 * math.exp(-5 / 20.0) * math.exp(-20 / 100.0)
    assert float(w) == pytest.approx(0.5 * 2.0 * e_at_30, rel=1e-6)
    assert float(state.eligibility) == pytest.approx(e_at_30 * math.exp(-9 / 100.0), rel=1e-6)
    with pytest.raises(UserError, match="reward has shape"):
        reward_stdp(rule, w0, pre, post, torch.zeros(3), 1.0)
