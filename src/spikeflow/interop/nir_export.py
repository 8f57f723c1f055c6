"""spikeflow -> NIR: one NIR node per layer of a (nested) :class:`spikeflow.nn.Sequential`.

See :mod:`spikeflow.interop.nir` for the conventions (time constants, resistances, resets).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import nir
import numpy as np
import torch
from torch import Tensor, nn

from spikeflow.errors import UserError, check_range
from spikeflow.functional import LIFParams, SpikeParams
from spikeflow.interop.nir_delay import delay_to_nir
from spikeflow.interop.nodes import LeakyIntegrator, Scale, Threshold
from spikeflow.nn import (
    IF,
    LIF,
    Delay,
    DelayedLinear,
    Dropout,
    Recurrent,
    Sequential,
    Synaptic,
    TimeDistributed,
)

SKIPPED = (nn.Identity, nn.Dropout, Dropout)
SUPPORTED = (
    "Linear, Conv1d, Conv2d, Flatten, AvgPool2d (divisor_override=1 -> SumPool2d), Identity, "
    "Dropout (skipped), LIF, PLIF, IF, Synaptic, RLIF/RSynaptic (Recurrent), fixed Delay and "
    "DelayedLinear, and spikeflow.interop LeakyIntegrator, Threshold, Scale"
)


@runtime_checkable
class _AsSequential(Protocol):
    """A model that flattens into one :class:`Sequential` (the spikeflow.models classifiers)."""

    def as_sequential(self) -> Sequential: ...


def flat_layers(model: nn.Module) -> Iterator[nn.Module]:
    """The leaf layers of ``model`` in order, unwrapping containers and :class:`TimeDistributed`."""
    if isinstance(model, _AsSequential):
        yield from flat_layers(model.as_sequential())
    elif isinstance(model, Sequential):
        for layer in model.layers:
            yield from flat_layers(layer)
    elif isinstance(model, nn.Sequential):
        for layer in model:
            yield from flat_layers(layer)
    elif isinstance(model, TimeDistributed):
        yield from flat_layers(model.layer)
    else:
        yield model


def _array(value: Tensor | float, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array broadcast to the neuron shape ``shape``."""
    a = torch.as_tensor(value).detach().to("cpu", torch.float64).numpy()
    return np.broadcast_to(a, shape).copy()


def _time_constant(name: str, decay: np.ndarray, dt: float, what: str) -> np.ndarray:
    """``tau = dt / (1 - decay)``, refusing ``decay == 1`` (infinite tau)."""
    if np.any(decay >= 1):
        raise UserError(
            f"{what}: {name}=1 (no leak) gives an infinite NIR time constant tau = dt / (1 - {name}); "
            f"expected {name} < 1"
        )
    return dt / (1.0 - decay)


def _reset(sp: SpikeParams, shape: tuple[int, ...], strict: bool, what: str) -> tuple[Any, dict]:
    """NIR ``v_reset`` and node metadata for a spikeflow reset mode."""
    if sp.refractory:
        raise UserError(
            f"{what}: refractory={sp.refractory} cannot be represented in NIR (its neurons have no "
            "refractory period); expected refractory=0"
        )
    if sp.reset == "zero":
        return _array(sp.v_reset, shape), {}
    if strict:
        raise UserError(
            f"{what}: reset={sp.reset!r} cannot be represented in NIR, whose neurons reset to "
            "v_reset; expected reset='zero', or strict=False to export it as v_reset=0 with "
            "metadata reset='" + sp.reset + "' (restored exactly by spikeflow.interop.from_nir)"
        )
    return np.zeros(shape), {"reset": sp.reset}


def _lif(layer: LIF | IF, shape: tuple, dt: float, strict: bool, what: str) -> nir.NIRNode:
    p = layer.params()
    sp = p.spike
    v_reset, meta = _reset(sp, shape, strict, what)
    thr = _array(sp.threshold, shape)
    beta = _array(p.beta, shape) if isinstance(p, LIFParams) else np.ones(shape)
    if np.all(beta == 1):
        return nir.IF(r=np.ones(shape), v_threshold=thr, v_reset=v_reset, metadata=meta)
    tau = _time_constant("beta", beta, dt, what)
    return nir.LIF(
        tau=tau, r=tau / dt, v_leak=np.zeros(shape), v_threshold=thr, v_reset=v_reset, metadata=meta
    )


def _synaptic(layer: Synaptic, shape: tuple, dt: float, strict: bool, what: str) -> nir.NIRNode:
    p = layer.params()
    v_reset, meta = _reset(p.spike, shape, strict, what)
    tau_syn = _time_constant("alpha", _array(p.alpha, shape), dt, what)
    tau_mem = _time_constant("beta", _array(p.beta, shape), dt, what)
    return nir.CubaLIF(
        tau_syn=tau_syn,
        tau_mem=tau_mem,
        r=tau_mem / dt,
        v_leak=np.zeros(shape),
        v_threshold=_array(p.spike.threshold, shape),
        v_reset=v_reset,
        w_in=tau_syn / dt,
        metadata=meta,
    )


def _integrator(layer: LeakyIntegrator, shape: tuple, dt: float, what: str) -> nir.NIRNode:
    alpha, beta = _array(layer.alpha, shape), _array(layer.beta, shape)
    if np.all(alpha == 0):
        if np.all(beta == 1):
            return nir.I(r=np.ones(shape))
        tau = _time_constant("beta", beta, dt, what)
        return nir.LI(tau=tau, r=tau / dt, v_leak=np.zeros(shape))
    tau_syn = _time_constant("alpha", alpha, dt, what)
    tau_mem = _time_constant("beta", beta, dt, what)
    return nir.CubaLI(
        tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt, v_leak=np.zeros(shape), w_in=tau_syn / dt
    )


def _neuron(layer: nn.Module, shape: tuple, dt: float, strict: bool, what: str) -> nir.NIRNode:
    if isinstance(layer, LIF | IF):
        return _lif(layer, shape, dt, strict, what)
    if isinstance(layer, Synaptic):
        return _synaptic(layer, shape, dt, strict, what)
    raise UserError(
        f"{what}: {type(layer).__name__} has no NIR equivalent; expected one of {SUPPORTED}"
    )


def _recurrent(layer: Recurrent, shape: tuple, dt: float, strict: bool, what: str) -> nir.NIRGraph:
    """A recurrent layer as a NIR subgraph: input -> neuron -> output, neuron <-> w_rec."""
    cell = _neuron(layer.neuron, shape, dt, strict, what)
    w = layer.weight.detach().to("cpu", torch.float64).numpy()
    meta = {"connectivity": layer.connectivity}
    w_rec = nir.Linear(weight=np.diag(w) if w.ndim == 1 else w.copy(), metadata=meta)
    name = type(cell).__name__.lower()
    nodes = {"input": nir.Input(np.array(shape)), name: cell, "w_rec": w_rec}
    nodes["output"] = nir.Output(np.array(shape))
    edges = [("input", name), (name, "w_rec"), ("w_rec", name), (name, "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _conv(layer: nn.Conv1d | nn.Conv2d, shape: tuple, what: str) -> nir.NIRNode:
    if layer.padding_mode != "zeros":
        raise UserError(
            f"{what}: padding_mode={layer.padding_mode!r} has no NIR equivalent; expected 'zeros'"
        )
    weight = layer.weight.detach().to("cpu", torch.float64).numpy()
    bias = np.zeros(weight.shape[0]) if layer.bias is None else _array(layer.bias, weight.shape[:1])
    pad = layer.padding if isinstance(layer.padding, str) else tuple(layer.padding)
    if isinstance(layer, nn.Conv1d):
        return nir.Conv1d(
            input_shape=int(shape[1]),
            weight=weight,
            stride=int(layer.stride[0]),
            padding=pad if isinstance(pad, str) else int(pad[0]),
            dilation=int(layer.dilation[0]),
            groups=layer.groups,
            bias=bias,
        )
    return nir.Conv2d(
        input_shape=tuple(int(s) for s in shape[1:]),
        weight=weight,
        stride=tuple(layer.stride),
        padding=pad,
        dilation=tuple(layer.dilation),
        groups=layer.groups,
        bias=bias,
    )


def _pool(layer: nn.AvgPool2d, what: str) -> nir.NIRNode:
    if layer.ceil_mode or layer.divisor_override not in (None, 1):
        raise UserError(
            f"{what}: AvgPool2d(ceil_mode={layer.ceil_mode}, divisor_override="
            f"{layer.divisor_override}) has no NIR equivalent; expected ceil_mode=False and "
            "divisor_override None (AvgPool2d) or 1 (SumPool2d)"
        )
    args = {
        name: np.array(torch.nn.modules.utils._pair(getattr(layer, name)))
        for name in ("kernel_size", "stride", "padding")
    }
    return nir.SumPool2d(**args) if layer.divisor_override == 1 else nir.AvgPool2d(**args)


def _stateless(layer: nn.Module, shape: tuple, what: str) -> nir.NIRNode:
    if isinstance(layer, nn.Linear):
        w = layer.weight.detach().to("cpu", torch.float64).numpy()
        if layer.bias is None:
            return nir.Linear(weight=w)
        return nir.Affine(weight=w, bias=_array(layer.bias, w.shape[:1]))
    if isinstance(layer, nn.Conv1d | nn.Conv2d):
        return _conv(layer, shape, what)
    if isinstance(layer, nn.Flatten):
        if layer.start_dim == 0:
            raise UserError(f"{what}: Flatten(start_dim=0) would merge time and batch")
        end = layer.end_dim - 1 if layer.end_dim > 0 else layer.end_dim
        return nir.Flatten(input_type=np.array(shape), start_dim=layer.start_dim - 1, end_dim=end)
    if isinstance(layer, nn.AvgPool2d):
        return _pool(layer, what)
    if isinstance(layer, Threshold):
        return nir.Threshold(threshold=_array(layer.threshold, shape))
    if isinstance(layer, Scale):
        if torch.any(layer.offset != 0):
            raise UserError(f"{what}: Scale with a non-zero offset has no NIR node (Scale is x*s)")
        return nir.Scale(scale=_array(layer.gain, shape))
    raise UserError(
        f"{what}: {type(layer).__name__} has no NIR equivalent; expected one of {SUPPORTED}"
    )


def _input_shape(layers: list[nn.Module], input_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    if input_shape is not None:
        return tuple(int(s) for s in input_shape)
    first = next((la for la in layers if not isinstance(la, SKIPPED)), None)
    if isinstance(first, nn.Linear | DelayedLinear):
        return (first.in_features,)
    if isinstance(first, Delay):
        return (first.features,)
    if isinstance(first, Recurrent):
        return (first.size,)
    raise UserError(
        "input_shape=None is not valid for a model that starts with "
        f"{type(first).__name__}; expected the shape of one sample without time and batch, "
        "e.g. input_shape=(2, 34, 34)"
    )


def _out_shape(layer: nn.Module, shape: tuple) -> tuple:
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, *shape)).shape[1:])


def to_nir(
    model: nn.Module,
    *,
    dt: float = 1e-3,
    input_shape: tuple[int, ...] | None = None,
    strict: bool = False,
) -> nir.NIRGraph:
    """Export a spikeflow model to a NIR graph (write it with ``nir.write(path, graph)``).

    Arguments:
        model: a :class:`spikeflow.nn.Sequential` (or ``torch.nn.Sequential``, or one layer).
        dt: the time step (seconds) that one spikeflow step stands for; stored as ``metadata["dt"]``.
        input_shape: shape of one sample without time and batch (e.g. ``(2, 34, 34)``); inferred
            when the model starts with a Linear or recurrent layer.
        strict: refuse ``reset="subtract" | "none"`` instead of exporting it as ``v_reset = 0`` with
            node metadata ``reset`` (see :mod:`spikeflow.interop.nir`).

    Returns:
        a ``nir.NIRGraph``: ``input -> layer_0 -> ... -> output``; recurrent layers are subgraphs.
    """
    check_range("dt", dt, 0, low_open=True)
    layers = [la for la in flat_layers(model) if not isinstance(la, SKIPPED)]
    if not layers:
        raise UserError(f"model={type(model).__name__} has no layers to export")
    shape = _input_shape(layers, input_shape)
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(np.array(shape))}
    names = ["input"]
    for i, layer in enumerate(layers):
        what = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer, Recurrent):
            node = _recurrent(layer, shape, dt, strict, what)
        elif isinstance(layer, LeakyIntegrator):
            node = _integrator(layer, shape, dt, what)
        elif isinstance(layer, LIF | IF | Synaptic):
            node = _neuron(layer, shape, dt, strict, what)
        elif isinstance(layer, Delay | DelayedLinear):
            node = delay_to_nir(layer, dt, what)
            shape = (layer.out_features,) if isinstance(layer, DelayedLinear) else shape
        else:
            node = _stateless(layer, shape, what)
            shape = _out_shape(layer, shape)
        name = f"{type(node).__name__.lower()}_{i}"
        nodes[name] = node
        names.append(name)
    nodes["output"] = nir.Output(np.array(shape))
    names.append("output")
    edges = list(itertools.pairwise(names))
    return nir.NIRGraph(
        nodes=nodes, edges=edges, metadata={"dt": float(dt), "producer": "spikeflow"}
    )
