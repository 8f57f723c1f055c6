# %% [markdown]
# # 6. Unsupervised learning with STDP
#
# Spike-timing-dependent plasticity (STDP) is a local learning rule observed in real synapses:
# when a presynaptic spike arrives shortly *before* the postsynaptic neuron fires, the synapse
# is strengthened (it helped cause the spike); when it arrives shortly *after*, it is weakened.
# No labels and no backpropagation: each synapse sees only the spike times at its two ends.
#
# This page measures the STDP window of `sf.plasticity.STDP`, then trains the network of
# Diehl & Cook (2015) on the digits without labels and shows what its neurons learn.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import torch

import spikeflow as sf
from spikeflow.sim.stdp_experiment import run_stdp_experiment

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite

# %% [markdown]
# ## The STDP window
#
# Pair one presynaptic and one postsynaptic spike `dt_spike = t_post - t_pre` apart and
# measure the change of a weight that starts at 0.5. The pair rule keeps a decaying trace of
# each side's spikes (time constants `tau_plus`, `tau_minus`, in ms); each post spike adds
# `a_plus` times the pre trace, each pre spike removes `a_minus` times the post trace.
# Rules work on plain spike tensors `[T, B, N]` and weight matrices `[N_post, N_pre]`, so they
# apply to `sf.nn` layers and to simulator recordings alike.

# %%
rule = sf.plasticity.STDP(tau_plus=20.0, tau_minus=20.0, a_plus=0.01, a_minus=0.0105)
dt = 1.0  # ms per step
offsets = np.arange(-60, 61, 2)
changes = []
for offset in offsets:
    pre = torch.zeros(200, 1, 1)
    post = torch.zeros(200, 1, 1)
    pre[100] = 1.0
    post[100 + offset] = 1.0
    w, _ = rule.run(torch.full((1, 1), 0.5), pre, post, dt)
    changes.append(w.item() - 0.5)
changes = np.array(changes)
print(
    f"largest potentiation {changes.max():+.4f} at {offsets[changes.argmax()]:+d} ms; "
    f"largest depression {changes.min():+.4f} at {offsets[changes.argmin()]:+d} ms"
)

fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ax.axhline(0, color="grey", lw=0.8)
ax.axvline(0, color="grey", lw=0.8)
ax.plot(offsets, changes, "o", ms=4, color="#1f5fa8", label="measured (sf.plasticity.STDP)")
fine = np.linspace(-60, 60, 601)
analytic = np.where(fine > 0, 0.01 * np.exp(-fine / 20.0), -0.0105 * np.exp(fine / 20.0))
ax.plot(
    fine[fine != 0],
    analytic[fine != 0],
    color="black",
    lw=1,
    label="$\\pm a\\,e^{-|\\Delta t|/\\tau}$",
)
ax.set_xlabel("$t_{post} - t_{pre}$ (ms)")
ax.set_ylabel("weight change")
ax.set_title("STDP window: pre before post strengthens, after weakens", loc="left")
ax.legend()
sf.plot.save(fig, "stdp_window.png")

# %% [markdown]
# ## Diehl & Cook: digits without labels
#
# The network of Diehl & Cook (2015): every pixel is a Poisson input (rate proportional to its
# intensity) connected to every excitatory neuron through plastic synapses (triplet-style STDP
# with nearest-spike pairing); the excitatory neurons inhibit each other (winner take all);
# each has an adaptive threshold that rises with each spike, so no neuron wins every input;
# and each neuron's input weights are renormalised to a fixed sum. The neurons compete, and
# each comes to respond to one kind of input: its weights become a *receptive field* that looks
# like a digit. Labels are used only afterwards: each neuron is labelled with the class it
# responds to most on the training set, and a test digit gets the class whose neurons fire most.
#
# The simulation runs in `sf.sim` (ms, mV; conductance-based neurons, 0.5 ms steps, 350 ms
# per digit). `spikeflow stdp --dataset digits --neurons 100` runs the same experiment.

# %%
neurons = 25 if QUICK else 100
result = run_stdp_experiment(
    "digits",
    neurons=neurons,
    epochs=1,
    train_limit=60 if QUICK else None,
    test_limit=60 if QUICK else None,
    seed=0,
)
summary = result.summary()
print(
    f"{neurons} neurons, {summary['train_samples']} training digits, one epoch: "
    f"test accuracy {summary['test_accuracy']:.1%} on {summary['test_samples']} digits"
)
print(
    f"training {summary['wall_s']['train']:.0f} s, labelling and test "
    f"{summary['wall_s']['label_and_test']:.0f} s"
)
print("neurons per label:", summary["neurons_per_label"])

weights = result.model.weights()  # [neurons, 64]
fig = sf.plot.weight_grid(
    weights, result.side, title=f"Receptive fields of {neurons} neurons after one epoch of STDP"
)
sf.plot.save(fig, "receptive_fields.png")

# %% [markdown]
# Each square is one neuron's 64 input weights as an 8x8 image: most have become prototypes
# of one digit, in one style. With 400 neurons and three epochs the same network reaches
# about 90 % on the digits (`spikeflow stdp --dataset digits --neurons 400 --epochs 3`, see
# [Results](../results.md)). Next: [event-based data](07_event_data.md).
