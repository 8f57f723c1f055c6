# %% [markdown]
# # 2. Neural coding
#
# A spiking network sees the world as spike trains, so numbers have to be *encoded* as spikes
# and the network's output spikes *decoded* back into numbers. The code chosen decides how
# many time steps a network needs, how many spikes (and so how much energy) it spends, and
# how much noise it must live with. `sf.encode` has the four classic codes and their decoders:
#
# | code | function | information in | decoder |
# | --- | --- | --- | --- |
# | rate | `sf.encode.rate(x, num_steps)` | the number of spikes | `sf.encode.spike_count` |
# | latency (time to first spike) | `sf.encode.latency(x, num_steps)` | the time of one spike | `sf.encode.first_spike_time` |
# | delta | `sf.encode.delta(signal, threshold=)` | changes of a signal (ON/OFF events) | a running sum of the events |
# | population | `sf.encode.population(x, n)` | which neurons of a tuned population respond | the responses' centre of mass |
#
# Every spike tensor is time-major: `[T, B, ...]`.

# %%
import os

import matplotlib.pyplot as plt
import torch

import spikeflow as sf

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
torch.manual_seed(0)

bundle = sf.data.load("digits", seed=0)
image, label = bundle.test[0]  # [1, 8, 8], intensities in [0, 1]
print(f"a test digit: label {label}, shape {tuple(image.shape)}")
pixels = image.reshape(1, 64)  # [B=1, N=64]

# %% [markdown]
# ## Rate code
#
# Each pixel spikes at each step with probability equal to its intensity (Bernoulli), so the
# count over `T` steps estimates the intensity. The estimate is noisy: its standard deviation
# is `sqrt(p (1 - p) / T)`, so halving the error costs four times the steps.

# %%
T = 40
spikes = sf.encode.rate(pixels, num_steps=T, generator=torch.Generator().manual_seed(0))
print(f"spikes {tuple(spikes.shape)}: {int(spikes.sum())} spikes in {T} steps")
fig = sf.plot.raster(
    spikes[:, 0],
    stimulus=image[0],
    title=f"Rate code: one digit ({label}) as 64 Bernoulli spike trains",
    neuron_label="pixel",
)
sf.plot.save(fig, "rate_raster.png")

lengths = [5, 10, 20, 50, 100, 200] + ([] if QUICK else [500, 1000])
errors, expected = [], []
for steps in lengths:
    s = sf.encode.rate(pixels.expand(200, 64), num_steps=steps)  # 200 draws of the same digit
    decoded = sf.encode.spike_count(s, normalize=True)  # [200, 64] rates in spikes per step
    errors.append((decoded - pixels).pow(2).mean().sqrt().item())
    expected.append((pixels * (1 - pixels)).mean().div(steps).sqrt().item())
    print(f"T = {steps:4d}: RMS error of the decoded intensity {errors[-1]:.4f}")

fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
ax.loglog(lengths, errors, "o-", label="measured (200 encodings)")
ax.loglog(lengths, expected, "k--", label=r"$\sqrt{p(1-p)/T}$")
ax.set_xlabel("number of time steps $T$")
ax.set_ylabel("RMS error of the decoded intensity")
ax.set_title("Rate code: the error falls as $1/\\sqrt{T}$", loc="left")
ax.legend()
ax.grid(alpha=0.3, which="both")
sf.plot.save(fig, "rate_error.png")

# %% [markdown]
# ## Latency code (time to first spike)
#
# Each pixel fires once; bright pixels fire first. With `method="linear"` the spike time is
# `tau (1 - x)`, with `method="log"` it is `tau ln(1 / x)` (the time a leaky neuron driven by
# `x` would take to reach its threshold); pixels darker than `threshold` never fire. One spike
# per pixel carries the value, so a latency code spends far fewer spikes than a rate code;
# `sf.encode.first_spike_time` reads the times back.

# %%
T = 20
lat = sf.encode.latency(pixels, num_steps=T, method="linear", normalize=True)
times = sf.encode.first_spike_time(lat)  # [1, 64], T where a pixel never fired
decoded = 1 - times / (T - 1)  # normalize=True spreads the times over the T steps
fired = times < T
print(f"{int(lat.sum())} spikes for 64 pixels ({int(fired.sum())} pixels fire)")
print(
    "largest decoding error of the firing pixels: "
    f"{(decoded - pixels)[fired].abs().max().item():.3f} (a step is {1 / (T - 1):.3f})"
)

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), layout="constrained")
axes[0].imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
axes[0].set_title("digit (intensity)")
shown = axes[1].imshow(torch.where(fired, times, torch.nan).reshape(8, 8), cmap="viridis_r")
axes[1].set_title("first-spike step (blank: silent)")
fig.colorbar(shown, ax=axes[1], label="time step")
t_idx, n_idx = torch.nonzero(lat[:, 0], as_tuple=True)
axes[2].scatter(t_idx, n_idx, marker="|", s=40, color="#1f5fa8")
axes[2].set_xlabel("time step")
axes[2].set_ylabel("pixel")
axes[2].set_xlim(-0.5, T - 0.5)
axes[2].set_title("raster: one spike per pixel")
for ax in axes[:2]:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Latency code: bright pixels fire first", fontweight="bold")
sf.plot.save(fig, "latency_code.png")

# %% [markdown]
# ## Delta code
#
# An event camera pixel does not report its brightness, only its *changes*: an ON event when
# the signal has risen by `threshold` since the last event, an OFF event when it has fallen by
# as much. `sf.encode.delta` does that for any signal `[T, B, ...]`, with ON and OFF as two
# channels. Summing `threshold * (ON - OFF)` rebuilds the signal roughly: each event stands for
# a change of at least one threshold (the reference jumps to the signal's value at the
# event), so the sum drifts by the overshoots.

# %%
steps = 3000  # 1 ms samples
t = torch.linspace(0, 3, steps)
signal = (torch.sin(2 * torch.pi * t) + 0.4 * torch.sin(7 * t)).view(steps, 1, 1)
threshold = 0.1
events = sf.encode.delta(signal, threshold=threshold)  # [T, B, 2, 1]: ON, OFF
on, off = events[:, 0, 0, 0], events[:, 0, 1, 0]
rebuilt = signal[0, 0, 0] + threshold * torch.cumsum(on - off, 0)
print(f"{int(on.sum())} ON and {int(off.sum())} OFF events for {steps} samples")
print(f"largest reconstruction error: {(rebuilt - signal[:, 0, 0]).abs().max().item():.3f}")

fig, (ax, ax_e) = plt.subplots(
    2, 1, figsize=(8, 4.6), sharex=True, height_ratios=[3, 1], layout="constrained"
)
ax.plot(t, signal[:, 0, 0], color="black", lw=1.5, label="signal")
ax.step(t, rebuilt, where="post", color="#e08a2c", lw=1.2, label="rebuilt from the events")
ax.set_ylabel("signal")
ax.legend(loc="upper right")
ax.set_title(
    f"Delta code (threshold {threshold}): events only where the signal changes", loc="left"
)
ax_e.eventplot([t[on > 0], t[off > 0]], lineoffsets=[1, 0], colors=["#2a9d4b", "#c23b22"])
ax_e.set_yticks([0, 1], ["OFF", "ON"])
ax_e.set_xlabel("time (s)")
sf.plot.save(fig, "delta_code.png")

# %% [markdown]
# ## Population code
#
# A single value can also be carried by *which* neurons fire. Each of `n` neurons has a
# Gaussian tuning curve around its preferred value; a value excites the few neurons whose
# preference is close. Rate-encode the responses and decode with the centre of mass of the
# spike counts over the preferred values.

# %%
n = 16
centres = sf.encode.population_centres(n)
values = torch.rand(500 if QUICK else 2000)  # values to carry, in [0, 1]
grid = torch.linspace(0, 1, 400)
tuning = sf.encode.population(grid, n)  # [400, n]

fig, (ax_t, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
ax_t.plot(grid, tuning, lw=1.0)
ax_t.set_xlabel("value $x$")
ax_t.set_ylabel("response (spike probability per step)")
ax_t.set_title(f"{n} Gaussian tuning curves", loc="left")

for steps in (10, 50, 200):
    counts = sf.encode.spike_count(sf.encode.rate(sf.encode.population(values, n), num_steps=steps))
    estimate = (counts * centres).sum(-1) / counts.sum(-1).clamp_min(1)
    error = (estimate - values).abs()
    inner = (values > 0.1) & (values < 0.9)  # away from the edges, where the curves are cut off
    print(f"T = {steps:3d}: mean absolute error {error[inner].mean():.4f} (values in 0.1..0.9)")
    ax_d.plot(values, estimate, ".", ms=2, alpha=0.6, label=f"T = {steps}")
ax_d.plot([0, 1], [0, 1], "k--", lw=1)
ax_d.set_xlabel("true value")
ax_d.set_ylabel("decoded value")
ax_d.set_title("decoded from the spike counts", loc="left")
ax_d.legend(markerscale=5)
fig.suptitle("Population code", fontweight="bold")
sf.plot.save(fig, "population_code.png")

# %% [markdown]
# Near the ends of the range the centre of mass is pulled inwards (there are no neurons past
# the ends); in the middle the error falls with `T` like the rate code's.
#
# **Which code?** Rate codes are robust and easy to train but need many steps and spikes;
# latency codes spend one spike per input and answer early, but one lost spike loses the value;
# delta codes are what event sensors produce and are sparse when little changes. Next:
# [architectures](03_architectures.md).
