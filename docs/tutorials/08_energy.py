# %% [markdown]
# # 8. Energy: spikes, synaptic operations and the ANN
#
# The promise of spiking networks is efficiency: a neuron that does not spike costs nothing
# downstream, and a spike that does arrive is an *addition* of a weight (an accumulate, AC)
# rather than a multiply-accumulate (MAC). Whether a given network keeps that promise depends
# on how many spikes it uses and for how many time steps it runs. `sf.energy.estimate(model, x)`
# counts, per inference:
#
# - **spikes** of every neuron layer and its **spike rate** (spikes per neuron and step);
# - **synaptic operations** (SOPs): every incoming spike times the number of outputs it feeds
#   (its fan-out), summed over time, the accumulates an event-driven chip would do;
# - the **MACs** of the equivalent ANN (same layers, dense activations, one pass);
#
# and prices them at 0.9 pJ per AC and 4.6 pJ per MAC (32-bit float at 45 nm, Horowitz 2014).
# It is an estimate of the arithmetic only: memory traffic and neuron updates are not counted,
# and the report says so.

# %%
import os

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeflow as sf

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
EPOCHS = 1 if QUICK else 8
torch.manual_seed(0)

bundle = sf.data.load("digits", seed=0)


def tensors(dataset, limit=None):
    n = len(dataset) if limit is None else min(limit, len(dataset))
    xs, ys = zip(*(dataset[i] for i in range(n)), strict=True)
    return torch.stack(xs).flatten(1), torch.tensor(ys)


x_train, y_train = tensors(bundle.train, 256 if QUICK else None)
x_test, y_test = tensors(bundle.test, 128 if QUICK else None)

# %% [markdown]
# ## A trained network and its report
#
# A 64-256-10 spiking MLP, trained on rate-coded digits with `T = 16` as in
# [tutorial 4](04_surrogate_training.md).

# %%
T = 16
net = sf.nn.Sequential(
    nn.Linear(64, 256), sf.nn.LIF(beta=0.9), nn.Linear(256, 10), sf.nn.LIF(beta=0.9)
)
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
for _ in range(EPOCHS):
    for idx in torch.randperm(len(x_train)).split(64):
        loss = sf.loss.rate_ce(
            net(sf.encode.rate(x_train[idx], num_steps=T))[0], None, y_train[idx]
        )
        opt.zero_grad()
        loss.backward()
        opt.step()


def accuracy(steps: int) -> float:
    with torch.no_grad():
        counts = net(sf.encode.rate(x_test, num_steps=steps))[0].sum(0)
    return (counts.argmax(1) == y_test).float().mean().item()


print(f"test accuracy at T = {T}: {accuracy(T):.1%}")
report = sf.energy.estimate(net, sf.encode.rate(x_test, num_steps=T))
print(report.table())

# %% [markdown]
# The input layer receives spikes, so its operations are accumulates; so does the second
# weight layer. The ANN does every multiply once per inference, whatever the input.
#
# ## Energy against the number of steps
#
# The SNN's cost grows with `T` (every step brings new input spikes), the ANN's does not;
# the accuracy grows with `T` too. Where do the curves cross?

# %%
steps_list = [2, 4, 8, 16, 32, 64] + ([] if QUICK else [128])
energy, accuracies = [], []
for steps in steps_list:
    r = sf.energy.estimate(net, sf.encode.rate(x_test, num_steps=steps))
    energy.append(r.energy_pj / 1e3)
    accuracies.append(accuracy(steps))
    print(
        f"T = {steps:3d}: {r.sops:9.0f} SOPs, SNN {r.energy_pj / 1e3:7.1f} nJ vs ANN "
        f"{r.ann_energy_pj / 1e3:5.1f} nJ ({r.energy_pj / r.ann_energy_pj:5.2f}x), "
        f"accuracy {accuracies[-1]:.1%}"
    )
ann_nj = report.ann_energy_pj / 1e3

fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
ax.plot(steps_list, energy, "o-", color="#1f5fa8", label="SNN (SOPs x 0.9 pJ)")
ax.axhline(ann_nj, color="black", ls="--", lw=1, label=f"equivalent ANN ({ann_nj:.0f} nJ)")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xticks(steps_list, [str(s) for s in steps_list])
ax.set_xlabel("time steps $T$")
ax.set_ylabel("energy per inference (nJ)")
ax2 = ax.twinx()
ax2.plot(steps_list, [100 * a for a in accuracies], "s:", color="#e08a2c", label="SNN accuracy")
ax2.set_ylabel("test accuracy (%)", color="#e08a2c")
ax2.set_ylim(0, 100)
lines = ax.get_legend_handles_labels()
lines2 = ax2.get_legend_handles_labels()
ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right")
ax.set_title("Spiking MLP on the digits: estimated energy and accuracy against T", loc="left")
sf.plot.save(fig, "energy_vs_steps.png")

# %% [markdown]
# ## Fewer spikes, less energy?
#
# The SOP count is proportional to the spikes, so a layer that fires less costs less
# downstream. A spike-rate penalty in the loss (`sf.loss.rate_l2(rates, target)`, the squared
# distance of each layer's rate from a target) trains a sparser hidden layer; compare its spike
# rate and the energy with and without it.


# %%
def train_sparse(target_rate: float) -> sf.nn.Sequential:
    torch.manual_seed(0)
    model = sf.nn.Sequential(
        nn.Linear(64, 256), sf.nn.LIF(beta=0.9), nn.Linear(256, 10), sf.nn.LIF(beta=0.9)
    )
    optim = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(x_train)).split(64):
            records = model.trace(sf.encode.rate(x_train[idx], num_steps=T))
            hidden, out = records[1].spikes, records[3].spikes
            loss = sf.loss.rate_ce(out, None, y_train[idx])
            loss = loss + 10.0 * sf.loss.rate_l2([hidden.mean()], target_rate)
            optim.zero_grad()
            loss.backward()
            optim.step()
    return model


x_enc = sf.encode.rate(x_test, num_steps=T)
rows = [("no penalty", net)] + [(f"rate target {r}", train_sparse(r)) for r in (0.05, 0.02)]
names, nj = [], []
for name, model in rows:
    r = sf.energy.estimate(model, x_enc)
    with torch.no_grad():
        acc = (model(x_enc)[0].sum(0).argmax(1) == y_test).float().mean().item()
    hidden = next(layer for layer in r.layers if layer.kind == "neuron")
    first = r.layers[0].energy_pj / r.energy_pj
    print(
        f"{name:18s} hidden spike rate {hidden.spike_rate:.3f}, {r.energy_pj / 1e3:6.1f} nJ "
        f"({first:.0%} of it in the input layer), accuracy {acc:.1%}"
    )
    names.append(f"{name}\n{acc:.1%}")
    nj.append(r.energy_pj / 1e3)

fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
ax.bar(names, nj, color="#1f5fa8")
ax.axhline(ann_nj, color="black", ls="--", lw=1, label="equivalent ANN")
ax.set_ylabel("energy per inference (nJ)")
ax.set_title(f"Energy with a spike-rate penalty on the hidden layer (T = {T})", loc="left")
ax.legend()
sf.plot.save(fig, "energy_sparsity.png")

# %% [markdown]
# The penalty thins the hidden layer, but the energy hardly moves: most synaptic operations
# here are the *input* spikes fanning out to 256 hidden neurons, and the penalty does not
# touch the input. Where the cost sits is in the report's per-layer rows; in this network,
# fewer input steps (`T`) or a sparser input code (a latency code spends one spike per pixel,
# see [tutorial 2](02_coding.md)) would save more than a quieter hidden layer.
#
# `spikeflow train` and `spikeflow evaluate` write this report for every run
# (`metrics.json`, key `energy`), and `spikeflow convert` for every `T`. Next: [the CUBA
# network](09_cuba.md).
