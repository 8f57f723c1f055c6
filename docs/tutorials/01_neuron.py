# %% [markdown]
# # 1. The spiking neuron
#
# A spiking neuron integrates its input into a *membrane potential* `v`. The potential leaks back
# towards rest; when it reaches the *threshold* the neuron emits a spike (a binary event), its
# potential is *reset*, and for a *refractory period* it cannot fire again. This page builds
# that behaviour one piece at a time with `spikeflow.nn`, draws the membrane-potential figure
# for five neuron models, and checks the simulated firing rate against the analytic f-I curve.
#
# Every spikeflow neuron takes a whole input sequence `x` of shape `[T, B, ...]` (time first)
# and returns the spikes and its final state; `trace(x)` also returns the membrane potential
# of every step (before the reset), which is what the figures draw.

# %%
import math
import os

import matplotlib.pyplot as plt
import torch

import spikeflow as sf

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
torch.manual_seed(0)

# %% [markdown]
# ## Leak, threshold, reset, refractory period
#
# The leaky integrate-and-fire (LIF) neuron computes, per step,
# `v[t] = beta * v[t-1] + x[t]`; it spikes where `v[t] >= threshold` and then resets. With a
# membrane time constant `tau` and a step `dt`, `beta = exp(-dt / tau)`: `sf.nn.LIF(tau=20e-3,
# dt=1e-3)` integrates exactly. A constant current `I` (in units of the threshold) then
# drives `v` towards `I` with time constant `tau`, so we feed `(1 - beta) * I` per step.
#
# Below, a step current of 1.5 thresholds starts at 20 ms; the reset sets `v` to zero and the
# neuron ignores its input for 5 ms after each spike (shaded).

# %%
dt, tau = 1e-3, 20e-3  # seconds
lif = sf.nn.LIF(tau=tau, dt=dt, threshold=1.0, reset="zero", refractory=5)
print(lif)
print(f"beta = exp(-dt / tau) = {lif.beta.item():.4f}")

current = torch.zeros(200, 1, 1)  # [T, B, N]: 200 steps of 1 ms, one sample, one neuron
current[20:] = 1.5
trace = lif.trace((1 - lif.beta) * current)
print(f"{trace.spikes.sum().item():.0f} spikes in 200 ms")

fig = sf.plot.neuron(
    current[:, 0, 0],
    trace.v[:, 0, 0],
    trace.spikes[:, 0, 0],
    threshold=1.0,
    reset="zero",
    refractory=5,
    dt=1.0,
    time_unit="ms",
    title="Leaky integrate-and-fire neuron under a step current",
    subtitle="tau = 20 ms, threshold 1, reset to 0, refractory 5 ms; input 1.5 thresholds from 20 ms",
    current_label="input $I$ (thresholds)",
)
sf.plot.save(fig, "lif_membrane.png")

# %% [markdown]
# The three knobs change the picture in the ways one expects. Without the leak (`sf.nn.IF`)
# even a current below the threshold eventually fires; reset by subtraction (`reset="subtract"`,
# the default) keeps the overshoot above the threshold, so no input is lost; a longer
# refractory period caps the rate at `1 / refractory`.

# %%
weak = torch.full((200, 1, 1), 0.04)  # 0.04 per step: below the LIF's equilibrium threshold
for name, neuron in [
    ("IF", sf.nn.IF(threshold=1.0)),
    ("LIF beta=0.95", sf.nn.LIF(beta=0.95, threshold=1.0)),
]:
    count = neuron(weak)[0].sum().item()
    print(f"{name:14s} under a constant 0.04 per step: {count:.0f} spikes in 200 steps")
# the LIF settles at 0.04 / (1 - 0.95) = 0.8 thresholds and never fires

# %% [markdown]
# ## Five neuron models
#
# | model | update per step | what it adds |
# | --- | --- | --- |
# | `sf.nn.IF` | `v = v + x` | no leak: a perfect integrator |
# | `sf.nn.LIF` | `v = beta v + x` | the leak |
# | `sf.nn.Synaptic` | `i = alpha i + x; v = beta v + i` | a synaptic current that filters the input |
# | `sf.nn.ALIF` | threshold `theta + b`, `b = rho b + beta_a s` | spike-frequency adaptation |
# | `sf.nn.Izhikevich` | `v' = 0.04 v^2 + 5 v + 140 - u + I`, `u' = a (b v - u)` | rich firing patterns in mV and ms |
#
# The same step current drives the four threshold models; the Izhikevich neuron works in
# millivolts with currents of about 10, so it gets its own current (10 from 20 ms) and its
# own units. The adaptive neuron's threshold rises with each spike, so the gaps between its
# spikes widen; the synaptic neuron (its input scaled by `1 - alpha`, so that its current
# settles at the same value) starts later and fires more smoothly, because its current builds
# up first.

# %%
steps = 200
x = torch.zeros(steps, 1, 1)
x[20:] = 0.12
models = {
    "IF": sf.nn.IF(threshold=1.0),
    "LIF (beta 0.95)": sf.nn.LIF(beta=0.95, threshold=1.0),
    "Synaptic (alpha 0.9, beta 0.95)": sf.nn.Synaptic(alpha=0.9, beta=0.95, threshold=1.0),
    "ALIF (beta 0.95, rho 0.98, beta_a 0.3)": sf.nn.ALIF(
        beta=0.95, rho=0.98, beta_a=0.3, threshold=1.0
    ),
}
izh = sf.nn.Izhikevich("regular_spiking", dt=0.25)
izh_current = torch.zeros(4 * steps, 1, 1)  # 0.25 ms steps: the same 200 ms
izh_current[80:] = 10.0

fig, axes = plt.subplots(5, 1, figsize=(8, 9.5), sharex=True, layout="constrained")
t = torch.arange(steps).numpy()
for ax, (name, neuron) in zip(axes, models.items(), strict=False):
    # the synaptic current sums its input over ~1 / (1 - alpha) steps: scale it to match
    tr = neuron.trace(x * (1 - neuron.alpha) if isinstance(neuron, sf.nn.Synaptic) else x)
    v, s = tr.v[:, 0, 0].numpy(), tr.spikes[:, 0, 0].numpy()
    ax.plot(t, v, color="#1f5fa8", lw=1.4, label="membrane $v$ (before reset)")
    ax.axhline(1.0, color="#c23b22", ls="--", lw=1.0, label="threshold")
    if isinstance(neuron, sf.nn.ALIF):  # its threshold 1 + b: b jumps by beta_a per spike
        b, theta = 0.0, []
        for spiked in s:
            theta.append(1.0 + b)
            b = 0.98 * b + 0.3 * spiked
        ax.step(t, theta, where="post", color="#e08a2c", lw=1.2, label="adaptive threshold")
    ax.plot(t[s > 0], v[s > 0], "v", color="#c23b22", ms=5, label="spike")
    ax.set_ylabel("$v$")
    ax.set_title(f"{name}: {int(s.sum())} spikes", loc="left", fontsize=10)
tr = izh.trace(izh_current)
t_izh = torch.arange(4 * steps).numpy() * 0.25
v, s = tr.v[:, 0, 0].numpy(), tr.spikes[:, 0, 0].numpy()
axes[-1].plot(t_izh, v, color="#1f5fa8", lw=1.0)
axes[-1].plot(t_izh[s > 0], v[s > 0], "v", color="#c23b22", ms=5)
axes[-1].set_ylabel("$v$ (mV)")
axes[-1].set_title(
    f"Izhikevich, regular spiking (I = 10 from 20 ms): {int(s.sum())} spikes",
    loc="left",
    fontsize=10,
)
axes[-1].set_xlabel("time (ms; 1 ms per step for the first four)")
axes[3].legend(loc="upper left", fontsize=8, ncols=2)
fig.suptitle("Membrane potential of five neuron models under a step current", fontweight="bold")
sf.plot.save(fig, "neuron_models.png")

# %% [markdown]
# ## The f-I curve
#
# For a LIF neuron with reset to zero driven by a constant current `I > threshold`, the
# membrane reaches the threshold after `tau ln(I / (I - threshold))`, so the firing rate is
#
# ```
# r(I) = 1 / (t_ref + tau ln(I / (I - threshold)))     (zero for I <= threshold)
# ```
#
# The simulation fires on the first *step* at or above the threshold, so its period is the
# analytic one rounded up to a whole step: the error shrinks with `dt`. We simulate one second
# for many currents at once (the currents are the batch dimension) at `dt = 1 ms` and
# `dt = 0.1 ms`.

# %%
t_ref = 2e-3  # seconds
currents = torch.linspace(0.8, 4.0, 17 if QUICK else 81)


def analytic_rate(i: float) -> float:
    if i <= 1.0:
        return 0.0
    return 1.0 / (t_ref + tau * math.log(i / (i - 1.0)))


def simulated_rate(step: float) -> torch.Tensor:
    neuron = sf.nn.LIF(
        tau=tau, dt=step, threshold=1.0, reset="zero", refractory=round(t_ref / step)
    )
    steps = round(1.0 / step)  # one second
    drive = (1 - neuron.beta) * currents.view(1, -1, 1).expand(steps, -1, 1)
    return neuron(drive)[0].sum(0)[:, 0]  # spikes in one second = rate in Hz


expected = torch.tensor([analytic_rate(i) for i in currents.tolist()])
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
ax.plot(currents, expected, color="black", lw=2, label="analytic $r(I)$")
for step, style in [(1e-3, "o"), (1e-4, "s")]:
    rate = simulated_rate(step)
    firing = expected > 0
    error = ((rate[firing] - expected[firing]).abs() / expected[firing]).max().item()
    print(f"dt = {step * 1e3:g} ms: largest relative error {error:.1%}")
    ax.plot(currents, rate, style, ms=4, mfc="none", label=f"simulated, dt = {step * 1e3:g} ms")
ax.set_xlabel("input current $I$ (thresholds)")
ax.set_ylabel("firing rate (Hz)")
ax.set_title("f-I curve of a LIF neuron (tau 20 ms, refractory 2 ms)", loc="left")
ax.legend()
ax.grid(alpha=0.3)
sf.plot.save(fig, "f_i_curve.png")

# %% [markdown]
# The simulated rates follow the analytic curve; the coarse step underestimates the rate
# (each period is rounded up to whole milliseconds), the fine one is within a few percent.
# Near the rheobase (`I` just above the threshold) the period is long and the rounding matters
# least. Next: [neural coding](02_coding.md), how numbers become spike trains.
