"""Normalisation of each neuron's input weights (a fixed total per postsynaptic neuron)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from spikeflow.errors import UserError, check_range

if TYPE_CHECKING:
    from spikeflow.sim.network import Network
    from spikeflow.sim.synapses import Synapses


def normalize_weights(w: torch.Tensor, total: float) -> torch.Tensor:
    """Scale every row of ``w`` ``[N_post, N_pre]`` so that it sums to ``total``.

    Rows that sum to zero are left as they are. Returns a new tensor.
    """
    check_range("total", total, 0.0, low_open=True)
    if w.dim() != 2:
        raise UserError(f"w has shape {tuple(w.shape)}; expected [N_post, N_pre]")
    sums = w.sum(dim=1, keepdim=True)
    scale = torch.where(
        sums != 0,
        total / torch.where(sums != 0, sums, torch.ones_like(sums)),
        torch.ones_like(sums),
    )
    return w * scale


def normalize_incoming(net: Network, syn: Synapses, total: float) -> None:
    """In the simulator: scale the weights of ``syn`` so that each postsynaptic neuron's
    incoming weights sum to ``total`` (in every batch copy). Neurons without input are skipped.
    """
    check_range("total", total, 0.0, low_open=True)
    w = net.weights(syn)
    _, post = net.connectivity(syn)
    sums = np.zeros((w.shape[0], syn.post.n))
    for b in range(w.shape[0]):
        sums[b] = np.bincount(post, weights=w[b], minlength=syn.post.n)
    safe = np.where(sums != 0, sums, 1.0)
    scale = np.where(sums != 0, total / safe, 1.0)
    net.set_weights(syn, w * scale[:, post])
