"""Lateral inhibition and winner-take-all.

On tensors: :func:`winner_take_all` keeps, at every step, only the spikes of the ``k`` spiking
neurons with the highest membrane potential (hard WTA), and :func:`lateral_inhibition` gives the
recurrent weight matrix of soft WTA (every neuron inhibits all others). In the simulator, soft WTA
is a ``Synapses(group, group, rule="all_but_self", target=<inhibitory channel>)``, as in
:mod:`spikeflow.sim.diehl_cook`.
"""

from __future__ import annotations

import torch

from spikeflow.errors import UserError, check_positive_int, check_range


def winner_take_all(spikes: torch.Tensor, potential: torch.Tensor, k: int = 1) -> torch.Tensor:
    """Keep the spikes of the ``k`` spiking neurons with the highest ``potential`` per step.

    Arguments:
        spikes: 0/1 spikes ``[..., N]`` (for example ``[T, B, N]``).
        potential: membrane potentials of the same shape, used to rank the spiking neurons
            (ties go to the lower index).
        k: number of winners per step and sample.
    Returns:
        Spikes of the same shape and dtype with at most ``k`` ones along the last dim.
    """
    check_positive_int("k", k)
    if spikes.shape != potential.shape:
        raise UserError(
            f"spikes {tuple(spikes.shape)} and potential {tuple(potential.shape)} must have the same shape"
        )
    k = min(k, spikes.shape[-1])
    score = torch.where(
        spikes > 0,
        potential.to(torch.float64),
        torch.full_like(potential, -torch.inf, dtype=torch.float64),
    )
    top = score.topk(k, dim=-1, sorted=False).indices
    keep = torch.zeros_like(spikes, dtype=torch.bool).scatter(-1, top, True)
    return spikes * keep.to(spikes.dtype)


def lateral_inhibition(n: int, strength: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Recurrent weights ``[n, n]``: ``-strength`` between different neurons, 0 on the diagonal."""
    check_positive_int("n", n)
    check_range("strength", strength, 0.0)
    return -strength * (1.0 - torch.eye(n, dtype=dtype))
