"""One dense recurrent LIF layer: spikeflow (fused and reference), a plain PyTorch loop, snnTorch.

Workload: ``[T, B, N] = [250, 32, 256]``, forward + backward of ``spikes.sum()``, with the same
input (``U(0, 0.3)``, seed 0) and the same recurrent weight ``W`` (``U(+-1/sqrt(N))``, seed 1) in
every library. Dynamics made equal, per step::

    v = 0.9 v + x[t] + W s[t-1];  s = H(v - 1);  v -= s        (reset detached, atan surrogate)

- spikeflow: ``sf.nn.RLIF(N, beta=0.9)``, fused kernel (``"auto"``) or the reference scan.
- torch-loop: the same equations written by hand, ``for x_t in x:`` with ``s @ W.T`` and a
  Heaviside with an arc-tangent surrogate (a small ``torch.autograd.Function``).
- snnTorch: ``RLeaky(beta=0.9, all_to_all=True, reset_delay=False)`` with ``W`` as its recurrent
  ``nn.Linear`` weight and the bias fixed at zero.

Besides the table, prints the floor: the time of the backward's dense product alone
(``T`` products ``[B, N] x [N, N]`` in a loop, as ``torch.mm`` runs them) against spikeflow's time.

Run: ``.venv-bench/bin/python benchmarks/recurrent_layer.py [--repeats N] [--rounds R]
[--threads K]`` (``--threads``: torch's and numba's threads in every library's process; default:
their defaults, all cores).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    child_main,
    comparison_table,
    layer_step,
    machine,
    measure_interleaved,
    time_and_cpu,
)

SHAPE = (250, 32, 256)
LIBS = "spikeflow,spikeflow-reference,torch-loop,snntorch"


def _inputs(shape: tuple[int, int, int]):
    import torch

    torch.manual_seed(0)
    x = torch.rand(shape) * 0.3
    n = shape[2]
    bound = 1 / math.sqrt(n)
    weight = torch.empty(n, n).uniform_(-bound, bound, generator=torch.Generator().manual_seed(1))
    return x, weight


def _torch_loop(weight):
    import torch

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return (z >= 0).to(z.dtype)

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g / (1 + (math.pi * z) ** 2)  # atan surrogate, alpha = 2

    w = torch.nn.Parameter(weight.clone())

    def run(x):
        v = torch.zeros_like(x[0])
        s = torch.zeros_like(x[0])
        out = []
        for x_t in x:
            v = 0.9 * v + x_t + s @ w.T
            s = Spike.apply(v - 1.0)
            v = v - s.detach()
            out.append(s)
        return torch.stack(out)

    return run, torch.__version__


def _snntorch(weight):
    import snntorch
    import torch
    from snntorch import surrogate

    n = weight.shape[0]
    cell = snntorch.RLeaky(
        beta=0.9,
        threshold=1.0,
        linear_features=n,
        all_to_all=True,
        spike_grad=surrogate.atan(),
        reset_mechanism="subtract",
        reset_delay=False,
    )
    with torch.no_grad():
        cell.recurrent.weight.copy_(weight)
        cell.recurrent.bias.zero_()
    cell.recurrent.bias.requires_grad_(False)

    def run(x):
        spk = torch.zeros_like(x[0])
        mem = torch.zeros_like(x[0])
        out = []
        for x_t in x:
            spk, mem = cell(x_t, spk, mem)
            out.append(spk)
        return torch.stack(out)

    return run, snntorch.__version__


def layer(lib: str, weight):
    """``(layer, version)`` of library ``lib`` with recurrent weight ``weight``."""
    if lib.startswith("spikeflow"):
        import torch

        import spikeflow as sf

        backend = "reference" if lib.endswith("reference") else "auto"
        rlif = sf.nn.RLIF(weight.shape[0], beta=0.9, threshold=1.0, backend=backend)
        with torch.no_grad():
            rlif.weight.copy_(weight)
        return (lambda x: rlif(x)[0]), getattr(sf, "__version__", "dev")
    if lib == "torch-loop":
        return _torch_loop(weight)
    if lib == "snntorch":
        return _snntorch(weight)
    raise ValueError(f"lib={lib!r} is not valid; expected one of {LIBS}")


def floor(spec: dict) -> dict:
    """Time (or peak memory) of the backward's dense per-step product alone,
    ``T x [B, N] @ [N, N]``."""
    import torch

    t_len, batch, n = spec["shape"]
    g = torch.rand(batch, n)
    w = torch.rand(n, n)

    def run() -> None:
        acc = g
        for _ in range(t_len):
            acc = torch.mm(g, w)
        assert acc.shape == g.shape

    if spec["what"] == "memory":
        from _common import peak_memory

        return {"peak": peak_memory(run)}
    return time_and_cpu(run, spec["repeats"])


def _set_threads(threads: int | None) -> None:
    """torch's intra-op threads and numba's threads (at most ``NUMBA_NUM_THREADS``)."""
    if threads:
        import numba
        import torch

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        torch.set_num_threads(threads)


def measure(spec: dict) -> dict:
    import torch

    _set_threads(spec.get("threads"))
    if spec["lib"] == "floor":
        return {**floor(spec), "spikes": 0.0, "version": torch.__version__}
    x, weight = _inputs(tuple(spec["shape"]))
    run_layer, version = layer(spec["lib"], weight)
    x.requires_grad_(True)
    run = layer_step(run_layer, x, True)
    with torch.no_grad():
        run_layer(x[:2])  # compile / warm caches
        spikes = float(run_layer(x).sum())
    if spec["what"] == "memory":
        from _common import peak_memory

        return {"peak": peak_memory(run)}
    return {**time_and_cpu(run, spec["repeats"]), "spikes": spikes, "version": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=3, help="turns each library gets")
    parser.add_argument("--libs", default=LIBS + ",floor")
    parser.add_argument("--threads", type=int, default=None, help="threads per process")
    args = parser.parse_args()
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads {args.threads} is not valid; expected a positive integer")
    specs = {
        lib: {"lib": lib, "shape": SHAPE, "repeats": args.repeats, "threads": args.threads}
        for lib in args.libs.split(",")
    }
    results = measure_interleaved(__file__, specs, args.rounds)
    threads = f", {args.threads} thread(s)" if args.threads else ""
    print(f"## Dense recurrent LIF layer, forward + backward, [T, B, N] = {list(SHAPE)}{threads}\n")
    print(comparison_table(results, "median ms", spikes=True))
    base, low = results.get("spikeflow", {}), results.get("floor", {})
    if "time" in base and "time" in low:
        print(
            f"\nfloor (the backward's T dense [B, N] x [N, N] products alone, torch.mm): "
            f"{low['time'] * 1e3:.1f} ms; spikeflow takes {base['time'] / low['time']:.1f}x that."
        )
    load = os.getloadavg()
    print(f"\n{machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__" and not child_main(measure):
    main()
