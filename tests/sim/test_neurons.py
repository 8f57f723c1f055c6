"""Analytic checks of the simulator's neuron groups (units: ms, mV)."""

import math

import numpy as np
import pytest

from spikeflow import sim

DT = 0.1


def _trace(group, var="v", steps=200, **net_kw):
    mon = sim.StateMonitor(group, var)
    spikes = sim.SpikeMonitor(group)
    net = sim.Network(group, mon, spikes, dt=net_kw.pop("dt", DT), **net_kw)
    net.run(steps * net.dt)
    return mon, spikes, net


def test_lif_membrane_under_constant_current_is_exact():
    # v_inf = -65 + 15 = -50 < v_th: no spike; v(t) = v_inf + (v0 - v_inf) exp(-t / tau)
    g = sim.LIFGroup(1, tau_m=20.0, v_rest=-65.0, v_th=-40.0, current=15.0)
    mon, spikes, _ = _trace(g, steps=300)
    t = (np.arange(300) + 1) * DT  # the row of step k holds v after k + 1 integrations
    expected = -50.0 + (-65.0 + 50.0) * np.exp(-t / 20.0)
    np.testing.assert_allclose(mon.values[:, 0, 0], expected, rtol=0, atol=1e-11)
    assert spikes.i.size == 0


def test_lif_firing_rate_matches_the_analytic_period():
    tau, v_rest, v_th, v_reset, cur, t_ref = 20.0, -65.0, -50.0, -65.0, 20.0, 2.0
    g = sim.LIFGroup(
        1, tau_m=tau, v_rest=v_rest, v_th=v_th, v_reset=v_reset, refractory=t_ref, current=cur
    )
    _, spikes, _ = _trace(g, steps=20_000)
    v_inf = v_rest + cur
    t_up = tau * math.log((v_inf - v_reset) / (v_inf - v_th))  # continuous time to threshold
    period_steps = math.ceil(t_up / DT) + round(t_ref / DT)  # first step at or above threshold
    isi = np.diff(spikes.steps)
    assert np.all(isi == period_steps)
    rate = 1000.0 / (period_steps * DT)
    continuous = 1000.0 / (t_up + t_ref)
    assert abs(rate - continuous) / continuous < 0.01


def test_refractory_neuron_holds_reset_for_exactly_the_period():
    g = sim.LIFGroup(
        1, tau_m=10.0, v_rest=-40.0, v_th=-50.0, v_reset=-70.0, refractory=1.0, v_init=-50.0
    )
    mon, spikes, _ = _trace(g, steps=40)
    first = spikes.steps[0]
    assert first == 0
    held = mon.values[first : first + 11, 0, 0]
    np.testing.assert_array_equal(held, -70.0)  # the spike step and the 10 refractory steps
    assert mon.values[first + 11, 0, 0] > -70.0


def test_conductance_lif_with_constant_conductance_is_exact():
    # a channel with an (effectively) infinite time constant holds g = 1: tau_eff = tau / 2
    g = sim.LIFGroup(
        1,
        tau_m=20.0,
        v_rest=-60.0,
        v_th=0.0,
        v_reset=-70.0,
        synapse="conductance",
        tau_syn={"e": 1e15},
        e_rev={"e": -20.0},
        g_init={"e": 1.0},
    )
    mon, _, _ = _trace(g, steps=100)
    t = (np.arange(100) + 1) * DT
    expected = -40.0 + (-60.0 + 40.0) * np.exp(-t * 2.0 / 20.0)
    np.testing.assert_allclose(mon.values[:, 0, 0], expected, atol=1e-9)


def test_adaptive_threshold_jumps_and_decays():
    g = sim.AdaptiveLIFGroup(
        1, tau_m=10.0, v_rest=-40.0, v_th=-50.0, v_reset=-70.0, tau_a=50.0, b=2.0
    )
    mon, spikes, _ = _trace(g, var="theta", steps=50)
    k = spikes.steps[0]
    assert mon.values[k, 0, 0] == pytest.approx(2.0)
    np.testing.assert_allclose(mon.values[k + 5, 0, 0], 2.0 * math.exp(-5 * DT / 50.0), rtol=1e-12)


def test_izhikevich_follows_forward_euler_of_the_published_equations():
    g = sim.IzhikevichGroup(1, preset="regular_spiking", current=10.0, tau_syn={})
    mon, spikes, _ = _trace(g, steps=2000, dt=0.5)
    a, b, c, d = sim.IZHIKEVICH_PRESETS["regular_spiking"]
    v, u, ref = -65.0, b * -65.0, []
    for _ in range(2000):
        v_new = v + 0.5 * (0.04 * v * v + 5 * v + 140 - u + 10.0)
        u = u + 0.5 * a * (b * v - u)
        if v_new >= 30.0:
            v_new, u = c, u + d
        v = v_new
        ref.append(v)
    np.testing.assert_allclose(mon.values[:, 0, 0], ref, rtol=1e-12)
    isi = np.diff(spikes.t)
    assert spikes.i.size > 5 and isi[-1] > isi[0]  # regular spiking adapts: intervals lengthen


@pytest.mark.parametrize("synapse", ["current", "conductance"])
def test_uniform_two_channel_fast_path_equals_the_general_update(synapse):
    """Uniform parameters with two channels take a specialised loop (CUBA, COBA); it must give
    the general update's spikes and states bit for bit (both run here on the same arrays)."""
    from spikeflow.sim.layout import KIND_LIF, KIND_LIF_COND, S_G0
    from spikeflow.sim.neuron_kernels import _lif, _lif_uniform2

    n, kind = 300, KIND_LIF if synapse == "current" else KIND_LIF_COND
    extra = {"e_rev": {"e": 0.0, "i": -80.0}} if synapse == "conductance" else {}
    g = sim.LIFGroup(
        n, tau_m=20.0, v_rest=-49.0, v_th=-50.0, v_reset=-60.0, refractory=2.0, synapse=synapse,
        tau_syn={"e": 5.0, "i": 10.0}, v_init=sim.Uniform(-60.0, -50.0), **extra,
    )  # fmt: skip
    net = sim.Network(g, dt=0.1, batch=2, seed=3)
    net.run(0.1)
    drv = np.zeros(1)
    outs = []
    for fast in (True, False):
        X, ref = net.engine_state.X.copy(), net.engine_state.ref.copy()
        spiked, nspk = np.zeros((2, n), dtype=np.int64), np.zeros(2, dtype=np.int64)
        kicks = np.random.default_rng(1)
        record = []
        for _ in range(400):
            X[S_G0 : S_G0 + 2] += kicks.exponential(0.3, size=X[S_G0 : S_G0 + 2].shape)
            nspk[:] = 0
            for b in range(2):
                nrn = net.compiled.neurons
                channels = nrn.ch_decay, nrn.ch_coupling, nrn.ch_erev
                args = (kind, net.dt, nrn.params, X, ref, nrn.ref_steps, *channels, drv)
                if fast:
                    _lif_uniform2(*args, 0, n, b, spiked, nspk)
                else:
                    _lif(*args, 2, 0, n, b, 0, 0, False, spiked, nspk)
            record.append([sorted(spiked[b, : nspk[b]]) for b in range(2)])
        outs.append((X, ref, record))
    assert sum(len(r[0]) + len(r[1]) for r in outs[0][2]) > 50  # the neurons do fire
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert outs[0][2] == outs[1][2]
