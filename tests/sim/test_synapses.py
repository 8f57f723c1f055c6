"""Synapses: exponential decay, exact delays, connection rules, CSR layout."""

import math

import numpy as np
import pytest

from spikeflow import sim
from spikeflow.errors import UserError

DT = 0.1


def _one_spike_net(delay=0, weight=2.0, tau_e=5.0, target="e"):
    src = sim.SpikeGeneratorGroup(1, [0], [1.0])  # step 10
    dst = sim.LIFGroup(1, tau_m=20.0, v_rest=-65.0, v_th=-50.0, tau_syn={"e": tau_e}, name="dst")
    syn = sim.Synapses(src, dst, target=target, rule="all", weight=weight, delay=delay)
    mon_g = sim.StateMonitor(dst, "e")
    mon_v = sim.StateMonitor(dst, "v")
    net = sim.Network(src, dst, syn, mon_g, mon_v, dt=DT)
    net.run(10.0)
    return mon_g.values[:, 0, 0], mon_v.values[:, 0, 0]


def test_exponential_synapse_decay():
    g, _ = _one_spike_net()
    assert np.all(g[:10] == 0.0)
    k = np.arange(60)
    np.testing.assert_allclose(g[10:70], 2.0 * np.exp(-k * DT / 5.0), rtol=1e-12)


def test_current_synapse_drives_v_by_the_exact_alpha_difference_of_exponentials():
    _, v = _one_spike_net()
    t = (np.arange(1, 60)) * DT  # time since the arrival at the end of step 10
    tm, ts = 20.0, 5.0
    expected = -65.0 + 2.0 * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    np.testing.assert_allclose(v[11:70], expected, atol=1e-12)


@pytest.mark.parametrize("delay", [0, 1, 5, 17])
def test_spike_arrives_at_exactly_the_delayed_step(delay):
    g, _ = _one_spike_net(delay=delay)
    arrival = 10 + delay
    assert np.all(g[:arrival] == 0.0)
    assert g[arrival] == pytest.approx(2.0)


def test_delta_synapse_on_v():
    _, v = _one_spike_net(weight=3.0, target="v")
    assert v[9] == -65.0 and v[10] == pytest.approx(-62.0)
    np.testing.assert_allclose(v[11], -65.0 + 3.0 * math.exp(-DT / 20.0))


def test_connection_rules():
    a, b = sim.LIFGroup(30, name="a"), sim.LIFGroup(30, name="b")
    rng = np.random.default_rng(0)
    conn = sim.Synapses(a, b, target="e", rule="all_but_self").connectivity(rng)
    assert conn.pre.size == 30 * 29 and not np.any(conn.pre == conn.post)
    conn = sim.Synapses(a, b, target="e", rule="one_to_one").connectivity(rng)
    np.testing.assert_array_equal(conn.pre, conn.post)
    conn = sim.Synapses(a, b, target="e", in_degree=4).connectivity(rng)
    assert np.all(np.bincount(conn.post, minlength=30) == 4)
    assert len(set(zip(conn.pre.tolist(), conn.post.tolist(), strict=True))) == conn.pre.size
    big_a, big_b = sim.LIFGroup(400, name="x"), sim.LIFGroup(500, name="y")
    conn = sim.Synapses(big_a, big_b, target="e", p=0.1).connectivity(rng)
    assert abs(conn.pre.size / (400 * 500) - 0.1) < 0.005
    assert np.all(np.diff(conn.pre) >= 0)  # CSR order


def test_index_arrays_keep_their_weights():
    a, b = sim.LIFGroup(3, name="a"), sim.LIFGroup(3, name="b")
    syn = sim.Synapses(a, b, target="e", i=[2, 0, 1], j=[0, 1, 2], weight=np.array([5.0, 6.0, 7.0]))
    net = sim.Network(a, b, syn)
    pre, post = net.connectivity(syn)
    w = net.weights(syn)[0]
    assert dict(zip(zip(pre, post, strict=True), w, strict=True)) == {
        (2, 0): 5.0,
        (0, 1): 6.0,
        (1, 2): 7.0,
    }


def test_synapse_errors():
    a, b = sim.LIFGroup(3, name="a"), sim.LIFGroup(4, name="b")
    with pytest.raises(UserError, match="exactly one of"):
        sim.Synapses(a, b, target="e")
    with pytest.raises(UserError, match="target"):
        sim.Synapses(a, b, target="x", rule="all")
    with pytest.raises(UserError, match=r"p=1\.5"):
        sim.Synapses(a, b, target="e", p=1.5)
    with pytest.raises(UserError, match="equal size"):
        sim.Synapses(a, b, target="e", rule="one_to_one")
    with pytest.raises(UserError, match="j ranges"):
        sim.Synapses(a, b, target="e", i=[0], j=[9])
    with pytest.raises(UserError, match="in_degree=5 exceeds"):
        sim.Synapses(a, b, target="e", in_degree=5)
    syn = sim.Synapses(a, b, target="e", rule="all", delay=-1)
    with pytest.raises(UserError, match="non-negative integer"):
        sim.Network(a, b, syn).run(1.0)
