"""Write NIR graphs exported by snnTorch and Norse themselves, with each library's own output.

Usage (from the repository root, in the benchmark environment that has the peer libraries)::

    make .venv-bench/.installed
    .venv-bench/bin/python benchmarks/nir_fixtures/write_peer_fixtures.py tests/interop/fixtures

For each network it writes ``peer_NAME.nir`` (the library's own NIR export, written with
``nir.write``) and ``peer_NAME.npz`` with an input spike train ``x`` ``[T, B, 16]``, the spikes ``y``
``[T, B, 4]`` the library itself produced on it, the ``dt`` to import with, and the ``versions``.

- ``snntorch_mlp``: ``Linear, Leaky, Linear, Synaptic`` exported by ``snntorch.export_nir``. The
  neuron parameters are per-neuron tensors: with scalars snnTorch 1.0.0 writes 0-d parameters that
  fail nir's type inference. The neurons reset to zero in the step they fire
  (``reset_mechanism="zero", reset_delay=False``), the only snnTorch reset NIR's LIF can express
  (NIR has no subtractive or delayed reset; the export writes neither). The sample passed to
  the export is ``[16]`` (a batch dimension makes the exported input type ``[1, 16]``, which
  nir 1.0.8 rejects). ``dt = 1e-4`` as snnTorch's import.
- ``norse_mlp``: ``Linear, LIFBoxCell, Linear, LIFBoxCell`` exported by ``norse.torch.to_nir``
  (per-neuron parameters: with scalars nir.write fails, "Scalar datasets don't support chunk/filter
  options"). Norse 1.1.0 writes ``tau = dt / tau_mem_inv`` with its step ``dt = 1e-3``, a time
  constant scaled by ``dt``; so the graph reproduces Norse's own run when imported with
  ``dt = 1e-6`` (``dt**2``), which the ``.npz`` records.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nir
import numpy as np
import torch

T, B, N_IN, N_HID, N_OUT = 24, 3, 16, 12, 4


def _input() -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    return (torch.rand(T, B, N_IN, generator=g) < 0.3).float()


def snntorch_mlp(x: torch.Tensor) -> tuple[nir.NIRGraph, torch.Tensor, float, str]:
    import snntorch as snn
    from snntorch import utils as snn_utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(7)
    net = torch.nn.Sequential(
        torch.nn.Linear(N_IN, N_HID),
        snn.Leaky(
            beta=torch.full((N_HID,), 0.9),
            threshold=torch.ones(N_HID),
            init_hidden=True,
            reset_mechanism="zero",
            reset_delay=False,
        ),
        torch.nn.Linear(N_HID, N_OUT),
        snn.Synaptic(
            alpha=torch.full((N_OUT,), 0.6),
            beta=torch.full((N_OUT,), 0.8),
            threshold=torch.ones(N_OUT),
            init_hidden=True,
            output=True,
            reset_mechanism="zero",
            reset_delay=False,
        ),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[2].weight.mul_(3.0)
        snn_utils.reset(net)
        y = torch.stack([net(x_t)[0] for x_t in x])
    graph = export_to_nir(net, torch.zeros(N_IN))
    return graph, y, 1e-4, f"snntorch {snn.__version__}"


def norse_mlp(x: torch.Tensor) -> tuple[nir.NIRGraph, torch.Tensor, float, str]:
    import norse
    import norse.torch as nt

    def params(n: int) -> nt.LIFBoxParameters:
        return nt.LIFBoxParameters(
            tau_mem_inv=torch.full((n,), 100.0),
            v_leak=torch.zeros(n),
            v_th=torch.full((n,), 0.5),
            v_reset=torch.zeros(n),
        )

    torch.manual_seed(7)
    net = nt.SequentialState(
        torch.nn.Linear(N_IN, N_HID),
        nt.LIFBoxCell(params(N_HID)),
        torch.nn.Linear(N_HID, N_OUT),
        nt.LIFBoxCell(params(N_OUT)),
    )
    with torch.no_grad():
        net[0].weight.mul_(30.0)
        net[2].weight.mul_(40.0)
        state, out = None, []
        for x_t in x:
            s, state = net(x_t, state)
            out.append(s)
    graph = nt.to_nir(net, torch.zeros(N_IN))
    # Norse writes tau = dt / tau_mem_inv (1e-5 here, not 1 / tau_mem_inv = 1e-2) and its own
    # import inverts that; its Euler step dt * tau_mem_inv = 0.1 is reproduced by importing with
    # dt' = 0.1 * tau = dt**2 = 1e-6.
    return graph, torch.stack(out), 1e-6, f"norse {norse.__version__}"


def main(out_dir: str) -> None:
    out = Path(out_dir)
    x = _input()
    for name, make in (("snntorch_mlp", snntorch_mlp), ("norse_mlp", norse_mlp)):
        graph, y, dt, version = make(x)
        nir.write(out / f"peer_{name}.nir", graph)
        nir.read(out / f"peer_{name}.nir")  # the file must read back
        np.savez(out / f"peer_{name}.npz", x=x.numpy(), y=y.numpy(), dt=dt, versions=version)
        print(f"peer_{name}: {version}, nir {nir.__version__}, {int(y.sum())} output spikes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/interop/fixtures")
