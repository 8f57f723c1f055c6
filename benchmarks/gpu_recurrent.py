"""GPU timing of the recurrent and adaptive layers: triton kernels vs the reference (run by
``gpu_check.sh``).

Workload (issue 18): ``[T, B, N] = [250, 32, 256]``, float32, forward + backward of
``spikes.sum()``, the input and recurrent weight of ``benchmarks/recurrent_layer.py`` (so the
dynamics are those of its table). Rows:

- ``RLIF`` dense ``[N, N]``: spikeflow with ``backend="triton"``, the reference scan
  (``backend="reference"``) and the plain PyTorch loop of ``recurrent_layer.py`` (``for x_t in x:``
  with ``s @ W.T``);
- ``RLIF`` one-to-one ``[N]``: triton vs the reference scan;
- ``AdLIF`` (feedforward): triton vs the reference scan.

Each row checks that the triton path gives exactly the reference's spikes. Times are
medians of ``--repeats`` runs after two warm-up runs, synchronised on the GPU.

``--smoke`` runs the same at tiny sizes on the CPU under triton's interpreter
(``TRITON_INTERPRET=1``, set here before triton is imported) to test the script; its times mean
nothing.

Run: ``python benchmarks/gpu_recurrent.py [--smoke] [--out DIR] [--repeats N]``; writes
``gpu_recurrent.md`` and ``gpu_recurrent.json`` into ``DIR``. Exit status 1 if spikes differ.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SHAPE = (250, 32, 256)
SMOKE_SHAPE = (14, 3, 20)  # long enough for the membranes to reach the threshold
VARIANTS = ("triton", "reference", "torch-loop")


def _median_ms(run, sync, repeats: int) -> float:
    run()
    run()
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


def _layers(shape, device):
    """``{row: {variant: layer}}``: each layer maps the input ``[T, B, N]`` to spikes."""
    import torch
    from recurrent_layer import _inputs, _torch_loop

    import spikeflow as sf

    _, weight = _inputs(shape)
    n = shape[2]

    def rlif(backend: str, conn: str):
        model = sf.nn.RLIF(n, beta=0.9, threshold=1.0, connectivity=conn, backend=backend)
        with torch.no_grad():
            if conn == "dense":
                model.weight.copy_(weight)
            else:
                model.weight.copy_(weight.diagonal() * 4)
        model = model.to(device)
        return lambda x: model(x)[0]

    def adlif(backend: str):
        torch.manual_seed(2)
        model = sf.nn.AdLIF(size=n, backend=backend).to(device)
        return lambda x: model(x * 8)[0]

    loop, _ = _torch_loop(weight.to(device))
    return {
        "RLIF dense": {"triton": rlif("triton", "dense"), "reference": rlif("reference", "dense"),
                       "torch-loop": loop},
        "RLIF one-to-one": {"triton": rlif("triton", "one_to_one"),
                            "reference": rlif("reference", "one_to_one")},
        "AdLIF": {"triton": adlif("triton"), "reference": adlif("reference")},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, CPU, triton interpreter")
    parser.add_argument("--out", default="gpu_out", help="folder for gpu_recurrent.md / .json")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    if args.smoke:
        os.environ["TRITON_INTERPRET"] = "1"
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from recurrent_layer import _inputs

    from spikeflow.atomic import write_json, write_text

    device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if device.type == "cpu" and not args.smoke:
        parser.error("no CUDA device: run with --smoke to test the script on the CPU")
    shape = SMOKE_SHAPE if args.smoke else SHAPE
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU, triton interpreter"
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    x = _inputs(shape)[0].to(device).requires_grad_(True)
    rows, results, failed = [], [], False
    for row, variants in _layers(shape, device).items():
        timed, spikes = {}, {}
        for variant, layer in variants.items():
            with torch.no_grad():
                spikes[variant] = layer(x)

            def run(layer=layer) -> None:
                layer(x).sum().backward()
                x.grad = None

            ms = _median_ms(run, sync, args.repeats)
            timed[variant] = {"ms": ms, "spikes": float(spikes[variant].sum())}
        same = torch.equal(spikes["triton"], spikes["reference"])
        failed |= not same
        results.append({"layer": row, **timed, "same_spikes": same})
        fastest_other = min(v["ms"] for k, v in timed.items() if k != "triton")
        cells = [f"{timed[k]['ms']:.2f}" if k in timed else "-" for k in VARIANTS]
        ratio = fastest_other / timed["triton"]["ms"]
        rows.append(f"| {row} | {' | '.join(cells)} | {ratio:.1f}x | {'yes' if same else 'NO'} |")
        print(rows[-1], flush=True)
    text = "\n".join([
        f"## Recurrent and AdLIF layers, forward + backward, [T, B, N] = {list(shape)}, "
        f"on {name}{' (smoke sizes: times mean nothing)' if args.smoke else ''}\n",
        f"torch {torch.__version__}; median of {args.repeats} runs, ms\n",
        "| layer | triton | reference scan | torch loop | speed-up over the fastest other "
        "| same spikes |",
        "|---|---|---|---|---|---|",
        *rows,
    ])  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "gpu_recurrent.md", text + "\n")
    write_json(out / "gpu_recurrent.json", {"device": name, "shape": shape, "results": results})
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
