"""NIR -> spikeflow: a chain graph (with recurrent loops or subgraphs) as a :class:`Sequential`.

See :mod:`spikeflow.interop.nir` for the conventions (time constants, resistances, resets).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from spikeflow.errors import UserError, check_choice, check_range
from spikeflow.interop.nir_delay import delay_from_nir
from spikeflow.interop.nodes import LeakyIntegrator, Scale, Threshold
from spikeflow.nn import IF, LIF, Recurrent, Sequential, Synaptic

NEURONS = (nir.LIF, nir.IF, nir.CubaLIF, nir.LI, nir.CubaLI, nir.I)
SUPPORTED = (
    "Input, Output, Affine, Linear, Scale, Conv1d, Conv2d, Flatten, SumPool2d, "
    "AvgPool2d, IF, I, LI, LIF, CubaLI, CubaLIF, Threshold, Delay, and recurrent (sub)graphs of a "
    "LIF/CubaLIF/IF node looped through a Linear/Affine node"
)


@dataclass
class _Neuron:
    """A spikeflow neuron plus the input map ``gain * x + offset`` NIR's parameters imply."""

    module: nn.Module
    gain: Any  # float or np.ndarray of the neuron shape
    offset: Any


def _compact(a: Any) -> Any:
    """A float when every element is equal, else a float tensor (keeps modules simple)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size and np.all(a == a.flat[0]):
        return float(a.flat[0])
    return torch.as_tensor(a, dtype=torch.get_default_dtype())


def _is(value: Any, target: float) -> bool:
    return bool(np.allclose(np.asarray(value, dtype=np.float64), target, rtol=1e-9, atol=1e-12))


def _decay(name: str, tau: Any, dt: float, what: str) -> np.ndarray:
    """Per-step decay ``1 - dt / tau`` (the NIR convention), checked to lie in [0, 1]."""
    tau = np.asarray(tau, dtype=np.float64)
    if not np.all(tau > 0):  # also refuses NaN
        bad = tau[~(tau > 0)].flat[0]
        raise UserError(f"{what}: {name}={bad:g} is not valid; expected tau > 0")
    d = 1.0 - dt / tau
    if np.any(d < 0):
        raise UserError(
            f"{what}: dt={dt:g} is larger than {name}={tau.min():g}, so the decay 1 - dt/{name} is "
            "negative; expected dt <= tau (pass a smaller dt)"
        )
    return d


def _reset(node: nir.NIRNode) -> dict:
    mode = node.metadata.get("reset", "zero") if isinstance(node.metadata, dict) else "zero"
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    check_choice("metadata reset", mode, ("zero", "subtract", "none"))
    return {"reset": mode, "v_reset": _compact(node.v_reset)}


def _neuron(node: nir.NIRNode, dt: float, surrogate: str, what: str) -> _Neuron:
    """The spikeflow module for a NIR neuron node, with its input gain and offset."""
    if isinstance(node, nir.LIF):
        beta = _decay("tau", node.tau, dt, what)
        k = dt / np.asarray(node.tau, dtype=np.float64)
        lif = LIF(
            _compact(beta),
            threshold=_compact(node.v_threshold),
            **_reset(node),
            surrogate=surrogate,
        )
        return _Neuron(lif, node.r * k, node.v_leak * k)
    if isinstance(node, nir.IF):
        neuron = IF(threshold=_compact(node.v_threshold), **_reset(node), surrogate=surrogate)
        return _Neuron(neuron, node.r, 0.0)
    if isinstance(node, nir.LI):
        decay = _decay("tau", node.tau, dt, what)
        k = dt / np.asarray(node.tau, dtype=np.float64)
        return _Neuron(LeakyIntegrator(_compact(decay)), node.r * k, node.v_leak * k)
    if isinstance(node, nir.I):
        return _Neuron(LeakyIntegrator(1.0), node.r, 0.0)
    if not _is(node.v_leak, 0):
        raise UserError(
            f"{what}: v_leak={np.max(np.abs(node.v_leak)):g} in a {type(node).__name__} has no "
            "exact spikeflow equivalent (the leak enters the membrane behind the synapse); "
            "expected v_leak=0"
        )
    alpha = _compact(_decay("tau_syn", node.tau_syn, dt, what))
    beta = _compact(_decay("tau_mem", node.tau_mem, dt, what))
    ks = dt / np.asarray(node.tau_syn, dtype=np.float64)
    km = dt / np.asarray(node.tau_mem, dtype=np.float64)
    gain = node.w_in * ks * node.r * km
    if isinstance(node, nir.CubaLI):
        return _Neuron(LeakyIntegrator(beta, alpha), gain, 0.0)
    module = Synaptic(
        alpha, beta, threshold=_compact(node.v_threshold), **_reset(node), surrogate=surrogate
    )
    return _Neuron(module, gain, 0.0)


def _input_map(gain: Any, offset: Any) -> list[nn.Module]:
    if _is(gain, 1) and _is(offset, 0):
        return []
    return [Scale(_compact(gain), _compact(offset))]


def _recurrent(neuron: _Neuron, w_node: nir.NIRNode, what: str) -> list[nn.Module]:
    """``s[t] = neuron(gain * (x[t] + W s[t-1] + b) + offset)`` as Scale + :class:`Recurrent`."""
    w = np.asarray(w_node.weight, dtype=np.float64)
    n = w.shape[0]
    if w.shape != (n, n) or not isinstance(neuron.module, LIF | IF | Synaptic):
        raise UserError(
            f"{what}: a recurrent loop needs a square weight around a LIF/IF/CubaLIF node; got "
            f"{type(neuron.module).__name__} with weight shape {w.shape}"
        )
    gain = np.broadcast_to(np.asarray(neuron.gain, dtype=np.float64), (n,))
    bias = np.asarray(getattr(w_node, "bias", np.zeros(n)), dtype=np.float64)
    one_to_one = np.array_equal(w, np.diag(np.diag(w)))
    rec = Recurrent(neuron.module, n, "one_to_one" if one_to_one else "dense")
    weight = gain * np.diag(w) if one_to_one else gain[:, None] * w
    with torch.no_grad():
        rec.weight.copy_(torch.as_tensor(weight))
    return [*_input_map(gain, gain * bias + neuron.offset), rec]


def _pair(value: Any) -> tuple[int, int]:
    a = np.broadcast_to(np.asarray(value), (2,))
    return (int(a[0]), int(a[1]))


def _padding(value: Any) -> Any:
    if isinstance(value, bytes | str):
        return value.decode() if isinstance(value, bytes) else value
    return value


def _stateless(node: nir.NIRNode, surrogate: str, what: str) -> list[nn.Module]:
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.get_default_dtype())  # noqa: E731
    if isinstance(node, nir.Affine | nir.Linear):
        w = np.asarray(node.weight)
        layer = nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine))
        with torch.no_grad():
            layer.weight.copy_(t(w))
            if layer.bias is not None:
                layer.bias.copy_(t(node.bias))
        return [layer]
    if isinstance(node, nir.Conv1d | nir.Conv2d):
        w = np.asarray(node.weight)
        pad = _padding(node.padding)
        size = (w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]))
        conv: nn.Conv1d | nn.Conv2d
        if isinstance(node, nir.Conv1d):
            conv = nn.Conv1d(*size, stride=int(node.stride),
                             padding=pad if isinstance(pad, str) else int(pad),
                             dilation=int(node.dilation), groups=int(node.groups))  # fmt: skip
        else:
            conv = nn.Conv2d(*size, stride=_pair(node.stride),
                             padding=pad if isinstance(pad, str) else _pair(pad),
                             dilation=_pair(node.dilation), groups=int(node.groups))  # fmt: skip
        with torch.no_grad():
            conv.weight.copy_(t(w))
            assert conv.bias is not None  # built with the default bias=True
            conv.bias.copy_(t(node.bias))
        return [conv]
    if isinstance(node, nir.Flatten):
        end = int(node.end_dim)
        return [nn.Flatten(int(node.start_dim) + 1, end + 1 if end >= 0 else end)]
    if isinstance(node, nir.SumPool2d | nir.AvgPool2d):
        divisor = 1 if isinstance(node, nir.SumPool2d) else None
        args = (_pair(node.kernel_size), _pair(node.stride), _pair(node.padding))
        return [nn.AvgPool2d(*args, divisor_override=divisor)]
    if isinstance(node, nir.Scale):
        return [Scale(_compact(node.scale))]
    if isinstance(node, nir.Threshold):
        return [Threshold(_compact(node.threshold), surrogate)]
    if isinstance(node, nir.Input | nir.Output):
        return []
    raise UserError(
        f"{what}: NIR node type {type(node).__name__} is not supported; expected {SUPPORTED}"
    )


def _chain(graph: nir.NIRGraph) -> tuple[list[str], dict[str, str]]:
    """Node names from the input to the output, and the recurrent loops ``{neuron: weight}``."""
    nodes, edges = graph.nodes, [tuple(e) for e in graph.edges]
    succ, pred = defaultdict(list), defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
        pred[b].append(a)
    loops = {
        a: b
        for a, b in edges
        if (b, a) in edges
        and isinstance(nodes[a], NEURONS)
        and isinstance(nodes[b], nir.Linear | nir.Affine)
        and succ[b] == [a]
        and pred[b] == [a]
    }
    for a, b in loops.items():
        succ[a].remove(b)
        pred[a].remove(b)
    starts = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(starts) != 1:
        raise UserError(f"the NIR graph has {len(starts)} Input nodes; expected exactly one")
    order, cur = [starts[0]], starts[0]
    while succ[cur]:
        if len(succ[cur]) > 1:
            raise UserError(
                f"NIR node {cur!r} feeds {len(succ[cur])} nodes {succ[cur]}; from_nir supports "
                "chains of layers (with recurrent loops), not branching graphs"
            )
        cur = succ[cur][0]
        if len(pred[cur]) != 1 or cur in order:
            raise UserError(
                f"NIR node {cur!r} has {len(pred[cur])} inputs {pred[cur]}; from_nir supports "
                "chains of layers (with recurrent loops), not merging or cyclic graphs"
            )
        order.append(cur)
    missing = set(nodes) - set(order) - set(loops.values())
    if missing:
        raise UserError(f"NIR nodes {sorted(missing)} are not on the path from input to output")
    return order, loops


def _check_finite(node: nir.NIRNode, what: str) -> None:
    """Refuse NaN and infinite numbers in any numeric field of ``node`` (weights, taus, ...)."""
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, nir.NIRNode | dict | str | bytes) or value is None:
            continue
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if not np.all(np.isfinite(a)):
            raise UserError(
                f"{what}: {field.name} contains NaN or infinite values; expected finite numbers"
            )


def _check_edges(graph: nir.NIRGraph) -> None:
    """Refuse an edge whose end is not a node of ``graph``."""
    for edge in graph.edges:
        for end in tuple(edge):
            if end not in graph.nodes:
                raise UserError(
                    f"the NIR graph has an edge {tuple(edge)} to or from {end!r}, which is not one "
                    f"of its nodes {sorted(graph.nodes)}"
                )


def _modules(graph: nir.NIRGraph, dt: float, surrogate: str) -> list[nn.Module]:
    _check_edges(graph)
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.NIRGraph):
            _check_finite(node, f"NIR node {name!r} ({type(node).__name__})")
    order, loops = _chain(graph)
    modules: list[nn.Module] = []
    for name in order:
        node, what = graph.nodes[name], f"NIR node {name!r} ({type(graph.nodes[name]).__name__})"
        if isinstance(node, nir.NIRGraph):
            modules.extend(_modules(node, dt, surrogate))
        elif isinstance(node, NEURONS):
            neuron = _neuron(node, dt, surrogate, what)
            if name in loops:
                modules.extend(_recurrent(neuron, graph.nodes[loops[name]], what))
            else:
                modules.extend([*_input_map(neuron.gain, neuron.offset), neuron.module])
        elif isinstance(node, nir.Delay):
            modules.append(delay_from_nir(node, dt, what))
        else:
            modules.extend(_stateless(node, surrogate, what))
    return modules


def _graph_dt(graph: nir.NIRGraph, dt: float | None) -> float:
    if dt is None:
        meta = graph.metadata if isinstance(graph.metadata, dict) else {}
        if "dt" not in meta:
            raise UserError(
                "dt=None is not valid for a NIR graph without metadata 'dt'; expected the time "
                "step (seconds) that the graph's time constants refer to, e.g. dt=1e-3"
            )
        dt = float(np.asarray(meta["dt"]))
    check_range("dt", dt, 0, low_open=True)
    return float(dt)


def from_nir(
    graph_or_path: nir.NIRNode | str | Path, *, dt: float | None = None, surrogate: str = "atan"
) -> Sequential:
    """Import a NIR graph (object or ``.nir`` file) as a :class:`spikeflow.nn.Sequential`.

    Arguments:
        graph_or_path: a ``nir.NIRGraph`` (or single node), or the path of a ``.nir`` file.
        dt: time step (seconds) used to discretise the continuous-time nodes; default: the
            graph's ``metadata["dt"]`` (written by :func:`to_nir`).
        surrogate: surrogate gradient for the imported spiking layers (NIR does not store one).

    Returns:
        a model that maps ``[T, B, *input_shape]`` to ``[T, B, *output_shape]``.
    """
    if isinstance(graph_or_path, str | Path):
        path = Path(graph_or_path)
        if not path.is_file():
            raise UserError(f"graph_or_path={str(path)!r} is not a file; expected a .nir file")
        try:
            graph = nir.read(path)
        except (OSError, KeyError, ValueError) as err:
            raise UserError(
                f"graph_or_path={str(path)!r} is not a readable NIR file ({err})"
            ) from err
    elif isinstance(graph_or_path, nir.NIRGraph):
        graph = graph_or_path
    elif isinstance(graph_or_path, nir.NIRNode):
        graph = nir.NIRGraph.from_list(graph_or_path)
    else:
        raise UserError(
            f"graph_or_path={type(graph_or_path).__name__} is not valid; expected a nir.NIRGraph "
            "or the path of a .nir file"
        )
    modules = _modules(graph, _graph_dt(graph, dt), surrogate)
    if not modules:
        raise UserError("the NIR graph has no computing nodes between its input and output")
    return Sequential(*modules)
