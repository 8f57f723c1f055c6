"""The simulator's adLIF group runs the neuron of ``sf.nn.AdLIF``: the same spikes and states for
the same input current, on the numba and the PyTorch engine, through the documented mapping
``beta = exp(-dt / tau_m)``, ``rho = exp(-dt / tau_w)``."""

import numpy as np
import pytest
import torch

import spikeflow as sf
from spikeflow import sim
from spikeflow.errors import UserError
from spikeflow.functional import AdLIFState


@pytest.mark.parametrize("device", [None, "cpu-torch"])
def test_adlif_group_equals_nn_adlif(device):
    rng = np.random.default_rng(0)
    n, steps, dt = 12, 300, 1.0
    tau_m, tau_w = rng.uniform(6.0, 20.0, n), rng.uniform(40.0, 100.0, n)
    a, b, v_th = rng.uniform(-0.5, 0.8, n), rng.uniform(0.0, 1.8, n), rng.uniform(0.5, 1.5, n)
    current = rng.uniform(-1.0, 4.0, (steps, n))
    v0, w0 = rng.uniform(-0.5, 0.5, n), rng.uniform(-0.2, 0.2, n)
    group = sim.AdLIFGroup(
        n, tau_m=tau_m, tau_w=tau_w, a=a, b=b, v_th=v_th, v_init=v0, w_init=w0,
        current=sim.TimedArray(current, dt),
    )  # fmt: skip
    spikes, v_mon, w_mon = (
        sim.SpikeMonitor(group),
        sim.StateMonitor(group, "v"),
        sim.StateMonitor(group, "w"),
    )
    sim.Network(group, spikes, v_mon, w_mon, dt=dt, device=device).run(steps * dt)
    raster = np.zeros((steps, n))
    raster[spikes.steps, spikes.i] = 1.0

    torch.set_default_dtype(torch.float64)  # conftest restores it
    neuron = sf.nn.AdLIF(
        beta=torch.from_numpy(np.exp(-dt / tau_m)), rho=torch.from_numpy(np.exp(-dt / tau_w)),
        a=torch.from_numpy(a), b=torch.from_numpy(b), threshold=torch.from_numpy(v_th), size=n,
    )  # fmt: skip
    state = AdLIFState(torch.from_numpy(v0)[None], torch.from_numpy(w0)[None], torch.zeros(1, n))
    with torch.no_grad():
        out, final = neuron(torch.from_numpy(current)[:, None], state)
    assert 0 < raster.sum() < raster.size / 2
    np.testing.assert_array_equal(raster, out[:, 0].numpy())
    np.testing.assert_array_equal(v_mon.values[-1, 0], final.v[0].numpy())
    np.testing.assert_array_equal(w_mon.values[-1, 0], final.w[0].numpy())


def test_adlif_group_rejects_a_non_positive_threshold():
    group = sim.AdLIFGroup(2, v_th=0.0)
    with pytest.raises(UserError, match="v_th"):
        sim.Network(group).run(1.0)
