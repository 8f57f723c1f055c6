"""The same multi-step LIF layer in every library, with dynamics made equal.

Every layer maps ``x`` ``[T, B, N]`` to spikes ``[T, B, N]`` with ``v = 0.9 v + x[t]``, a spike
when ``v >= 1`` and reset by subtraction (no refractory period), starting from ``v = 0``:

- spikeflow: ``sf.nn.LIF(beta=0.9, reset="subtract")``, fused kernel (``"auto"``) or the
  reference scan (``"reference"``, a Python loop over time like the peers).
- SpikingJelly 2.x: ``LIFNode(tau=10, decay_input=False, v_reset=None)`` in multi-step mode
  (``v - v/tau + x`` = ``0.9 v + x``); on CPU it runs its registered CPU operator (its CuPy and
  triton backends need CUDA).
- snnTorch: ``Leaky(beta=0.9, reset_mechanism="subtract", reset_delay=False)`` stepped in a loop.
- Norse: ``LIFBoxCell`` (no synaptic current) with ``dt * tau_mem_inv = 0.1`` and
  ``reset_subtract``, fed ``10 x`` (Norse integrates ``v + 0.1 (x - v)``), stepped in a loop.

Surrogates: arc-tangent where the library has it (spikeflow, SpikingJelly, snnTorch), Norse's
default SuperSpike; the surrogate changes gradient values, not the amount of work.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

LIBRARIES = ("spikeflow", "spikeflow-reference", "spikingjelly", "snntorch", "norse")


def lif_layer(lib: str) -> tuple[Callable[[Tensor], Tensor], str]:
    """``(layer, version)``: a multi-step LIF layer of library ``lib`` and the library version."""
    if lib.startswith("spikeflow"):
        import spikeflow as sf

        backend = "reference" if lib.endswith("reference") else "auto"
        lif = sf.nn.LIF(beta=0.9, threshold=1.0, reset="subtract", backend=backend)
        return (lambda x: lif(x)[0]), getattr(sf, "__version__", "dev")
    if lib == "spikingjelly":
        import spikingjelly
        from spikingjelly.activation_based import functional, neuron, surrogate

        node = neuron.LIFNode(
            tau=10.0,
            decay_input=False,
            v_reset=None,
            v_threshold=1.0,
            surrogate_function=surrogate.ATan(),
            detach_reset=True,
            step_mode="m",
        )

        def sj(x: Tensor) -> Tensor:
            functional.reset_net(node)
            return node(x)

        return sj, _version(spikingjelly, "spikingjelly")
    if lib == "snntorch":
        import snntorch
        from snntorch import surrogate

        leaky = snntorch.Leaky(
            beta=0.9,
            threshold=1.0,
            spike_grad=surrogate.atan(),
            reset_mechanism="subtract",
            reset_delay=False,
        )

        def snn(x: Tensor) -> Tensor:
            mem = torch.zeros_like(x[0])
            out = []
            for x_t in x:
                spk, mem = leaky(x_t, mem)
                out.append(spk)
            return torch.stack(out)

        return snn, snntorch.__version__
    if lib == "norse":
        import norse
        from norse.torch import LIFBoxCell, LIFBoxParameters
        from norse.torch.functional.reset import reset_subtract

        p = LIFBoxParameters(
            tau_mem_inv=torch.tensor(100.0), v_th=torch.tensor(1.0), reset_method=reset_subtract
        )
        cell = LIFBoxCell(p, dt=0.001)

        def nr(x: Tensor) -> Tensor:
            x = 10.0 * x
            state = None
            out = []
            for x_t in x:
                z, state = cell(x_t, state)
                out.append(z)
            return torch.stack(out)

        return nr, _version(norse, "norse")
    raise ValueError(f"lib={lib!r} is not valid; expected one of {', '.join(LIBRARIES)}")


class SpikingMLP(nn.Module):
    """``in -> Linear -> LIF -> Linear -> LIF``; Linear layers act on all steps at once."""

    def __init__(self, lib: str, sizes: tuple[int, int, int] = (784, 512, 10)) -> None:
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])
        self.lif1, _ = lif_layer(lib)
        self.lif2, _ = lif_layer(lib)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``[T, B, in]`` -> output spike counts ``[B, out]``."""
        return self.lif2(self.fc2(self.lif1(self.fc1(x)))).sum(0)


def _version(module: object, name: str) -> str:
    from importlib.metadata import version

    return getattr(module, "__version__", None) or version(name)
