"""One training step of a 784-512-10 spiking MLP (T=25, batch 128) in every library.

The network is ``Linear -> LIF -> Linear -> LIF`` (``benchmarks/_peers.py``: identical Linear
layers and seeds, each library's LIF layer with equal dynamics), the input a fixed Bernoulli
spike train (rate 0.2), the loss cross-entropy on the output spike counts, and the step
``zero_grad -> forward -> backward -> Adam.step``. Prints median step time, peak memory and ratios.

Run: ``python benchmarks/mlp_train.py [--repeats N] [--libs a,b]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    child_main,
    comparison_table,
    measure_interleaved,
    peak_memory,
    time_and_cpu,
)

T, BATCH, SIZES = 25, 128, (784, 512, 10)


def measure(spec: dict) -> dict:
    import torch
    from _peers import SpikingMLP, lif_layer

    torch.manual_seed(0)
    model = SpikingMLP(spec["lib"], SIZES)
    _, version = lif_layer(spec["lib"])
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(T, BATCH, SIZES[0], generator=gen) < 0.2).float()
    y = torch.randint(0, SIZES[2], (BATCH,), generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    with torch.no_grad():
        model(x[:2, :2])  # compile/caches outside the peak
    if spec["what"] == "memory":
        return {"peak": peak_memory(step)}
    return {**time_and_cpu(step, spec["repeats"]), "version": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=3, help="turns each library gets")
    parser.add_argument(
        "--libs", default="spikeflow,spikeflow-reference,spikingjelly,snntorch,norse"
    )
    args = parser.parse_args()
    specs = {lib: {"lib": lib, "repeats": args.repeats} for lib in args.libs.split(",")}
    results = measure_interleaved(__file__, specs, args.rounds)
    print(f"## Spiking MLP {'-'.join(map(str, SIZES))}, T={T}, batch {BATCH}: one training step\n")
    print(comparison_table(results, "median ms / step", spikes=False) + "\n")


if __name__ == "__main__" and not child_main(measure):
    main()
