"""The PyTorch engine (``Network(device=...)``) against the numba engine, on CPU tensors.

With deterministic inputs both engines must give the same spikes (step, copy and neuron) and the
same state traces (to float64 rounding) for every group kind, delays, ``v`` targets, batch copies
with their own parameters, time-varying drives and successive runs, and the same STDP weights
and traces (to 1e-12). Poisson groups use torch's generator, so only their statistics are
compared.
"""

import json

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.plasticity import STDP, RewardSTDP
from spikeflow.sim.torch_engine import torch_device

DEVICES = ["cpu-torch"] + (["cuda"] if torch.cuda.is_available() else [])


def _mixed(device, weight=0.75, delay=2, batch=2):
    """Every group kind driven by spike generators, currents and synapses, with every monitor."""
    rng = np.random.default_rng(5)
    idx = np.repeat(np.arange(20), 6)
    times = np.round(rng.uniform(0.0, 45.0, idx.size), 1)
    keep = np.unique(np.stack([idx, np.rint(times * 10)]), axis=1, return_index=True)[1]
    gen = sim.SpikeGeneratorGroup(20, idx[keep], times[keep], name="gen")
    tau_m = np.array([[20.0] * 10, [12.0] * 10])[:batch]
    lif = sim.LIFGroup(
        10, tau_m=tau_m, refractory=2.0, name="lif",
        current=sim.TimedArray(np.linspace(0.0, 16.0, 30).reshape(3, 10), 10.0),
    )  # fmt: skip
    cob = sim.LIFGroup(
        10, synapse="conductance", e_rev={"e": 0.0, "i": -80.0}, current=20.0, refractory=1.0,
        v_init=sim.Uniform(-65.0, -52.0), name="cob",
    )  # fmt: skip
    alif = sim.AdaptiveLIFGroup(10, tau_a=30.0, b=2.0, current=18.0, refractory=1.0, name="alif")
    izh = sim.IzhikevichGroup(10, current=np.array([[10.0] * 10, [6.0] * 10])[:batch], name="izh")
    syns = [
        sim.Synapses(gen, lif, target="e", rule="all", weight=weight, delay=delay),
        sim.Synapses(gen, cob, target="e", p=0.5, weight=0.25),
        sim.Synapses(gen, alif, target="v", p=0.3, weight=2.0, delay=1),
        sim.Synapses(gen, izh, target="e", p=0.3, weight=4.0, delay=3),
        sim.Synapses(lif, cob, target="i", p=0.3, weight=0.5),
        sim.Synapses(cob, izh, target="i", rule="one_to_one", weight=-2.0, delay=4),
    ]
    mons = [sim.SpikeMonitor(g) for g in (gen, lif, cob, alif, izh)] + [
        sim.StateMonitor(lif, "v", every=2),
        sim.StateMonitor(lif, "e", indices=[1, 7]),
        sim.StateMonitor(cob, "v"),
        sim.StateMonitor(cob, "i"),
        sim.StateMonitor(alif, "theta", indices=[0, 3]),
        sim.StateMonitor(izh, "u", every=3),
        sim.PopulationRateMonitor(lif),
        sim.PopulationRateMonitor(izh),
    ]
    net = sim.Network(gen, lif, cob, alif, izh, *syns, *mons, dt=0.1, batch=batch, seed=3,
                      device=device)  # fmt: skip
    return net, mons


def _assert_same(mons_a, mons_b, atol):
    fired = 0
    for a, b in zip(mons_a, mons_b, strict=True):
        if isinstance(a, sim.SpikeMonitor):
            for field in ("steps", "b", "i"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
            fired += a.i.size
        elif isinstance(a, sim.StateMonitor):
            np.testing.assert_array_equal(a.steps, b.steps)
            np.testing.assert_allclose(b.values, a.values, rtol=0, atol=atol)
        else:
            np.testing.assert_array_equal(a.steps, b.steps)
            np.testing.assert_array_equal(a.counts, b.counts)
    return fired


def _run_both(make, device, runs=(30.0, 25.5)):
    out = []
    for dev in (None, device):
        net, mons = make(dev)
        for duration in runs:
            net.run(duration)
        out.append((net, mons))
    return out


@pytest.mark.parametrize("device", DEVICES)
def test_every_group_kind_matches_numba(device):
    """Identical spikes; states to float64 rounding (torch's and numba's ``exp`` may differ in
    the last bit, which only conductance-based groups use per step)."""
    (na, ma), (nb, mb) = _run_both(_mixed, device)
    assert _assert_same(ma, mb, atol=1e-12) > 300
    for mon in ma[1:5]:  # every neuron group fires, in both copies
        assert set(mon.b) == {0, 1}
    for group in na.groups:
        for var in group.state_vars + group.channels:
            np.testing.assert_allclose(nb.state(group, var), na.state(group, var), atol=1e-12)
    assert nb.t_step == na.t_step == 555


def test_random_weights_and_delays_match_to_rounding():
    """Non-dyadic weights and one delay per synapse: sums in another order, same spikes."""
    delays = np.random.default_rng(0).integers(0, 6, 200)

    def make(device):
        return _mixed(device, weight=sim.Normal(0.65, 0.2), delay=delays)

    (_, ma), (_, mb) = _run_both(make, "cpu-torch")
    assert _assert_same(ma, mb, atol=1e-9) > 300


def test_rest_set_drive_and_set_state_between_runs():
    def make(device):
        return _mixed(device)

    nets = []
    for dev in (None, "cpu-torch"):
        net, mons = make(dev)
        net.run(12.3)  # spikes in flight in the delay buffers
        net.set_drive(net.groups[1], 9.0)
        net.set_state(net.groups[2], "v", -55.0)
        net.run(10.0)
        net.rest()
        net.run(20.0)
        nets.append((net, mons))
    assert _assert_same(nets[0][1], nets[1][1], atol=1e-12) > 100


def test_single_copy_and_groups_without_synapses():
    def make(device):
        lif = sim.LIFGroup(5, current=np.linspace(14.0, 30.0, 5), refractory=3.0, tau_syn={})
        izh = sim.IzhikevichGroup(5, preset="chattering", current=10.0, tau_syn={})
        mons = [sim.SpikeMonitor(lif), sim.SpikeMonitor(izh), sim.StateMonitor(izh, "v")]
        return sim.Network(lif, izh, *mons, dt=0.25, device=device), mons

    (_, ma), (_, mb) = _run_both(make, "cpu-torch", runs=(100.0,))
    assert _assert_same(ma, mb, atol=0.0) > 20  # no exp, no sums: bitwise equal


def test_poisson_rates_on_torch_engine():
    def run(seed):
        inp = sim.PoissonGroup(200, rates=np.array([[20.0] * 200, [80.0] * 200]), name="in")
        out = sim.LIFGroup(50, name="out")
        syn = sim.Synapses(inp, out, target="e", p=0.1, weight=1.0, delay=2)
        mons = sim.SpikeMonitor(inp), sim.PopulationRateMonitor(inp)
        net = sim.Network(inp, out, syn, *mons, dt=0.5, batch=2, seed=seed, device="cpu-torch")
        net.run(1000.0)
        return mons

    spikes, rate = run(1)
    counts = spikes.count(2)
    # 200 neurons x 1 s: the mean count's standard error is sqrt(rate / 200)
    assert abs(counts[0].mean() - 20.0) < 4 * np.sqrt(20.0 / 200)
    assert abs(counts[1].mean() - 80.0) < 4 * np.sqrt(80.0 / 200)
    np.testing.assert_allclose(rate.mean_rate(), counts.mean(1), rtol=1e-12)
    again = run(1)[0]
    np.testing.assert_array_equal(again.steps, spikes.steps)
    np.testing.assert_array_equal(again.i, spikes.i)
    assert not np.array_equal(run(2)[0].i[:200], spikes.i[:200])


def _plastic(device, batch=2):
    """Spike generators driving LIF groups through an additive pair rule (with delays), a
    multiplicative rule and, between the LIF groups, a triplet nearest-spike rule (Diehl & Cook's),
    next to a static projection; copies differ in their membrane time constants."""
    rng = np.random.default_rng(11)
    idx = np.repeat(np.arange(16), 12)
    steps = rng.integers(0, 600, idx.size)
    keep = np.unique(np.stack([idx, steps]), axis=1, return_index=True)[1]
    gen = sim.SpikeGeneratorGroup(16, idx[keep], steps[keep] * 0.1, name="gen")
    tau_m = np.array([[20.0] * 8, [13.0] * 8])[:batch]
    a = sim.LIFGroup(8, tau_m=tau_m, refractory=1.0, name="a")
    b = sim.LIFGroup(6, tau_m=tau_m[:, :6], refractory=0.5, name="b")
    pair = STDP(a_plus=0.3, a_minus=0.35, w_max=4.0)
    mult = STDP(a_plus=0.2, a_minus=0.25, w_min=0.5, w_max=3.5, mode="multiplicative")
    triplet = STDP(tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=125.0, a_plus=0.0,
                   a_minus=0.1, a3_plus=0.4, a3_minus=0.05, w_max=2.5, pairing="nearest")  # fmt: skip
    delays = np.random.default_rng(1).integers(0, 4, 16 * 8)
    syns = [
        sim.Synapses(
            gen, a, target="e", rule="all", weight=sim.Uniform(1.0, 3.5), delay=delays, stdp=pair
        ),
        sim.Synapses(gen, b, target="e", p=0.5, weight=2.0, delay=1, stdp=mult),
        sim.Synapses(a, b, target="e", rule="all", weight=sim.Uniform(0.5, 2.0), stdp=triplet),
        sim.Synapses(b, a, target="i", rule="all", weight=1.0, delay=2),
    ]
    mons = [sim.SpikeMonitor(g) for g in (gen, a, b)] + [sim.StateMonitor(b, "v")]
    net = sim.Network(gen, a, b, *syns, *mons, dt=0.1, batch=batch, seed=2, device=device)
    return net, mons


def _assert_same_plasticity(na, nb, atol=1e-12):
    """Weights of every projection and STDP traces of the two engines' networks agree."""
    for syn in na.synapses:
        np.testing.assert_allclose(nb.weights(syn), na.weights(syn), rtol=0, atol=atol)
    for tr in ("trX", "trY"):
        np.testing.assert_allclose(
            getattr(nb.engine_state, tr), getattr(na.engine_state, tr), rtol=0, atol=atol
        )


def test_stdp_matches_numba():
    """Pair (additive, all-to-all), multiplicative and triplet nearest-spike rules, with delays
    and two copies, over two runs: the same spikes, weights and traces as numba's (1e-12)."""
    (na, ma), (nb, mb) = _run_both(_plastic, "cpu-torch", runs=(35.0, 30.0))
    assert _assert_same(ma, mb, atol=1e-12) > 150
    for mon in ma[1:3]:
        assert set(mon.b) == {0, 1}
    _assert_same_plasticity(na, nb)
    fresh = _plastic(None)[0]  # the initial weights (built, not run)
    for syn, new in zip(na.synapses[:3], fresh.synapses[:3], strict=True):
        w, rule = na.weights(syn), syn.stdp
        assert np.abs(w - fresh.weights(new)).max() > 0.1  # every rule moved its weights
        assert w.min() == rule.w_min or w.max() == rule.w_max  # bounds reached: clipping ran
    assert 0.9 < na.engine_state.trX[2].max() <= 1.0  # nearest pairing: set to 1
    assert na.engine_state.trX[0].max() > 1.0  # all-to-all pairing: accumulates


def test_stdp_frozen_run_and_single_copy_match_numba():
    """A frozen run (``plastic=False``) keeps weights and traces and matches numba's
    ``run(plasticity=False)``; then a plastic run of one copy."""
    nets = []
    for dev in (None, "cpu-torch"):
        net = _plastic(dev, batch=1)[0]
        net.run(20.0)
        st = net.engine_state
        w0, x0, y0 = st.W.copy(), st.trX.copy(), st.trY.copy()
        net.run(15.0, plasticity=False)
        np.testing.assert_array_equal(st.W, w0)
        np.testing.assert_array_equal(st.trX, x0)
        np.testing.assert_array_equal(st.trY, y0)
        net.run(25.0)
        nets.append(net)
    np.testing.assert_allclose(nets[1].engine_state.X, nets[0].engine_state.X, rtol=0, atol=1e-12)
    _assert_same_plasticity(*nets)


def test_reward_stdp_and_bad_devices_are_clear_errors():
    inp = sim.SpikeGeneratorGroup(3, [0], [1.0])
    out = sim.LIFGroup(2)
    syn = sim.Synapses(inp, out, target="e", rule="all", stdp=RewardSTDP(STDP()))
    net = sim.Network(inp, out, syn, device="cpu-torch")
    with pytest.raises(UserError, match=r"reward-modulated synapses run on the CPU engine only"):
        net.run(1.0)
    with pytest.raises(UserError, match="device='nonsense'"):
        sim.Network(inp, out, device="nonsense")
    for bad in ("cuda:x", "cpu:0", "gpu"):
        with pytest.raises(UserError, match=f"device='{bad}' is not valid"):
            sim.Network(inp, out, device=bad)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU is visible"):
            sim.Network(inp, out, device="cuda")
    net = sim.Network(inp, out, sim.Synapses(inp, out, target="e", rule="all"))
    net.run(1.0)
    with pytest.raises(UserError, match="after its first run"):
        net.set_device("cpu-torch")


def test_device_names_are_the_shared_resolvers():
    """``"auto"`` is the PyTorch engine on CUDA where a GPU is visible, else the numba engine
    (``None``); ``"cuda:K"`` keeps its index; the names are those of ``spikeflow.device``."""
    gpu = torch.cuda.is_available()
    assert torch_device("auto") == (torch.device("cuda") if gpu else None)
    assert torch_device("cpu") is None and torch_device(None) is None
    assert torch_device("cpu-torch") == torch.device("cpu")
    if gpu:
        assert torch_device("cuda:0") == torch.device("cuda", 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_engine_matches_numba():
    (_, ma), (_, mb) = _run_both(_mixed, "cuda")
    # index_add_ sums in a non-deterministic order on CUDA: states to rounding
    assert _assert_same(ma, mb, atol=1e-9) > 300


def test_simulate_command_device_option(tmp_path):
    results = []
    for device in (None, "cpu-torch"):
        out = tmp_path / str(device)
        args = ["simulate", "coba", "--neurons", "200", "--duration", "30ms", "--out", str(out)]
        assert main(args + (["--device", device] if device else [])) == 0
        results.append(json.loads((out / "result.json").read_text()))
    assert results[0]["device"] == "cpu" and results[1]["device"] == "cpu-torch"
    assert results[1]["spikes"] > 0
    # a recurrent network: sums in another order may shift a spike late in the run
    assert abs(results[1]["spikes"] - results[0]["spikes"]) <= 0.05 * results[0]["spikes"]
