"""Homeostasis: adaptive thresholds that rise with each spike and relax back.

``theta[t] = theta[t-1] * exp(-dt / tau) + b * s[t]``: the threshold offset of each neuron, in
the units of the membrane (mV in the simulator). A neuron's threshold is ``v_th + theta``. In the
simulator this is :class:`spikeflow.sim.AdaptiveLIFGroup`; here it works on any spike trains,
for example to update the thresholds of a ``spikeflow.nn`` layer between batches.
"""

from __future__ import annotations

import math

import torch

from spikeflow.errors import UserError, check_range


def adaptive_threshold(
    spikes: torch.Tensor, tau: float, b: float, dt: float, theta0: torch.Tensor | None = None
) -> torch.Tensor:
    """The threshold offsets ``[T, B, N]`` after each step for spike trains ``[T, B, N]``.

    Arguments:
        spikes: 0/1 spike trains ``[T, B, N]``.
        tau: relaxation time constant (ms, > 0). b: jump per spike (>= 0). dt: step (ms).
        theta0: offsets before the first step, ``[B, N]`` or ``[N]`` (default 0).
    """
    check_range("tau", tau, 0.0, low_open=True)
    check_range("b", b, 0.0)
    check_range("dt", dt, 0.0, low_open=True)
    if spikes.dim() != 3:
        raise UserError(f"spikes has shape {tuple(spikes.shape)}; expected [T, B, N]")
    dtype = spikes.dtype if spikes.is_floating_point() else torch.float32
    theta = spikes.new_zeros(spikes.shape[1:], dtype=dtype)
    if theta0 is not None:
        theta = theta + theta0.to(dtype)
    decay = math.exp(-dt / tau)
    out = []
    for s in spikes.to(dtype):
        theta = theta * decay + b * s
        out.append(theta)
    return torch.stack(out)
