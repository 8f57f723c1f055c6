"""Decoders: read a time-major spike train or membrane trace back into one value per neuron."""

from __future__ import annotations

import torch

from spikeflow.errors import check_floating, check_min_dims

_LAYOUT = "[T, B, ...]"


def spike_count(spikes: torch.Tensor, *, normalize: bool = False) -> torch.Tensor:
    """Number of spikes of each neuron over time.

    Arguments:
        spikes: ``[T, B, ...]``, floating (gradients flow through the sum).
        normalize: divide by ``T`` to get the mean rate in spikes per step.

    Returns:
        Counts (or rates) ``[B, ...]``.
    """
    check_floating("spikes", spikes)
    check_min_dims("spikes", spikes, 2, _LAYOUT)
    counts = spikes.sum(dim=0)
    return counts / spikes.shape[0] if normalize else counts


def first_spike_time(spikes: torch.Tensor, *, no_spike: float | None = None) -> torch.Tensor:
    """Step of the first spike of each neuron (0-based), the inverse of :func:`latency`.

    Arguments:
        spikes: ``[T, B, ...]``, floating; any non-zero value counts as a spike.
        no_spike: value for neurons that never spike; default ``T`` (one step past the end), so
            that ``argmin`` over the result picks the earliest-firing neuron.

    Returns:
        Times in steps ``[B, ...]`` of ``spikes``' dtype.
    """
    check_floating("spikes", spikes)
    check_min_dims("spikes", spikes, 2, _LAYOUT)
    steps = spikes.shape[0]
    fired = spikes != 0
    shape = (steps,) + (1,) * (spikes.dim() - 1)
    index = torch.arange(steps, device=spikes.device).reshape(shape).expand_as(spikes)
    first = torch.where(fired, index, torch.full_like(index, steps)).amin(dim=0)
    fill = float(steps) if no_spike is None else float(no_spike)
    times = first.to(spikes.dtype)
    return torch.where(first == steps, torch.full_like(times, fill), times)


def max_membrane(v: torch.Tensor) -> torch.Tensor:
    """Largest membrane potential of each neuron over time (a differentiable readout).

    Arguments:
        v: membrane potential ``[T, B, ...]``, floating.

    Returns:
        ``[B, ...]``, the maximum over the time axis.
    """
    check_floating("v", v)
    check_min_dims("v", v, 2, _LAYOUT)
    return v.amax(dim=0)
