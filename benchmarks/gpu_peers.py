"""GPU peer benchmark: spikeflow against SpikingJelly (triton and CUDA backends), Norse under
``torch.compile`` and snnTorch (run by ``gpu_check.sh``).

Workloads, forward + backward of ``spikes.sum()``, float32, the dynamics of ``_peers.lif_layer``
(``v = 0.9 v + x``, threshold 1, subtract reset):

- ``lif``: the LIF layer alone on ``x`` ``[T, B, N] = [500, 16, 16384]`` (the Open Neuromorphic
  benchmark shape);
- ``linear+lif``: ``Linear(N, N)`` then the LIF layer, same shape;
- ``fashion-epoch``: one training epoch (60,000 samples, batch 128, T=8, Adam) of the conv SNN
  ``Conv3x3(32)-BN-MaxPool-LIF-Conv3x3(64)-BN-MaxPool-LIF-Linear(256)-LIF-Linear(10)-LIF`` on
  Fashion-MNIST-shaped input: spikeflow's ``cnn`` model against the same network built from
  SpikingJelly layers. The samples are random (only the time is measured; no dataset is read).

Every (workload, library) runs in its own child process (SpikingJelly picks its backend from
``SJ_LIF_CUDA_IMPLEMENTATION`` at import). A library or backend that is missing or fails gives a
row saying why, never a crash. ``--smoke`` runs everything at tiny sizes on whatever device there
is, to test the script (on a CPU, SpikingJelly runs its CPU operator whatever backend is asked).

Run: ``python benchmarks/gpu_peers.py [--smoke] [--out DIR]``; writes ``gpu_peers.md`` and
``gpu_peers.json`` into ``DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

FULL = {"shape": [500, 16, 16384], "samples": 60000, "steps": 8, "batch": 128, "repeats": 10}
# smoke: torch.compile's "eager" backend (the same call path without inductor's minutes of compiling)
SMOKE = {"shape": [6, 2, 32], "samples": 64, "steps": 2, "batch": 32, "repeats": 2,
         "compile_backend": "eager"}  # fmt: skip
# (name, SJ_LIF_CUDA_IMPLEMENTATION or None)
LAYER_LIBS = (
    ("spikeflow", None),
    ("spikingjelly-triton", "triton"),
    ("spikingjelly-cuda", "cuda"),
    ("norse-compile", None),
    ("snntorch", None),
)
EPOCH_LIBS = (("spikeflow", None), ("spikingjelly", "auto"))


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _median_ms(run, repeats: int) -> float:
    run()  # warm-up: compilation, autotuning, caches
    run()
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        run()
        _sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def _layer(lib: str, compile_backend: str):
    """``(layer, version)``: the LIF layer of ``lib`` (SpikingJelly's backend is chosen by the
    environment of this child process; Norse's loop is compiled with ``compile_backend``)."""
    import torch
    from _peers import lif_layer

    if lib == "norse-compile":
        layer, version = lif_layer("norse")
        return torch.compile(layer, backend=compile_backend), version
    return lif_layer(lib.split("-")[0])


def _layer_workload(spec: dict) -> dict:
    import torch

    dev = _device()
    t_len, batch, n = spec["shape"]
    layer, version = _layer(spec["lib"], spec.get("compile_backend", "inductor"))
    gen = torch.Generator(device=dev).manual_seed(0)
    x = (torch.rand(t_len, batch, n, device=dev, generator=gen) * 0.3).requires_grad_()
    torch.manual_seed(0)  # the same Linear weights in every library's child
    linear = torch.nn.Linear(n, n, device=dev) if spec["workload"] == "linear+lif" else None

    def run() -> None:
        inp = linear(x) if linear is not None else x
        layer(inp).sum().backward()
        x.grad = None

    ms = _median_ms(run, spec["repeats"])
    with torch.no_grad():
        spikes = float(layer(linear(x) if linear is not None else x).sum())
    return {"ms": ms, "version": version, "spikes": spikes}


def _sj_cnn(steps: int):
    import torch
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def lif():
        return neuron.LIFNode(
            tau=10.0, decay_input=False, v_reset=None, v_threshold=1.0,
            surrogate_function=surrogate.ATan(), detach_reset=True, step_mode="m",
        )  # fmt: skip

    net = torch.nn.Sequential(
        layer.Conv2d(1, 32, 3, padding=1, bias=False, step_mode="m"),
        layer.BatchNorm2d(32, step_mode="m"),
        layer.MaxPool2d(2, step_mode="m"),
        lif(),
        layer.Conv2d(32, 64, 3, padding=1, bias=False, step_mode="m"),
        layer.BatchNorm2d(64, step_mode="m"),
        layer.MaxPool2d(2, step_mode="m"),
        lif(),
        layer.Flatten(step_mode="m"),
        layer.Linear(64 * 7 * 7, 256, step_mode="m"),
        lif(),
        layer.Linear(256, 10, step_mode="m"),
        lif(),
    )

    def logits(x):
        functional.reset_net(net)
        return net(x.unsqueeze(0).expand(steps, *x.shape)).mean(0)

    return net, logits


def _sf_cnn(steps: int):
    import spikeflow as sf
    from spikeflow.models.cnn import SpikingCNN

    net = SpikingCNN((1, 28, 28), 10, channels=(32, 64), hidden=(256,))

    def logits(x):
        return net(x.unsqueeze(0).expand(steps, *x.shape)).spikes.mean(0)

    return net, logits, getattr(sf, "__version__", "dev")


def _epoch_workload(spec: dict) -> dict:
    import torch

    dev = _device()
    steps, batch, samples = spec["steps"], spec["batch"], spec["samples"]
    if spec["lib"] == "spikeflow":
        net, logits, version = _sf_cnn(steps)
    else:
        from importlib.metadata import version as dist_version

        net, logits = _sj_cnn(steps)
        version = dist_version("spikingjelly")
    torch.manual_seed(0)
    net = net.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    gen = torch.Generator(device=dev).manual_seed(0)
    images = torch.rand(samples, 1, 28, 28, device=dev, generator=gen)
    labels = torch.randint(0, 10, (samples,), device=dev, generator=gen)

    def epoch() -> None:
        for lo in range(0, samples, batch):
            loss = torch.nn.functional.cross_entropy(
                logits(images[lo : lo + batch]), labels[lo : lo + batch]
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    logits(images[:batch]).sum().backward()  # warm-up: compilation, autotuning
    _sync()
    t0 = time.perf_counter()
    epoch()
    _sync()
    return {"ms": (time.perf_counter() - t0) * 1e3, "version": version}


def measure(spec: dict) -> dict:
    """One (workload, library) in this process; ``{"error": why}`` where it cannot run."""
    try:
        if spec["workload"] == "fashion-epoch":
            return _epoch_workload(spec)
        return _layer_workload(spec)
    except Exception as err:  # a peer that is missing or fails is a row, not a crash
        lines = str(err).strip().splitlines() or [""]
        return {"error": f"{type(err).__name__}: {lines[0][:160]}"}


def _child(spec: dict, sj_impl: str | None, timeout: float) -> dict:
    env = dict(os.environ)
    if sj_impl:
        env["SJ_LIF_CUDA_IMPLEMENTATION"] = sj_impl
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"child exited {done.returncode}: {tail[:160]}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, any device")
    parser.add_argument("--out", default="gpu_out", help="folder for gpu_peers.md / .json")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per child")
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    jobs = [(w, lib, sj) for w in ("lif", "linear+lif") for lib, sj in LAYER_LIBS]
    jobs += [("fashion-epoch", lib, sj) for lib, sj in EPOCH_LIBS]
    results: list[dict] = []
    for workload, lib, sj in jobs:
        r = _child({**sizes, "workload": workload, "lib": lib}, sj, args.timeout)
        results.append({"workload": workload, "lib": lib, **r})
        print(workload, lib, r, flush=True)
        _write(
            Path(args.out), results, sizes, args.smoke
        )  # after each row: a killed run keeps them
    print((Path(args.out) / "gpu_peers.md").read_text())


def _write(out: Path, results: list[dict], sizes: dict, smoke: bool) -> None:
    """``gpu_peers.md`` and ``gpu_peers.json`` in ``out`` from the rows so far."""
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (no CUDA)"
    rows = []
    for r in results:
        base = next(
            (b for b in results if b["workload"] == r["workload"] and b["lib"] == "spikeflow"), {}
        )
        if "error" in r:
            rows.append(f"| {r['workload']} | {r['lib']} | - | - | {r['error']} |")
            continue
        ratio = f"{r['ms'] / base['ms']:.2f}x" if "ms" in base else "-"
        note = f"spikes {r['spikes']:.0f}" if "spikes" in r else ""
        rows.append(
            f"| {r['workload']} | {r['lib']} {r['version']} | {r['ms']:.2f} | {ratio} | {note} |"
        )
    text = "\n".join([
        f"## Peers on {device}{' (smoke sizes)' if smoke else ''}\n",
        f"Layers: [T, B, N] = {sizes['shape']}, fwd+bwd. Epoch: {sizes['samples']} samples, batch "
        f"{sizes['batch']}, T={sizes['steps']}.\n",
        "| workload | library | ms | vs spikeflow | note |",
        "|---|---|---|---|---|",
        *rows,
    ])  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_peers.md").write_text(text + "\n")
    (out / "gpu_peers.json").write_text(
        json.dumps({"device": device, "sizes": sizes, "results": results}, indent=2)
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(json.loads(sys.argv[2]))))
    else:
        main()
