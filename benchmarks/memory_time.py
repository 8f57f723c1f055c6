"""Peak training memory and step time over long sequences: plain BPTT, checkpointing, online.

The ``cnn`` model (channels 32, 64; a 256-wide hidden layer; 10 classes) on event frames
``[T, 16, 2, 64, 64]`` (Bernoulli events, rate 0.05), one training step ``zero_grad -> forward ->
backward -> Adam.step`` with the rate cross-entropy loss, for each mode and each ``T``:

- ``plain``: backpropagation through time over the whole sequence;
- ``checkpoint``: the same gradients, the network recomputed in segments of ``K`` steps
  (``Sequential(checkpoint_every=K)``, ``--checkpoint-every K``);
- ``online``: online training through time (``--online``, :mod:`spikeflow.train.online`).

Batch norm normalises over all ``T`` steps in training mode, which neither a segmented nor an online
run can reproduce (both refuse it), so the batch-norm layers are in eval mode in every mode here:
the same network for all three. Each measurement runs in a fresh process (``_common.run_child``):
one warm-up step at ``T = 2`` (kernels compiled, optimiser state allocated), then the peak is the
rise of the resident set during one step (``VmHWM`` reset through ``/proc/self/clear_refs``; the
input, model and optimiser state are allocated before); the step time is the best of that step
and ``--repeats`` more.
A plain step whose estimated memory exceeds ``--max-gib`` is not run (reported as skipped).

Run: ``python benchmarks/memory_time.py [--steps 50,200,800] [--modes plain,checkpoint,online]
[--every 50] [--repeats 0]``; writes ``benchmarks/results/memory_time.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import child_main, machine, peak_memory, run_child, table

BATCH, SHAPE, CLASSES, RATE = 16, (2, 64, 64), 10, 0.05
RESULTS = Path(__file__).resolve().parent / "results"
#: Plain BPTT on this model holds about this much per sample and time step (measured at T=50).
PLAIN_BYTES_PER_SAMPLE_STEP = 2.6e6


def measure(spec: dict) -> dict:
    import torch

    from spikeflow import loss as losses
    from spikeflow import models
    from spikeflow.train.online import online_step

    torch.manual_seed(0)
    model = models.build("cnn", SHAPE, CLASSES)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    if spec["mode"] == "checkpoint":
        model.body.checkpoint_every = spec["every"]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen)

    def events(steps: int) -> torch.Tensor:
        x = torch.empty(steps, BATCH, *SHAPE)
        for t in range(steps):  # filled in place: no temporary of the whole input
            x[t] = torch.rand(BATCH, *SHAPE, generator=gen) < RATE
        return x

    def objective(out: models.ClassifierOutput) -> torch.Tensor:
        return losses.rate_ce(out.spikes, out.v, y)

    def step_on(x: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        if spec["mode"] == "online":
            online_step(model, x, objective)
        else:
            objective(model(x)).backward()
        opt.step()

    step_on(events(2))
    x = events(spec["steps"])
    t0 = time.perf_counter()
    peak = peak_memory(lambda: step_on(x))
    times = [time.perf_counter() - t0]
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        step_on(x)
        times.append(time.perf_counter() - t0)
    return {"peak": peak, "times": times, "input_bytes": x.numel() * x.element_size()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="50,200,800", help="values of T")
    parser.add_argument("--modes", default="plain,checkpoint,online")
    parser.add_argument("--every", type=int, default=50, help="checkpoint segment length K")
    parser.add_argument("--repeats", type=int, default=0, help="more timed steps after the first")
    parser.add_argument("--max-gib", type=float, default=10.0, help="skip plain runs above this")
    args = parser.parse_args()
    from spikeflow.atomic import write_json, write_text

    RESULTS.mkdir(exist_ok=True)
    results = []
    for steps in map(int, args.steps.split(",")):
        for mode in args.modes.split(","):
            spec = {"mode": mode, "steps": steps, "every": args.every, "repeats": args.repeats}
            estimate = PLAIN_BYTES_PER_SAMPLE_STEP * BATCH * steps / 2**30
            load = os.getloadavg()[0]
            if mode == "plain" and estimate > args.max_gib:
                r = {"skipped": f"estimated {estimate:.1f} GiB > --max-gib {args.max_gib}"}
            else:
                r = run_child(__file__, spec, timeout=3600, memory=True)
            results.append({**spec, **r, "load_before": load})
            print(results[-1], flush=True)
            write_json(RESULTS / "memory_time.json", {"machine": machine(), "results": results})
    rows = []
    for r in results:
        if "peak" not in r:
            rows.append([r["mode"], str(r["steps"]), r.get("skipped", r.get("error", "?")), "", ""])
            continue
        base = next(b for b in results if b["mode"] == r["mode"] and "peak" in b)
        step_s = min(r["times"])
        rows.append(
            [
                r["mode"] + (f" (K={r['every']})" if r["mode"] == "checkpoint" else ""),
                str(r["steps"]),
                f"{r['peak'] / 2**20:.0f} MiB ({r['peak'] / base['peak']:.2f}x)",
                f"{step_s:.1f} s ({step_s / r['steps'] * 1000:.0f} ms per time step)",
                f"{r['load_before']:.1f}",
            ]
        )
    headers = ["mode", "T", "peak step memory (x first T)", "step time", "load before"]
    text = (
        f"## cnn on event frames [T, {BATCH}, 2, 64, 64]: one training step\n\n"
        f"{machine()}\n\n" + table(headers, rows) + "\n"
    )
    print(text)
    write_text(RESULTS / "memory_time.md", text)


if __name__ == "__main__" and not child_main(measure):
    main()
