"""Memory bandwidth of the fused LIF kernels on the GPU (run by ``gpu_check.sh``).

For ``[T, B, N]`` = ``[500, 16, 16384]`` (the Open Neuromorphic benchmark shape) and
``[100, 64, 1024]``, float32 and bfloat16 input, times the LIF layer (beta 0.9, threshold 1,
subtract reset, triton engine) in inference and forward + backward (a dense ``dL/ds``), and turns
the time into bytes moved per second: the bytes the kernels must read and write at least
(:func:`kernel_bytes`), over the median time. The ceiling is measured, not assumed: a
``torch`` copy of the same number of bytes (read + write) on the same device; the device's
datasheet bandwidth (:data:`DATASHEET`, by name) is printed beside it.

``--smoke`` runs the same on the CPU at tiny sizes (the numba engine; the byte counts are then the
triton engine's, for the arithmetic only), to test the script.

Run: ``python benchmarks/gpu_bandwidth.py [--smoke] [--out DIR]``; writes ``gpu_bandwidth.md`` and
``gpu_bandwidth.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import spikeflow as sf

SHAPES = ((500, 16, 16384), (100, 64, 1024))
SMOKE_SHAPES = ((8, 2, 64), (4, 3, 32))
DTYPES = (torch.float32, torch.bfloat16)
# datasheet memory bandwidth, bytes per second, by a substring of the device name
DATASHEET = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12, "L40S": 0.864e12, "A10": 0.6e12}


def kernel_bytes(shape: tuple[int, int, int], dtype: torch.dtype, train: bool) -> int:
    """Bytes the triton kernels must move for one call over ``shape`` with input ``dtype``.

    Inference: read ``x``, write the spikes. Forward for training: also the saved float32
    membrane and one byte of flags. Backward: read ``dL/ds`` (``dtype``), the saved membrane and
    flags, write ``dL/dx`` (``dtype``). Per-neuron state and parameters are not counted.

    Arguments:
        shape: ``[T, B, N]``. dtype: the input's dtype. train: forward + backward.

    Returns:
        bytes.
    """
    n = shape[0] * shape[1] * shape[2]
    e = torch.empty((), dtype=dtype).element_size()
    if not train:
        return n * 2 * e
    return n * (2 * e + 4 + 1) + n * (e + 4 + 1 + e)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_s(run, device: torch.device, repeats: int) -> float:
    run()
    run()
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        run()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def copy_bandwidth(nbytes: int, device: torch.device, repeats: int) -> float:
    """Bytes per second of ``dst.copy_(src)`` moving ``nbytes`` in all (half read, half written)."""
    src = torch.empty(max(nbytes // 2, 1), dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    return nbytes / _median_s(lambda: dst.copy_(src), device, repeats)


def measure(shape, dtype, train: bool, device: torch.device, repeats: int) -> dict:
    """Median time and bandwidth of one LIF call."""
    lif = sf.nn.LIF(beta=0.9, threshold=1.0, reset="subtract").to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    x = (torch.rand(shape, device=device, generator=gen) * 0.3).to(dtype)
    grad = torch.rand(shape, device=device, generator=gen).to(dtype)
    if train:
        x.requires_grad_(True)

        def run() -> None:
            torch.autograd.backward(lif(x)[0], grad)
            x.grad = None

    else:

        def run() -> None:
            with torch.no_grad():
                lif(x)

    seconds = _median_s(run, device, repeats)
    nbytes = kernel_bytes(shape, dtype, train)
    return {"ms": seconds * 1e3, "bytes": nbytes, "bytes_per_s": nbytes / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, any device")
    parser.add_argument("--out", default="gpu_out", help="folder for gpu_bandwidth.md / .json")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU (no CUDA)"
    sheet = next((bw for key, bw in DATASHEET.items() if key in name), None)
    rows, results = [], []
    for shape in SMOKE_SHAPES if args.smoke else SHAPES:
        for dtype in DTYPES:
            for train in (False, True):
                r = measure(shape, dtype, train, device, args.repeats)
                ceiling = copy_bandwidth(r["bytes"], device, args.repeats)
                of_sheet = "-" if sheet is None else f"{100 * r['bytes_per_s'] / sheet:.0f} %"
                r.update(shape=list(shape), dtype=str(dtype), train=train, copy_bytes_per_s=ceiling)
                results.append(r)
                rows.append(
                    f"| {list(shape)} | {str(dtype).removeprefix('torch.')} | "
                    f"{'fwd+bwd' if train else 'inference'} | {r['ms']:.3f} | "
                    f"{r['bytes'] / 2**20:.0f} | {r['bytes_per_s'] / 1e9:.0f} | "
                    f"{ceiling / 1e9:.0f} | {100 * r['bytes_per_s'] / ceiling:.0f} % | "
                    f"{of_sheet} |"
                )
                print(rows[-1], flush=True)
    text = "\n".join([
        f"## LIF kernels' bandwidth on {name}{' (smoke sizes)' if args.smoke else ''}\n",
        f"datasheet: {'-' if sheet is None else f'{sheet / 1e12:.2f} TB/s'}; torch "
        f"{torch.__version__}\n",
        "| [T, B, N] | input | workload | ms | MiB moved | GB/s | copy GB/s | of copy "
        "| of datasheet |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_bandwidth.md").write_text(text + "\n")
    (out / "gpu_bandwidth.json").write_text(
        json.dumps({"device": name, "datasheet": sheet, "results": results}, indent=2)
    )
    print(text)


if __name__ == "__main__":
    main()
