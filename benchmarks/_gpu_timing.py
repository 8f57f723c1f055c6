"""GPU timing of one LIF layer: reference scan vs the triton kernel (run by ``gpu_check.sh``).

Times forward + backward of ``spikes.sum()`` and inference for ``[100, 64, 1024]`` and
``[25, 128, 512]`` (float32, beta 0.9, threshold 1, subtract reset) with
``triton.testing.do_bench`` (median), checks that both paths give the same spikes, records peak
CUDA memory, and writes ``gpu_timing.json`` and ``gpu_timing.md`` into the folder given as argument.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import triton.testing

import spikeflow as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import layer_step

SHAPES = ((100, 64, 1024), (25, 128, 512))


def _bench(backend: str, shape: tuple[int, int, int], train: bool) -> dict:
    lif = sf.nn.LIF(beta=0.9, threshold=1.0, reset="subtract", backend=backend).cuda()
    gen = torch.Generator(device="cuda").manual_seed(0)
    x = torch.rand(shape, device="cuda", generator=gen) * 0.3
    if train:
        x.requires_grad_(True)

    run = layer_step(lambda inp: lif(inp)[0], x, train)
    run()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    run()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    ms = triton.testing.do_bench(run, warmup=25, rep=200, return_mode="median")
    with torch.no_grad():
        spikes = lif(x.detach())[0]
    return {"ms": ms, "peak_mib": peak / 2**20, "spikes": float(spikes.sum())}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    gpu = torch.cuda.get_device_name(0)
    rows, results = [], []
    for train in (True, False):
        for shape in SHAPES:
            ref = _bench("reference", shape, train)
            fused = _bench("triton", shape, train)
            same = ref["spikes"] == fused["spikes"]
            results.append({"shape": shape, "train": train, "reference": ref, "triton": fused})
            rows.append(
                f"| {'fwd+bwd' if train else 'inference'} | {list(shape)} | {ref['ms']:.3f} | "
                f"{fused['ms']:.3f} | {ref['ms'] / fused['ms']:.1f}x | {ref['peak_mib']:.0f} | "
                f"{fused['peak_mib']:.0f} | {'yes' if same else 'NO'} |"
            )
            print(rows[-1], flush=True)
    versions = f"torch {torch.__version__}, triton {triton.__version__}"
    table = [
        f"## LIF layer on {gpu} ({versions})\n",
        "| workload | [T, B, N] | reference ms | triton ms | speed-up | reference peak MiB "
        "| triton peak MiB | same spike count |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    (out / "gpu_timing.md").write_text("\n".join(table) + "\n")
    (out / "gpu_timing.json").write_text(
        json.dumps({"gpu": gpu, "versions": versions, "results": results}, indent=2)
    )
    print("\n".join(table))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "gpu_out"))
