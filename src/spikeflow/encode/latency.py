"""Latency (time-to-first-spike) coding: stronger inputs spike earlier, each at most once."""

from __future__ import annotations

import math

import torch

from spikeflow.errors import (
    check_choice,
    check_floating,
    check_min_dims,
    check_num_steps,
    check_number,
    check_range,
    check_values_in,
)

LATENCY_METHODS = ("linear", "log")


def latency_times(
    x: torch.Tensor,
    num_steps: int,
    *,
    method: str = "linear",
    tau: float = 1.0,
    threshold: float = 0.01,
    normalize: bool = False,
) -> torch.Tensor:
    """Spike times (in steps, before rounding) of :func:`latency`; ``inf`` means no spike.

    Arguments and shapes are those of :func:`latency`; the result has ``x``'s shape.
    """
    check_floating("x", x)
    check_choice("method", method, LATENCY_METHODS)
    steps = check_num_steps(num_steps)
    check_values_in("x", x, 0.0, 1.0)
    threshold = check_number("threshold", threshold)
    if method == "log":
        check_range("threshold", threshold, 0.0, 1.0, low_open=True, high_open=True)
    else:
        check_range("threshold", threshold, 0.0, 1.0, high_open=True)
    if normalize:
        span = 1.0 - threshold if method == "linear" else math.log(1.0 / threshold)
        tau = (steps - 1) / span
    else:
        tau = check_number("tau", tau, positive=True)
    linear = method == "linear"
    times = tau * (1.0 - x) if linear else tau * torch.log(1.0 / x.clamp_min(threshold))
    return torch.where(x >= threshold, times, torch.full_like(times, math.inf))


def latency(
    x: torch.Tensor,
    num_steps: int,
    *,
    method: str = "linear",
    tau: float = 1.0,
    threshold: float = 0.01,
    normalize: bool = False,
) -> torch.Tensor:
    """Encode intensities in ``[0, 1]`` as the time of a single spike (brighter = earlier).

    The spike time of an element with intensity ``x``, in time steps, is

    - ``method="linear"``: ``t = tau * (1 - x)``;
    - ``method="log"``: ``t = tau * ln(1 / x)``, the time an exponentially growing signal
      ``x * exp(t / tau)`` takes to reach 1, which spreads the bright end of the range.

    The spike is emitted at step ``round(t)`` (to nearest, ties to even). Elements with
    ``x < threshold`` stay silent, and so does any spike that would fall at or after step ``T``.
    With ``normalize=True``, ``tau`` is ignored and chosen so that the whole range
    ``[threshold, 1]`` maps onto ``[T - 1, 0]``: ``x = 1`` spikes at step 0 and ``x = threshold``
    at step ``T - 1``.

    Arguments:
        x: static intensities ``[B, ...]`` in ``[0, 1]``, floating.
        num_steps: number of time steps ``T`` (a positive int).
        method: ``"linear"`` or ``"log"``.
        tau: time constant in steps (``> 0``), used when ``normalize`` is false.
        threshold: intensities below it emit no spike; in ``[0, 1)`` for linear, ``(0, 1)`` for
            log.
        normalize: stretch the code over all ``T`` steps as described above.

    Returns:
        Spikes ``[T, B, ...]`` of ``x``'s dtype, with at most one spike per element.

    Example:
        >>> latency(torch.tensor([1.0, 0.5, 0.0]), num_steps=5, tau=4.0)[:, 2]
        tensor([0., 0., 0., 0., 0.])
    """
    check_floating("x", x)
    check_min_dims("x", x, 1, "[B, ...]")
    times = latency_times(
        x, num_steps, method=method, tau=tau, threshold=threshold, normalize=normalize
    )
    step = torch.round(times)
    fires = step < num_steps
    index = torch.where(fires, step, torch.zeros_like(step)).long().unsqueeze(0)
    spikes = torch.zeros((num_steps, *x.shape), dtype=x.dtype, device=x.device)
    return spikes.scatter_(0, index, fires.unsqueeze(0).to(x.dtype))
