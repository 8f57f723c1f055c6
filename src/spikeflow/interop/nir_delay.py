"""Delays in NIR: fixed integer delays <-> NIR ``Delay`` nodes (``y(t) = x(t - tau)``, ``tau`` in
seconds, one per element).

- :class:`spikeflow.nn.Delay` with fixed delays ``d`` exports as ``Delay(delay = d * dt)``; a NIR
  ``Delay`` imports as a fixed :class:`~spikeflow.nn.Delay` with ``d = delay / dt`` steps, which
  must be whole steps.
- :class:`spikeflow.nn.DelayedLinear` (one delay per synapse) has no single NIR node; its fixed
  form exports as the equivalent subgraph ``fan_out -> delay -> weight``: a 0/1 ``Linear``
  ``[O * I, I]`` copies every input once per synapse, the ``Delay`` delays each synapse, and a
  ``Linear`` / ``Affine`` ``[O, O * I]`` sums each neuron's synapses. It imports back as those
  three layers, which compute the same outputs.

Learnt delays (interpolation kernels) are refused: ``layer.rounded()`` fixes them first.
"""

from __future__ import annotations

import nir
import numpy as np
import torch

from spikeflow.errors import UserError
from spikeflow.nn import Delay, DelayedLinear


def _fixed(layer: Delay | DelayedLinear, what: str) -> np.ndarray:
    if layer.learn:
        raise UserError(
            f"{what}: learnt delays (interpolation kernels) have no NIR node; expected fixed "
            "integer delays: export layer.rounded() instead"
        )
    return layer.delays().cpu().numpy().astype(np.float64)


def delay_to_nir(layer: Delay | DelayedLinear, dt: float, what: str) -> nir.NIRNode:
    """The NIR node (``Delay``) or subgraph (``DelayedLinear``) for a fixed delay layer.

    Arguments:
        layer: a :class:`~spikeflow.nn.Delay` or :class:`~spikeflow.nn.DelayedLinear` with
            ``learn=False``. dt: seconds per step. what: the layer's name for errors.

    Returns:
        a ``nir.Delay``, or a ``nir.NIRGraph`` ``input -> fan_out -> delay -> weight -> output``.
    """
    delays = _fixed(layer, what) * dt
    if isinstance(layer, Delay):
        return nir.Delay(delay=delays)
    n_in, n_out = layer.in_features, layer.out_features
    fan_out = np.tile(np.eye(n_in), (n_out, 1))  # row o * I + i copies input i
    w = layer.weight.detach().to("cpu", torch.float64).numpy()
    sums = np.zeros((n_out, n_out * n_in))
    for o in range(n_out):
        sums[o, o * n_in : (o + 1) * n_in] = w[o]
    if layer.bias is None:
        weight: nir.NIRNode = nir.Linear(weight=sums)
    else:
        bias = layer.bias.detach().to("cpu", torch.float64).numpy()
        weight = nir.Affine(weight=sums, bias=bias)
    nodes = {
        "input": nir.Input(np.array([n_in])),
        "fan_out": nir.Linear(weight=fan_out),
        "delay": nir.Delay(delay=delays.reshape(-1)),
        "weight": weight,
        "output": nir.Output(np.array([n_out])),
    }
    edges = [("input", "fan_out"), ("fan_out", "delay"), ("delay", "weight"), ("weight", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def delay_from_nir(node: nir.Delay, dt: float, what: str) -> Delay:
    """A fixed :class:`~spikeflow.nn.Delay` for a NIR ``Delay`` node.

    Arguments:
        node: the NIR node (``delay`` in seconds, one per element). dt: seconds per step.
        what: the node's name for errors.

    Returns:
        the layer, with ``max_delay`` the largest delay (at least 1).
    """
    seconds = np.asarray(node.delay, dtype=np.float64)
    if seconds.ndim != 1:
        raise UserError(
            f"{what}: delay has shape {seconds.shape}; expected one delay per feature [N]"
        )
    steps = seconds / dt
    whole = np.round(steps)
    if np.any(whole < 0) or not np.allclose(steps, whole, rtol=0, atol=1e-6):
        bad = steps[(whole < 0) | ~np.isclose(steps, whole, rtol=0, atol=1e-6)].flat[0]
        raise UserError(
            f"{what}: a delay of {bad:g} steps (delay / dt with dt={dt:g}) is not valid; expected "
            "whole, non-negative numbers of steps"
        )
    delays = torch.as_tensor(whole, dtype=torch.get_default_dtype())
    max_delay = max(int(whole.max(initial=0)), 1)
    return Delay(len(whole), max_delay, delays=delays, learn=False)
