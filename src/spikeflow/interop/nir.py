"""NIR (Neuromorphic Intermediate Representation) export and import.

``to_nir(model, dt=...)`` turns a :class:`spikeflow.nn.Sequential` into a ``nir.NIRGraph``;
``from_nir(graph_or_path, dt=...)`` turns a NIR graph (object or ``.nir`` file) into one::

    import nir
    from spikeflow.interop import from_nir, to_nir
    graph = to_nir(model, dt=1e-3, input_shape=(1, 8, 8))
    nir.write("model.nir", graph)
    same = from_nir("model.nir")          # dt read back from the graph's metadata

Conventions (the NIR paper's continuous-time nodes, discretised with forward Euler at step ``dt``):

- ``LIF``: ``tau dv/dt = (v_leak - v) + r I`` gives ``v[t] = (1 - dt/tau) v[t-1] + (dt/tau)(v_leak
  + r x[t])``. A spikeflow ``LIF(beta)`` exports as ``tau = dt / (1 - beta)``, ``r = tau / dt``,
  ``v_leak = 0``, which makes the input gain ``r dt / tau`` exactly 1. On import ``beta = 1 - dt/tau``;
  an input gain other than 1 or a leak offset ``v_leak dt / tau`` (Norse writes ``r = 1``) becomes a
  :class:`~spikeflow.interop.nodes.Scale` layer in front of the neuron, so the dynamics stay exact.
- ``CubaLIF``: ``tau_syn = dt / (1 - alpha)``, ``tau_mem = dt / (1 - beta)``, ``r = tau_mem / dt``,
  ``w_in = tau_syn / dt`` (as snnTorch writes), i.e. spikeflow's ``i = alpha i + x; v = beta v + i``.
  A non-zero ``v_leak`` is refused (it enters behind the synapse and has no exact equivalent).
- ``IF``: ``v[t] = v[t-1] + r x[t]`` per step (``r = 1`` for spikeflow's IF, as snnTorch and Norse
  write it). A spikeflow ``LIF`` with ``beta = 1`` exports as ``IF``.
- ``LI`` / ``CubaLI`` / ``I``: non-spiking readouts, imported as
  :class:`~spikeflow.interop.nodes.LeakyIntegrator`; ``Threshold`` as
  :class:`~spikeflow.interop.nodes.Threshold` (NIR fires on ``v > threshold``, spikeflow on ``>=``;
  they differ only when ``v`` equals the threshold exactly).
- Recurrent layers (``RLIF``, ``RSynaptic``) export as a subgraph ``input -> lif -> output`` with the
  loop ``lif -> w_rec -> lif`` (``w_rec`` a NIR ``Linear``; one-to-one weights as a diagonal matrix),
  the layout snnTorch writes. Import also accepts the loop flattened into the parent graph; the
  recurrent input of step ``t`` is the spikes of step ``t - 1``.
- Delays (:mod:`spikeflow.interop.nir_delay`): a fixed ``Delay`` of ``d`` steps is NIR's ``Delay``
  with ``delay = d * dt`` seconds; a fixed ``DelayedLinear`` (a delay per synapse) exports as the
  equivalent subgraph ``fan_out -> delay -> weight``. Learnt delays are refused (``rounded()``).
- Shapes exclude time and batch; ``Flatten`` dims count from the first non-batch dim.

Resets. NIR's spiking neurons reset to ``v_reset`` ("zero" reset in spikeflow terms), which
exports exactly. ``reset="subtract"`` and ``reset="none"`` have no NIR form: with ``strict=False``
(default) they export as ``v_reset = 0`` plus node metadata ``{"reset": "subtract"}`` (or ``"none"``);
:func:`from_nir` reads that metadata back, so a spikeflow round trip is exact, while another NIR
consumer ignores it and resets to 0, which differs from subtracting the threshold when ``v``
overshoots. ``strict=True`` refuses such models instead. A refractory period, ALIF, Izhikevich,
max-pooling and batch norm have no NIR node and are refused with an error naming the layer.
Surrogate gradients are not part of NIR: pass ``surrogate=`` to :func:`from_nir`.
"""

from __future__ import annotations

from typing import Any

from spikeflow.optional import require


def to_nir(*args: Any, **kwargs: Any) -> Any:
    """Export a model to a ``nir.NIRGraph``: :func:`spikeflow.interop.nir_export.to_nir` (needs the
    ``nir`` extra; without it, a :class:`~spikeflow.errors.UserError` says how to install it)."""
    require("nir", extra="nir", feature="NIR export")
    from spikeflow.interop.nir_export import to_nir as export

    return export(*args, **kwargs)


def from_nir(*args: Any, **kwargs: Any) -> Any:
    """Import a NIR graph or ``.nir`` file: :func:`spikeflow.interop.nir_import.from_nir` (needs the
    ``nir`` extra; without it, a :class:`~spikeflow.errors.UserError` says how to install it)."""
    require("nir", extra="nir", feature="NIR import")
    from spikeflow.interop.nir_import import from_nir as load

    return load(*args, **kwargs)


__all__ = ["from_nir", "to_nir"]
