# %% [markdown]
# # 10. NIR export and import; training on several processes
#
# Two ways out of a single Python session. **NIR** (the Neuromorphic Intermediate
# Representation, Pedersen et al. 2024) is a common file format for spiking networks: a graph
# of continuous-time nodes (`Affine`, `LIF`, `CubaLIF`, `IF`, ...) that snnTorch, Norse,
# Lava, Sinabs and neuromorphic chips read and write. **DDP** (PyTorch's
# DistributedDataParallel) trains one model on several processes and machines.

# %%
import json
import os
import subprocess
import sys
from pathlib import Path

import nir
import torch
from torch import nn

import spikeflow as sf
from spikeflow.interop import from_nir, to_nir

QUICK = os.environ.get("SPIKEFLOW_DOCS_QUICK") == "1"  # small settings for the test suite
torch.manual_seed(0)

# %% [markdown]
# ## Export a network to NIR
#
# `to_nir(model, dt=...)` maps each layer onto NIR's continuous-time nodes, discretised at the
# step `dt` (seconds): a `LIF(beta)` becomes a NIR `LIF` with `tau = dt / (1 - beta)`, a
# `Synaptic` becomes a `CubaLIF`, a `Linear` an `Affine`, a convolution a `Conv2d`.
# `input_shape` is one sample's shape without time and batch.

# %%
net = sf.nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1),
    sf.nn.LIF(beta=0.9, reset="zero"),
    nn.AvgPool2d(2),
    nn.Flatten(start_dim=1),
    nn.Linear(8 * 4 * 4, 32),
    sf.nn.Synaptic(alpha=0.8, beta=0.9, reset="zero"),
    nn.Linear(32, 10),
    sf.nn.LIF(beta=0.95, reset="zero"),
)
graph = to_nir(net, dt=1e-3, input_shape=(1, 8, 8))
for name, node in graph.nodes.items():
    print(f"{name:8s} {type(node).__name__}")
print("edges:", graph.edges)
nir.write("net.nir", graph)
print(f"net.nir: {Path('net.nir').stat().st_size:,} bytes")

# %% [markdown]
# ## Import it back
#
# `from_nir(path)` rebuilds a `sf.nn.Sequential` (the step `dt` is read from the graph's
# metadata). Fed the same spikes, the round trip gives the same output spikes. Graphs written
# by snnTorch or Norse load the same way; reset modes without a NIR form (`"subtract"`) travel
# in node metadata that other tools ignore, so use `reset="zero"` for a network meant for
# other tools.

# %%
same = from_nir("net.nir")
x = sf.encode.rate(torch.rand(4, 1, 8, 8), num_steps=30)  # [T, B, 1, 8, 8]
with torch.no_grad():
    out_a, _ = net(x)
    out_b, _ = same(x)
print(
    f"output {tuple(out_a.shape)}, {int(out_a.sum())} spikes; identical after the round "
    f"trip: {torch.equal(out_a, out_b)}"
)
fig = sf.plot.layer_rasters(
    [x[:, 0].flatten(1), out_a[:, 0], out_b[:, 0]],
    ["input spikes", "output, original", "output, from net.nir"],
    dt=1.0,
    time_unit="ms",
    title="The same spikes before and after the NIR round trip",
)
sf.plot.save(fig, "nir_round_trip.png")

# %% [markdown]
# ## Training on several processes (DDP)
#
# `spikeflow train` runs unchanged under PyTorch's `torchrun`: every process runs the same
# command, each takes its share of every batch, and the gradients are averaged (gloo on CPU,
# nccl on GPU), so a step equals the one-process step. Only rank 0 writes the run directory.
#
# ```sh
# # one machine, 2 processes
# torchrun --standalone --nproc_per_node=2 -m spikeflow.cli train --dataset digits --model mlp --out runs/ddp
#
# # two machines with 4 GPUs each: the same line on both (same --rdzv_id; endpoint on the first)
# torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d --rdzv_endpoint=node0:29500 \
#          --rdzv_id=run1 -m spikeflow.cli train --config run.toml --out /shared/runs/run1
# ```
#
# Here a small run on two CPU processes (gloo), and the same run on one process: the
# test accuracies agree up to float rounding in the averaged gradients.

# %%
settings = ["--dataset", "digits", "--model", "mlp", "--num-steps", "8", "--hidden", "64"]
settings += ["--epochs", "3"]


def accuracy_of(run: str) -> float:
    metrics = json.loads(Path(run, "metrics.json").read_text())
    return metrics["test"]["accuracy"]


for procs in () if QUICK else (2, 1):  # the quick build (test suite) leaves the jobs out
    out = f"runs/ddp{procs}"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, f"--nproc_per_node={procs}", "-m", "spikeflow.cli", "train"]
    done = subprocess.run([*command, *settings, "--out", out], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    print(f"{procs} process(es): test accuracy {accuracy_of(out):.2%}")
