# %% [markdown]
# # 4. Training with surrogate gradients
#
# A spike is a step function of the membrane potential, `s = H(v - threshold)`. Its derivative
# is zero everywhere except at the threshold, where it is infinite, so plain backpropagation
# gets no signal. *Surrogate gradients* keep the exact step in the forward pass and use the
# derivative of a smooth stand-in in the backward pass. Unrolling the network over its `T`
# steps and backpropagating through all of them is *backpropagation through time* (BPTT);
# spikeflow's fused kernels compute that backward pass for a whole sequence at once.
#
# This page draws the built-in surrogates, trains the same spiking network on the digits with
# each of them, and measures what the choice changes.

# %%
import os
import time

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeflow as sf

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
EPOCHS = 1 if QUICK else 4
# one name per surrogate (the registry also knows aliases: gaussian = erfc, superspike =
# fast_sigmoid)
UNIQUE: dict[type, str] = {}
for name in sf.surrogate.available():
    UNIQUE.setdefault(type(sf.surrogate.get(name)), name)
SURROGATES = ["atan", "triangle"] if QUICK else sorted(UNIQUE.values())
print("registered names:", ", ".join(sf.surrogate.available()))
print("compared here:", ", ".join(SURROGATES))

# %% [markdown]
# ## The surrogates
#
# Each surrogate is a smooth primitive `P(x)` rising from 0 to 1 (the soft step) and its
# derivative, the gradient used in place of the step's. `alpha` sets the sharpness.

# %%
x = torch.linspace(-2, 2, 801)
fig, (ax_p, ax_g) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
ax_p.step(x, (x >= 0).float(), where="post", color="black", lw=2, label="Heaviside $H(x)$")
for name in SURROGATES:
    sg = sf.surrogate.get(name)
    ax_p.plot(x, sg.primitive(x), lw=1.3, label=f"{name} (alpha {sg.alpha:g})")
    ax_g.plot(x, sg.grad(x), lw=1.3, label=name)
ax_p.set_title("forward stand-in $P(x)$", loc="left")
ax_g.set_title("surrogate gradient $dP/dx$", loc="left")
for ax in (ax_p, ax_g):
    ax.set_xlabel("$v$ - threshold")
    ax.grid(alpha=0.3)
ax_p.legend(fontsize=8)
fig.suptitle(
    "Surrogate gradients: the spike stays a step, its gradient does not", fontweight="bold"
)
sf.plot.save(fig, "surrogates.png")

# %% [markdown]
# ## One training run
#
# The network is a 64-128-10 spiking MLP on the 8x8 digits, rate-coded over `T = 16` steps. The
# loss is the cross-entropy of the output spike counts (`sf.loss.rate_ce`): the class whose
# neuron fires most wins. The loop is plain PyTorch.

# %%
bundle = sf.data.load("digits", seed=0)


def tensors(dataset, limit=None):
    n = len(dataset) if limit is None else min(limit, len(dataset))
    xs, ys = zip(*(dataset[i] for i in range(n)), strict=True)
    return torch.stack(xs).flatten(1), torch.tensor(ys)


x_train, y_train = tensors(bundle.train, 256 if QUICK else None)
x_test, y_test = tensors(bundle.test)
print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}")
T = 16


def train(surrogate: str, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    net = sf.nn.Sequential(
        nn.Linear(64, 128),
        sf.nn.LIF(beta=0.9, surrogate=surrogate),
        nn.Linear(128, 10),
        sf.nn.LIF(beta=0.9, surrogate=surrogate),
    )
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    history, started = [], time.perf_counter()
    for _epoch in range(EPOCHS):
        for idx in torch.randperm(len(x_train)).split(64):
            spikes, _ = net(sf.encode.rate(x_train[idx], num_steps=T))  # [T, B, 10]
            loss = sf.loss.rate_ce(spikes, None, y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            counts = net(sf.encode.rate(x_test, num_steps=T))[0].sum(0)
        history.append((counts.argmax(1) == y_test).float().mean().item())
    return {"accuracy": history, "seconds": time.perf_counter() - started}


result = train("atan")
print(f"atan: test accuracy per epoch {[f'{a:.1%}' for a in result['accuracy']]}")

# %% [markdown]
# ## Does the surrogate matter?
#
# Train the same network from the same initial weights with every surrogate at its default
# sharpness, and with the arc-tangent at three sharpness values. (The first use of a surrogate
# compiles its fused kernel, which is then cached on disk: the times below include that.)

# %%
results = {name: train(name) for name in SURROGATES}
print(f"{'surrogate':18s} {'final test accuracy':>20s} {'time':>8s}")
for name, r in results.items():
    print(f"{name:18s} {r['accuracy'][-1]:>20.1%} {r['seconds']:>7.1f}s")

sharpness = {2.0: results["atan"]["accuracy"][-1]}  # the default alpha, trained above
for alpha in (0.5, 8.0):
    sharpness[alpha] = train(sf.surrogate.get("atan", alpha=alpha))["accuracy"][-1]
sharpness = dict(sorted(sharpness.items()))
for alpha, acc in sharpness.items():
    print(f"atan, alpha {alpha:g}: final test accuracy {acc:.1%}")

fig, (ax_c, ax_b) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
epochs = range(1, EPOCHS + 1)
for name, r in results.items():
    ax_c.plot(epochs, [100 * a for a in r["accuracy"]], "o-", ms=3, label=name)
ax_c.set_xticks(list(epochs))
ax_c.set_xlabel("epoch")
ax_c.set_ylabel("test accuracy (%)")
ax_c.set_title("test accuracy per epoch", loc="left")
ax_c.legend(fontsize=8)
ax_c.grid(alpha=0.3)
labels = [f"atan\nalpha {a:g}" for a in sharpness]
ax_b.bar(labels, [100 * a for a in sharpness.values()], color="#1f5fa8")
ax_b.set_ylim(min(100 * a for a in sharpness.values()) - 5, 100)
ax_b.set_ylabel("final test accuracy (%)")
ax_b.set_title("sharpness of the arc-tangent", loc="left")
fig.suptitle(f"Spiking MLP on the digits, {EPOCHS} epochs, T = {T}", fontweight="bold")
sf.plot.save(fig, "surrogate_comparison.png")

# %% [markdown]
# The choice matters. The surrogates with long tails (arc-tangent, sigmoid, fast sigmoid)
# give every neuron some gradient, however far its membrane is from the threshold, and train
# this network fastest. The triangle (at `alpha = 1` it is non-zero only within one threshold
# of the threshold) and the straight-through window (within half a threshold) leave every
# neuron outside their support without gradient at that step, and in the same few epochs they
# learn far less; a smaller `alpha` widens them. Within the arc-tangent the sharpness moves the
# accuracy much less, as long as the tails stay wide.
#
# The same training, with checkpoints, resuming, validation, plots and the energy report, is
# one command: `spikeflow train --dataset digits --model mlp --surrogate atan --epochs 20`
# (or `sf.train.Trainer` from Python). Next: [ANN-to-SNN conversion](05_conversion.md).
