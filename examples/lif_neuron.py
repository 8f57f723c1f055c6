"""One LIF neuron under a step current: membrane, threshold, spikes, reset, refractory period.

python examples/lif_neuron.py            # writes lif_neuron.png
"""

import torch

import spikeflow as sf

dt, tau = 1e-3, 20e-3
lif = sf.nn.LIF(tau=tau, dt=dt, threshold=1.0, reset="zero", refractory=5)

current = torch.zeros(200, 1, 1)
current[20:] = 1.5  # in units of the threshold: the membrane settles at 1.5 without spiking
trace = lif.trace((1 - lif.beta) * current)  # exact integration of a constant current

count = trace.spikes.sum().item()
print(f"{count:.0f} spikes in 200 ms")
fig = sf.plot.neuron(
    current[:, 0, 0],
    trace.v[:, 0, 0],
    trace.spikes[:, 0, 0],
    threshold=1.0,
    reset="zero",
    refractory=5,
    dt=dt * 1e3,
    time_unit="ms",
    title="Leaky integrate-and-fire neuron",
)
sf.plot.save(fig, "lif_neuron.png")
