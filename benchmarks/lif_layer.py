"""One LIF layer in every library: forward + backward, and inference only.

Workloads (``[T, B, N]``): ``[100, 64, 1024]`` and ``[25, 128, 512]`` forward + backward of
``spikes.sum()``, and ``[100, 64, 1024]`` forward under ``torch.no_grad()``. The input is the same
for every library (``U(0, 0.3)``, seed 0). Prints a markdown table of median times, peak memory,
spike counts and the ratios to spikeflow, plus spikeflow's bytes moved against the machine's
copy bandwidth.

Run: ``python benchmarks/lif_layer.py [--repeats N] [--libs a,b]`` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    child_main,
    comparison_table,
    layer_step,
    measure_interleaved,
    memory_bandwidth,
    peak_memory,
    time_and_cpu,
)

SHAPES = ((100, 64, 1024), (25, 128, 512))
# Bytes spikeflow's fused float32 kernel moves per neuron-step: forward reads x, writes spikes and
# the membrane every CHUNK (8) steps; backward reads x and those checkpoints (it replays each chunk)
# and writes the input gradient (the gradient of ``spikes.sum()`` is a broadcast scalar). See
# benchmarks/README.md.
CHUNK = 8
BYTES_TRAIN = (4 + 4 + 4 / CHUNK) + (4 + 4 / CHUNK + 4)
BYTES_INFER = 4 + 4


def measure(spec: dict) -> dict:
    import torch
    from _peers import lif_layer

    torch.manual_seed(0)
    layer, version = lif_layer(spec["lib"])
    shape = tuple(spec["shape"])
    x = torch.rand(shape) * 0.3
    train = spec["mode"] == "train"
    if train:
        x.requires_grad_(True)

    run = layer_step(layer, x, train)
    warm = torch.rand(2, *shape[1:]) * 0.3  # compile/caches on a tiny input, outside the peak
    with torch.no_grad():
        layer(warm)
    if spec["what"] == "memory":
        return {"peak": peak_memory(run)}
    with torch.no_grad():
        spikes = float(layer(x).sum())
    return {**time_and_cpu(run, spec["repeats"]), "spikes": spikes, "version": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=3, help="turns each library gets")
    parser.add_argument(
        "--libs", default="spikeflow,spikeflow-reference,spikingjelly,snntorch,norse"
    )
    args = parser.parse_args()
    libs = args.libs.split(",")
    bandwidth = memory_bandwidth()
    print("## LIF layer (beta 0.9, threshold 1, subtract reset)\n")
    workloads = [("train", s) for s in SHAPES] + [("infer", SHAPES[0])]
    for mode, shape in workloads:
        specs = {
            lib: {"lib": lib, "shape": shape, "mode": mode, "repeats": args.repeats} for lib in libs
        }
        results = measure_interleaved(__file__, specs, args.rounds)
        what = "forward + backward" if mode == "train" else "inference (no grad)"
        print(f"### {what}, [T, B, N] = {list(shape)}\n")
        print(comparison_table(results, "median ms", spikes=True))
        base = results.get("spikeflow", {})
        if "time" in base:
            steps = shape[0] * shape[1] * shape[2]
            moved = steps * (BYTES_TRAIN if mode == "train" else BYTES_INFER)
            rate = moved / base["time"]
            print(
                f"\nspikeflow moves ~{moved / 1e6:.0f} MB in {base['time'] * 1e3:.1f} ms = "
                f"{rate / 1e9:.1f} GB/s, {100 * rate / bandwidth:.0f}% of this machine's copy "
                f"bandwidth ({bandwidth / 1e9:.1f} GB/s, 512 MiB copied on all cores).\n"
            )


if __name__ == "__main__" and not child_main(measure):
    main()
