"""The PyTorch engine (``Network(device=...)``) against the numba engine, on CPU tensors.

With deterministic inputs both engines must give the same spikes (step, copy and neuron) and the
same state traces (to float64 rounding) for every group kind, delays, ``v`` targets, batch copies
with their own parameters, time-varying drives and successive runs. Poisson groups use torch's
generator, so only their statistics are compared.
"""

import json

import numpy as np
import pytest
import torch

from spikeflow import sim
from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.plasticity import STDP

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


def test_plastic_synapses_and_bad_devices_are_clear_errors():
    inp = sim.SpikeGeneratorGroup(3, [0], [1.0])
    out = sim.LIFGroup(2)
    syn = sim.Synapses(inp, out, target="e", rule="all", stdp=STDP())
    net = sim.Network(inp, out, syn, device="cpu-torch")
    with pytest.raises(UserError, match=r"plastic synapses run on the CPU engine only"):
        net.run(1.0)
    with pytest.raises(UserError, match="device='nonsense'"):
        sim.Network(inp, out, device="nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match=r"torch\.cuda\.is_available"):
            sim.Network(inp, out, device="cuda")
    net = sim.Network(inp, out, sim.Synapses(inp, out, target="e", rule="all"))
    net.run(1.0)
    with pytest.raises(UserError, match="after its first run"):
        net.set_device("cpu-torch")


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
