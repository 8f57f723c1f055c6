"""Population coding: a scalar becomes the responses of neurons with Gaussian receptive fields."""

from __future__ import annotations

import torch

from spikeflow.errors import (
    UserError,
    check_finite,
    check_floating,
    check_number,
    check_positive_int,
)


def population_centres(
    num_neurons: int, low: float = 0.0, high: float = 1.0, *, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Preferred values of the neurons of :func:`population`: ``num_neurons`` points evenly
    spaced from ``low`` to ``high`` inclusive (the midpoint when there is a single neuron)."""
    check_positive_int("num_neurons", num_neurons)
    low = check_number("low", low)
    high = check_number("high", high)
    if not low < high:
        raise UserError(f"low={low!r}, high={high!r} are not valid; expected low < high")
    if num_neurons == 1:
        return torch.tensor([(low + high) / 2], dtype=dtype)
    return torch.linspace(low, high, num_neurons, dtype=dtype)


def population(
    x: torch.Tensor,
    num_neurons: int,
    *,
    low: float = 0.0,
    high: float = 1.0,
    sigma: float | None = None,
) -> torch.Tensor:
    """Responses of a population of neurons with Gaussian tuning curves to each value of ``x``.

    Neuron ``k`` prefers the value ``c_k`` (see :func:`population_centres`) and responds to
    ``x`` with ``exp(-(x - c_k)^2 / (2 sigma^2))``, a number in ``(0, 1]`` that peaks at 1 when
    ``x = c_k``. Feed the responses to :func:`rate` or :func:`latency` to get spikes, e.g.
    ``latency(population(x, 10), num_steps=20, normalize=True)``.

    Arguments:
        x: values ``[B, ...]``, floating and finite (usually within ``[low, high]``).
        num_neurons: neurons per value ``N`` (a positive int).
        low: the smallest preferred value.
        high: the largest preferred value.
        sigma: width of each tuning curve in the units of ``x`` (``> 0``); default: the spacing
            between neighbouring centres, ``(high - low) / (N - 1)`` (``high - low`` if ``N = 1``).

    Returns:
        Responses ``[B, ..., N]`` (a new last axis), of ``x``'s dtype.

    Example:
        >>> population(torch.tensor([0.5]), 3).argmax(-1)
        tensor([1])
    """
    check_floating("x", x)
    check_finite("x", x)
    centres = population_centres(num_neurons, low, high, dtype=x.dtype).to(x.device)
    if sigma is None:
        sigma = (high - low) / max(num_neurons - 1, 1)
    sigma = check_number("sigma", sigma, positive=True)
    distance = x.unsqueeze(-1) - centres
    return torch.exp(-0.5 * (distance / sigma) ** 2)
