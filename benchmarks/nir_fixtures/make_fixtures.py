"""Write small ``.nir`` graphs in the layout other libraries export, plus reference outputs.

Usage (from the repository root)::

    .venv/bin/python benchmarks/nir_fixtures/make_fixtures.py tests/interop/fixtures

For each graph ``NAME.nir`` it writes ``NAME.npz`` with an input spike train ``x`` ``[T, B, ...]``,
the expected output ``y`` ``[T, B, ...]`` and the ``dt`` to import with. ``y`` comes from the small
NIR simulator below (forward Euler of the NIR equations, reset to ``v_reset`` on ``v > threshold``),
written independently of spikeflow, so the tests check spikeflow's importer against the NIR spec.

Graphs:

- ``snntorch_mlp``: Affine -> LIF -> Affine -> CubaLIF. With snnTorch and nirtorch importable
  (``.venv-bench``) it is snnTorch's own ``export_to_nir`` of ``Linear, Leaky, Linear, Synaptic``;
  otherwise it is written with ``nir`` following ``snntorch/export_nir.py`` (dt = 1e-4,
  ``tau = dt / (1 - beta)``, ``r = tau / dt``, ``w_in = tau_syn / dt``, ``v_leak = 0``, ``v_reset`` 0).
- ``snntorch_rsynaptic``: Affine -> RSynaptic subgraph (input, CubaLIF, w_rec Linear, output, with
  the loop lif <-> w_rec) -> Affine -> LIF, in snnTorch's RSynaptic export layout.
- ``norse_conv``: Conv2d -> LIF -> SumPool2d -> Flatten -> Affine -> LI, following
  ``norse/torch/utils/export_nir.py`` (``r = 1``, ``tau = 1 / tau_inv``, ``v_leak`` kept); Norse
  imports with dt = 1e-3, so the neurons' input gain is ``dt / tau``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nir
import numpy as np
import torch
import torch.nn.functional as F

RNG = np.random.default_rng(7)


def _rand(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _snntorch_mlp_by_hand() -> nir.NIRGraph:
    dt, beta, alpha, thr = 1e-4, np.full(12, 0.9), np.full(4, 0.6), np.ones(12)
    tau = dt / (1 - beta)
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - np.full(4, 0.8))
    return nir.NIRGraph.from_list(
        nir.Affine(weight=_rand(12, 16, scale=1.0), bias=_rand(12, scale=0.1) + 0.2),
        nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(12), v_threshold=thr),
        nir.Affine(weight=_rand(4, 12, scale=0.3), bias=_rand(4, scale=0.02) + 0.25),
        nir.CubaLIF(
            tau_syn=tau_syn,
            tau_mem=tau_mem,
            r=tau_mem / dt,
            v_leak=np.zeros(4),
            v_threshold=np.ones(4),
            w_in=tau_syn / dt,
        ),
    )


def snntorch_mlp() -> tuple[nir.NIRGraph, float, str]:
    try:
        import snntorch as snn
        from snntorch.export_nir import export_to_nir
    except ImportError:
        return _snntorch_mlp_by_hand(), 1e-4, "written with nir in snnTorch's export layout"
    # Known incompatibility (seen 2026-11 with snntorch 1.0.0 and nir 1.0.8): snnTorch's export
    # fails nir's type inference, leaves 0-d parameters that nir.write cannot store, and mixes
    # parameter shapes that nir.read rejects. So the committed fixtures were made with the project's
    # .venv (no snnTorch): the by-hand graph above, in snnTorch's layout, written with nir.
    torch.manual_seed(7)
    net = torch.nn.Sequential(
        torch.nn.Linear(16, 12), snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.Linear(12, 4), snn.Synaptic(alpha=0.6, beta=0.8, init_hidden=True, output=True),
    )  # fmt: skip
    return export_to_nir(net, torch.zeros(1, 16)), 1e-4, f"snntorch {snn.__version__} export"


def snntorch_rsynaptic() -> tuple[nir.NIRGraph, float, str]:
    dt, n = 1e-4, 6
    tau_syn, tau_mem = dt / (1 - np.full(n, 0.5)), dt / (1 - np.full(n, 0.85))
    cell = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=[n]),
            "lif": nir.CubaLIF(
                tau_syn=tau_syn,
                tau_mem=tau_mem,
                r=tau_mem / dt,
                v_leak=np.zeros(n),
                v_threshold=np.ones(n),
                w_in=tau_syn / dt,
            ),
            "w_rec": nir.Linear(weight=_rand(n, n, scale=0.5)),
            "output": nir.Output(output_type=[n]),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    tau = dt / (1 - np.full(3, 0.9))
    graph = nir.NIRGraph.from_list(
        nir.Affine(weight=_rand(n, 10, scale=0.3), bias=np.zeros(n, np.float32)),
        cell,
        nir.Affine(weight=_rand(3, n, scale=1.5), bias=_rand(3, scale=0.1) + 0.6),
        nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(3), v_threshold=np.ones(3)),
    )
    return graph, dt, "written with nir in snnTorch's RSynaptic export layout"


def norse_conv() -> tuple[nir.NIRGraph, float, str]:
    tau_lif, tau_li = np.full((3, 6, 6), 1 / 200.0), np.full(5, 1 / 100.0)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2, 6, 6])),
        nir.Conv2d(
            input_shape=None,
            weight=_rand(3, 2, 3, 3, scale=4.0),
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=_rand(3, scale=0.5),
        ),
        nir.LIF(
            tau=tau_lif,
            r=np.ones((3, 6, 6)),
            v_leak=np.full((3, 6, 6), 0.1),
            v_threshold=np.full((3, 6, 6), 0.3),
            v_reset=np.zeros((3, 6, 6)),
        ),
        nir.SumPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
        nir.Flatten(input_type=None, start_dim=0, end_dim=-1),
        nir.Affine(weight=_rand(5, 27, scale=2.0), bias=_rand(5, scale=0.1)),
        nir.LI(tau=tau_li, r=np.ones(5), v_leak=np.zeros(5)),
    )
    return graph, 1e-3, "written with nir in Norse's export layout"


def _simulate(graph: nir.NIRGraph, x: np.ndarray, dt: float) -> np.ndarray:
    """Forward-Euler NIR simulation of a chain graph, [T, B, ...] in, [T, B, ...] out."""
    succ = {
        a: b for a, b in graph.edges if not isinstance(graph.nodes[b], nir.Linear) or a == "input"
    }
    name = next(k for k, n in graph.nodes.items() if isinstance(n, nir.Input))
    chain = []
    while name in succ:
        name = succ[name]
        chain.append(graph.nodes[name])
    out = x.astype(np.float64)
    for node in chain:
        out = _run_node(node, out, dt)
    return out


def _run_node(node: nir.NIRNode, x: np.ndarray, dt: float) -> np.ndarray:
    if isinstance(node, nir.Affine):
        return x @ node.weight.T + node.bias
    if isinstance(node, nir.Conv2d):
        t, b = x.shape[:2]
        y = F.conv2d(torch.as_tensor(x.reshape(t * b, *x.shape[2:])), torch.as_tensor(node.weight,
                     dtype=torch.float64), torch.as_tensor(node.bias, dtype=torch.float64),
                     stride=tuple(node.stride), padding=tuple(node.padding))  # fmt: skip
        return y.numpy().reshape(t, b, *y.shape[1:])
    if isinstance(node, nir.SumPool2d):
        t, b = x.shape[:2]
        y = F.avg_pool2d(torch.as_tensor(x.reshape(t * b, *x.shape[2:])), 2, 2) * 4
        return y.numpy().reshape(t, b, *y.shape[1:])
    if isinstance(node, nir.Flatten):
        return x.reshape(*x.shape[:2], -1)
    if isinstance(node, nir.Output):
        return x
    if isinstance(node, nir.NIRGraph):
        return _run_recurrent(node, x, dt)
    return _run_neuron(node, x, dt, None)


def _run_recurrent(cell: nir.NIRGraph, x: np.ndarray, dt: float) -> np.ndarray:
    return _run_neuron(cell.nodes["lif"], x, dt, cell.nodes["w_rec"].weight)


def _run_neuron(node: nir.NIRNode, x: np.ndarray, dt: float, w_rec) -> np.ndarray:
    i = np.zeros(x.shape[1:])
    v = np.zeros(x.shape[1:])
    s = np.zeros(x.shape[1:])
    out = []
    for t in range(x.shape[0]):
        inp = x[t] + (s @ w_rec.T if w_rec is not None else 0)
        if isinstance(node, nir.CubaLIF | nir.CubaLI):
            i = i + dt / node.tau_syn * (-i + node.w_in * inp)
            v = v + dt / node.tau_mem * (node.v_leak - v + node.r * i)
        else:
            v = v + dt / node.tau * (node.v_leak - v + node.r * inp)
        if isinstance(node, nir.LI | nir.CubaLI):
            out.append(v.copy())
            continue
        s = (v > node.v_threshold).astype(np.float64)
        v = np.where(s > 0, node.v_reset, v)
        out.append(s)
    return np.stack(out)


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for make in (snntorch_mlp, snntorch_rsynaptic, norse_conv):
        graph, dt, how = make()
        nir.write(out / f"{make.__name__}.nir", graph)
        graph = nir.read(out / f"{make.__name__}.nir")
        shape = tuple(int(s) for s in next(iter(graph.inputs.values())).input_type["input"])
        x = (RNG.random((20, 4, *shape)) < 0.4).astype(np.float32)
        y = _simulate(graph, x, dt).astype(np.float32)
        np.savez(out / f"{make.__name__}.npz", x=x, y=y, dt=dt, how=how)
        print(f"{make.__name__}: {how}; input {shape}, output {y.shape[2:]}, spikes {y.sum():g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/interop/fixtures")
