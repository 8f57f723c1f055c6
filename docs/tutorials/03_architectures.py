# %% [markdown]
# # 3. Architectures over spike trains
#
# Spiking networks are layered like ordinary ones: weights (`nn.Linear`, `nn.Conv2d`) between
# layers of spiking neurons. The difference is time: every tensor carries a leading time axis,
# `[T, B, ...]`, and every neuron keeps a state from one step to the next.
# `sf.nn.Sequential` runs plain PyTorch layers on all `T` steps at once (it wraps them in
# `sf.nn.TimeDistributed`: they have no memory, so the time axis is folded into the batch) and
# runs each spiking layer over the whole sequence. This page builds a feedforward, a convolutional and a recurrent network and looks
# at what flows through them.

# %%
import os

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeflow as sf

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
torch.manual_seed(0)

bundle = sf.data.load("digits", seed=0)
images = torch.stack([bundle.test[i][0] for i in range(16)])  # [B=16, 1, 8, 8]
T = 25
spikes_in = sf.encode.rate(images, num_steps=T)  # [T, B, 1, 8, 8]
print(f"input spikes {tuple(spikes_in.shape)}")


def describe(net: sf.nn.Sequential, x: torch.Tensor) -> list:
    """Print every layer's output shape and, for spiking layers, its mean firing rate."""
    records = net.trace(x)
    for layer, record in zip(net.layers, records, strict=True):
        out = record.spikes if isinstance(record, sf.Trace) else record
        spiking = isinstance(record, sf.Trace)
        rate = f"  {out.mean().item():.3f} spikes / neuron / step" if spiking else ""
        inner = layer.layer if isinstance(layer, sf.nn.TimeDistributed) else layer
        print(f"  {type(inner).__name__:10s} -> {tuple(out.shape)!s:22s}{rate}")
    return records


# %% [markdown]
# ## Feedforward
#
# A multilayer perceptron of LIF neurons: spikes propagate from the input to the output in the
# same time step, layer by layer. Each LIF layer is one call over the whole sequence (a fused
# kernel on the CPU: no Python loop over time).

# %%
mlp = sf.nn.Sequential(
    nn.Flatten(start_dim=1),  # applied per time step: [T, B, 1, 8, 8] -> [T, B, 64]
    nn.Linear(64, 128),
    sf.nn.LIF(beta=0.9),
    nn.Linear(128, 10),
    sf.nn.LIF(beta=0.9),
)
print("feedforward:")
records = describe(mlp, spikes_in)
out, states = mlp(spikes_in)
print(f"output {tuple(out.shape)}; one state per layer: {[type(s).__name__ for s in states]}")

# %% [markdown]
# ## Convolutional
#
# Convolutions and pooling work on the image layout `[C, H, W]` of every step; the spiking
# layers between them are the nonlinearities. `nn.Dropout` inside `sf.nn.Sequential` draws
# one mask for the whole sequence (a neuron dropped is dropped at every step).

# %%
cnn = sf.nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1),
    sf.nn.LIF(beta=0.9),
    nn.MaxPool2d(2),  # [8, 8, 8] -> [8, 4, 4]
    nn.Conv2d(8, 16, 3, padding=1),
    sf.nn.LIF(beta=0.9),
    nn.Flatten(start_dim=1),
    nn.Dropout(0.2),
    nn.Linear(16 * 4 * 4, 10),
    sf.nn.LIF(beta=0.9),
)
print("convolutional:")
conv_records = describe(cnn, spikes_in)
spiking = [r.spikes[:, 0].flatten(1) for r in conv_records if isinstance(r, sf.Trace)]
fig = sf.plot.layer_rasters(
    [spikes_in[:, 0].flatten(1), *spiking],
    ["input pixels", "conv 1: 8 x 8 x 8", "conv 2: 16 x 4 x 4", "output"],
    title="One digit through an untrained convolutional SNN",
)
sf.plot.save(fig, "cnn_layers.png")

# %% [markdown]
# ## Recurrent
#
# A recurrent layer feeds its own spikes of step `t - 1` back as input at step `t`, through a
# learnable weight: `sf.nn.RLIF(size)` (dense `[N, N]`) or `sf.nn.RLIF(size, "one_to_one")`
# (each neuron to itself). Feedback gives the network a memory beyond the membrane's leak,
# which is what sequence tasks (speech, gestures) need.
#
# To see the memory, give a feedforward and a recurrent layer of 100 neurons the same brief
# input pulse (steps 5 to 9) and watch the activity afterwards. The recurrent weights here are
# random with both signs (excitation and inhibition) and a gain of 2 / sqrt(N), strong enough
# for the activity to sustain itself; trained weights find their own balance.

# %%
N, steps = 100, 60
pulse = torch.zeros(steps, 1, N)
pulse[5:10] = 1.2 * torch.rand(N)

feedforward = sf.nn.LIF(beta=0.8)
recurrent = sf.nn.RLIF(N, beta=0.8, learn_recurrent=False)
with torch.no_grad():
    recurrent.weight.copy_(2.0 * torch.randn(N, N) / N**0.5)

ff_spikes = feedforward(pulse)[0][:, 0]
rec_spikes = recurrent(pulse)[0][:, 0]
print(
    f"spikes after the pulse (steps 10-59): feedforward {int(ff_spikes[10:].sum())}, "
    f"recurrent {int(rec_spikes[10:].sum())}"
)

fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True, layout="constrained")
for ax, s, name in [
    (axes[0], ff_spikes, "feedforward LIF"),
    (axes[1], rec_spikes, "recurrent RLIF"),
]:
    t_idx, n_idx = torch.nonzero(s, as_tuple=True)
    ax.scatter(t_idx, n_idx, marker="|", s=12, color="#1f5fa8")
    ax.axvspan(5, 10, color="#e08a2c", alpha=0.25, label="input pulse")
    ax.set_ylabel("neuron")
    ax.set_title(f"{name}: {int(s.sum())} spikes", loc="left")
axes[0].legend(loc="upper right")
axes[1].set_xlabel("time step")
fig.suptitle("Recurrence keeps activity going after the input ends", fontweight="bold")
sf.plot.save(fig, "recurrent_memory.png")

# %% [markdown]
# ## State and streaming
#
# `state=None` means a fresh (resting) network, so there is nothing to reset between batches.
# Passing the returned state back in continues a sequence: running 25 steps in five chunks of
# 5 gives exactly the spikes of one call over all 25 steps, which is what streaming inference
# and truncated backpropagation through time rely on.

# %%
whole, _ = mlp(spikes_in)
state, chunks = None, []
for chunk in spikes_in.split(5):
    out, state = mlp(chunk, state)
    chunks.append(out)
print("five chunks equal one call:", torch.equal(torch.cat(chunks), whole))

# %% [markdown]
# The same models, trained, are in the command line: `spikeflow train --model mlp | cnn | rsnn`.
# Next: [training with surrogate gradients](04_surrogate_training.md).
