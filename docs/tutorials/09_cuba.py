# %% [markdown]
# # 9. Biological networks: the CUBA network
#
# Networks of spiking neurons are also models of the brain. `sf.sim` is a clock-driven
# simulator for them, in biological units (ms, mV, Hz): groups of neurons, sparse synapses with
# delays and plasticity, inputs and monitors, advanced by a compiled engine with no Python per
# step. This page builds the classic CUBA benchmark (Vogels & Abbott 2005, as in Brette et al.
# 2007) from those pieces, runs it, and looks at its rasters and rates.
#
# CUBA is 4,000 leaky integrate-and-fire neurons, 80 % excitatory and 20 % inhibitory, each
# pair connected with probability 2 %. The neurons rest at -49 mV, just above the threshold
# of -50 mV, so every neuron would fire regularly on its own; the recurrent inhibition makes
# the activity irregular and asynchronous, at a few spikes per second.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import spikeflow as sf
from spikeflow import sim

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
N = 1000 if QUICK else 4000
DURATION = 300.0 if QUICK else 1000.0  # ms

# %% [markdown]
# ## Build the network
#
# Every parameter is in ms and mV. With current-based synapses the synaptic "current" is
# expressed as the voltage it would hold the membrane at (`R I`, in mV): an excitatory spike
# adds 1.62 mV to it, an inhibitory one -9 mV, and it decays with 5 ms (excitatory) or 10 ms
# (inhibitory). Smaller networks keep each neuron's 80 excitatory and 20 inhibitory inputs by
# raising `p`.

# %%
n_exc = int(0.8 * N)
p = 0.02 * 4000 / N
neuron = dict(
    tau_m=20.0, v_rest=-49.0, v_th=-50.0, v_reset=-60.0, refractory=5.0,
    tau_syn={"e": 5.0, "i": 10.0}, v_init=sim.Uniform(-60.0, -50.0),
)  # fmt: skip
exc = sim.LIFGroup(n_exc, name="exc", **neuron)
inh = sim.LIFGroup(N - n_exc, name="inh", **neuron)
synapses = [
    sim.Synapses(pre, post, target=target, p=p, weight=w)
    for pre, target, w in ((exc, "e", 1.62), (inh, "i", -9.0))
    for post in (exc, inh)
]
spikes_e, spikes_i = sim.SpikeMonitor(exc), sim.SpikeMonitor(inh)
rate_e = sim.PopulationRateMonitor(exc)
voltage = sim.StateMonitor(exc, "v", indices=[0, 1, 2])
net = sim.Network(exc, inh, *synapses, spikes_e, spikes_i, rate_e, voltage, dt=0.1, seed=0)

net.run(DURATION)
duration_s = DURATION / 1e3
rates = {
    "excitatory": spikes_e.count(1)[0] / duration_s,
    "inhibitory": spikes_i.count(1)[0] / duration_s,
}
for name, r in rates.items():
    print(f"{name}: mean rate {r.mean():.2f} Hz, {np.mean(r == 0):.1%} of the neurons silent")

# %% [markdown]
# ## Rasters and rates
#
# A raster of the first 400 excitatory and 100 inhibitory neurons: no synchrony, no
# oscillation, each neuron firing irregularly.

# %%
dt_bin = 1.0  # ms per raster bin
bins = int(DURATION / dt_bin)


def binned(monitor, count: int) -> np.ndarray:
    keep = monitor.i < count
    grid = np.zeros((bins, count))
    np.add.at(
        grid, (np.minimum(monitor.t[keep] / dt_bin, bins - 1).astype(int), monitor.i[keep]), 1
    )
    return grid


raster = np.concatenate([binned(spikes_e, 400), binned(spikes_i, 100)], axis=1)
fig = sf.plot.raster(
    raster,
    dt=dt_bin,
    time_unit="ms",
    groups=[("excitatory", 400), ("inhibitory", 100)],
    title=f"CUBA network, {N:,} neurons: 500 of them for {DURATION:.0f} ms",
)
sf.plot.save(fig, "cuba_raster.png")

fig, (ax_h, ax_v) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for name, r in rates.items():
    ax_h.hist(
        r, bins=np.arange(0, r.max() + 2, 1.0), alpha=0.6, label=f"{name} ({r.mean():.1f} Hz mean)"
    )
ax_h.set_xlabel("firing rate (Hz)")
ax_h.set_ylabel("neurons")
ax_h.set_title("rates over the whole run", loc="left")
ax_h.legend()
for k in range(3):
    ax_v.plot(voltage.t, voltage.values[:, 0, k], lw=0.8, label=f"neuron {k}")
ax_v.axhline(-50.0, color="#c23b22", ls="--", lw=0.8, label="threshold")
ax_v.set_xlim(0, min(DURATION, 300.0))
ax_v.set_xlabel("time (ms)")
ax_v.set_ylabel("membrane potential (mV)")
ax_v.set_title("three excitatory neurons", loc="left")
ax_v.legend(fontsize=8, ncols=2)
fig.suptitle("CUBA: irregular firing at a few Hz", fontweight="bold")
sf.plot.save(fig, "cuba_rates.png")

# %% [markdown]
# The membrane traces show why: every neuron sits near its threshold and fires when the
# balance of excitation and inhibition tips, at irregular times.
#
# ## The same network, ready-made
#
# The benchmark networks are also built in: `spikeflow simulate cuba --neurons 4000
# --duration 10s` runs this network from the command line (`coba` is the conductance-based
# variant), and `Network(..., batch=B)` runs `B` independent copies in one compiled call for
# parameter sweeps. [The simulator page](../sim.md) has the rest: adaptive and Izhikevich
# groups, Poisson and spike-generator inputs, delays, plasticity in the engine, and the
# comparison with Brian2. Next: [NIR and DDP](10_nir_and_ddp.md).
