"""The cost of adaptation and of learnable delays per time step, against a plain LIF layer.

Every layer is a synapse layer and a neuron layer, ``[T, B, N_in] -> [T, B, N]``, timed forward +
backward of ``spikes.sum()`` (``--mode infer``: forward under ``torch.no_grad()``):

- ``lif``: ``Linear -> LIF`` (the fused kernel where it applies: the baseline);
- ``lif-reference``: ``Linear -> LIF(backend="reference")`` (the per-step scan);
- ``adlif``: ``Linear -> AdLIF(size=N)`` (per-neuron parameters, its fused CPU kernel);
- ``adlif-reference``: the same with ``backend="reference"`` (the per-step scan);
- ``rlif``: ``Linear -> RLIF(N)`` (dense recurrent weight, its fused CPU kernel);
- ``radlif``: ``Linear -> RAdLIF(N)`` (dense recurrent weight, its fused CPU kernel);
- ``radlif-reference``: the same with ``backend="reference"``;
- ``izhikevich``: ``Linear -> Izhikevich()`` (regular spiking, its fused CPU kernel; the linear
  weight scaled by 40 so that the current, in the model's units, makes the neurons fire);
- ``izhikevich-reference``: the same with ``backend="reference"``;
- ``delay``: ``Linear -> Delay(N, max_delay) -> LIF`` (one learnt delay per neuron);
- ``delayed-linear``: ``DelayedLinear(N_in, N, max_delay) -> LIF`` (one learnt delay per synapse);
- ``delayed-linear-rounded``: its ``rounded()`` copy (integer delays, as for inference).

Each layer runs in its own process, the layers taking turns (``--rounds``); prints the median
time per step (time / T) and the ratio to ``lif``. Run: ``python benchmarks/temporal_layers.py
[--shape T,B,N_IN,N] [--max-delay D] [--repeats R] [--rounds K] [--mode train|infer]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import child_main, layer_step, machine, measure_interleaved, table, time_and_cpu

LAYERS = (
    "lif",
    "lif-reference",
    "adlif",
    "adlif-reference",
    "rlif",
    "radlif",
    "radlif-reference",
    "izhikevich",
    "izhikevich-reference",
    "delay",
    "delayed-linear",
    "delayed-linear-rounded",
)


def build(name: str, n_in: int, n: int, max_delay: int):
    """The layer ``name`` as a function ``x [T, B, N_in] -> spikes [T, B, N]``."""
    import torch
    from torch import nn

    import spikeflow as sf

    backend = "reference" if name.endswith("-reference") else "auto"

    if name == "lif":
        net = sf.nn.Sequential(nn.Linear(n_in, n), sf.nn.LIF(beta=0.9))
    elif name == "lif-reference":
        net = sf.nn.Sequential(nn.Linear(n_in, n), sf.nn.LIF(beta=0.9, backend="reference"))
    elif name in ("adlif", "adlif-reference"):
        net = sf.nn.Sequential(nn.Linear(n_in, n), sf.nn.AdLIF(size=n, backend=backend))
    elif name == "rlif":
        net = sf.nn.Sequential(nn.Linear(n_in, n), sf.nn.RLIF(n, beta=0.9))
    elif name in ("radlif", "radlif-reference"):
        net = sf.nn.Sequential(nn.Linear(n_in, n), sf.nn.RAdLIF(n, backend=backend))
    elif name in ("izhikevich", "izhikevich-reference"):
        linear = nn.Linear(n_in, n)
        with torch.no_grad():
            linear.weight.mul_(40)
        net = sf.nn.Sequential(linear, sf.nn.Izhikevich(backend=backend))
    elif name == "delay":
        net = sf.nn.Sequential(nn.Linear(n_in, n), sf.nn.Delay(n, max_delay), sf.nn.LIF(beta=0.9))
    else:
        delayed = sf.nn.DelayedLinear(n_in, n, max_delay)
        if name == "delayed-linear-rounded":
            delayed = delayed.rounded()
        net = sf.nn.Sequential(delayed, sf.nn.LIF(beta=0.9))
    return lambda x: net(x)[0]


def measure(spec: dict) -> dict:
    import torch

    torch.manual_seed(0)
    steps, batch, n_in, n = spec["shape"]
    layer = build(spec["layer"], n_in, n, spec["max_delay"])
    x = torch.rand(steps, batch, n_in)
    train = spec["mode"] == "train"
    if train:
        x.requires_grad_(True)
    run = layer_step(layer, x, train)
    if spec["what"] == "memory":
        from _common import peak_memory

        return {"peak": peak_memory(run)}
    with torch.no_grad():
        spikes = float(layer(x).sum())
    return {**time_and_cpu(run, spec["repeats"]), "spikes": spikes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="100,32,256,256", help="T,B,N_IN,N")
    parser.add_argument("--max-delay", type=int, default=25, help="delay layers' max delay, steps")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=3, help="turns each layer gets")
    parser.add_argument("--mode", choices=("train", "infer"), default="train")
    parser.add_argument("--layers", default=",".join(LAYERS))
    args = parser.parse_args()
    shape = [int(v) for v in args.shape.split(",")]
    steps = shape[0]
    specs = {
        name: {
            "layer": name,
            "shape": shape,
            "max_delay": args.max_delay,
            "mode": args.mode,
            "repeats": args.repeats,
        }
        for name in args.layers.split(",")
    }
    results = measure_interleaved(__file__, specs, args.rounds)
    base = results.get("lif", {})
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, "error: " + r["error"], "", "", "", ""])
            continue
        ratio = f"{r['time'] / base['time']:.2f}x" if "time" in base else "-"
        rows.append(
            [
                name,
                f"{r['time'] / steps * 1e3:.3f}",
                ratio,
                f"{r['cpu'] / steps * 1e3:.3f}",
                f"{r['peak'] / 2**20:.0f}",
                f"{r['spikes']:.0f}",
            ]
        )
    what = "forward + backward" if args.mode == "train" else "inference (no grad)"
    print(f"## Temporal layers, {what}, [T, B, N_in, N] = {shape}, max_delay {args.max_delay}\n")
    headers = ["layer", "ms / step", "time / lif", "CPU ms / step", "peak MiB", "spikes"]
    print(table(headers, rows))
    load = os.getloadavg()
    print(f"\n{machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"medians of {args.rounds} rounds x {args.repeats} runs, layers taking turns")


if __name__ == "__main__":
    if not child_main(measure):
        main()
