"""``spikeflow simulate cuba|coba`` and ``spikeflow stdp``: the simulator's benchmarks.

``simulate`` runs the Brette et al. (2007) CUBA or COBA network and prints the mean excitatory
and inhibitory rates, the ISI CV and the wall time; ``stdp`` trains a Diehl & Cook (2015) style
network without labels and reports its test accuracy. Both write a JSON file and a PNG.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from spikeflow.errors import UserError, check_positive_int, check_range

DATASETS = ("digits", "fashion_mnist", "mnist")
# Diehl & Cook used 63.75 Hz for a white MNIST pixel and input weights summing to 78 (784 inputs);
# the 64 pixels of the 8x8 digits get four times the rate and a total of 12 for a similar drive.
DEFAULT_RATE = {"digits": 255.0, "fashion_mnist": 63.75, "mnist": 63.75}
DEFAULT_W_TOTAL = {"digits": 12.0, "fashion_mnist": 78.0, "mnist": 78.0}


def parse_duration(text: str) -> float:
    """``"10s"``, ``"250ms"`` or a plain number of ms -> milliseconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s)?\s*", str(text))
    if m is None:
        raise UserError(f"--duration={text!r} is not valid; expected e.g. 10s, 500ms or 1000 (ms)")
    value = float(m.group(1)) * (1000.0 if m.group(2) == "s" else 1.0)
    if value <= 0:
        raise UserError(f"--duration={text!r} is not valid; expected a positive duration")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    sim = subparsers.add_parser("simulate", help="run the CUBA or COBA benchmark network")
    sim.add_argument("model", choices=("cuba", "coba"), help="current- or conductance-based")
    sim.add_argument("--neurons", type=int, default=4000, help="network size (default 4000)")
    sim.add_argument("--duration", default="1s", help="biological time, e.g. 10s or 500ms")
    sim.add_argument("--dt", type=float, default=0.1, help="time step in ms (default 0.1)")
    sim.add_argument("--batch", type=int, default=1, help="independent copies run at once")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument(
        "--device",
        default=None,
        help="engine: omitted or 'cpu' = numba on CPU; a torch device such as 'cuda' = the "
        "PyTorch engine there; 'cpu-torch' = the PyTorch engine on CPU",
    )
    sim.add_argument("--out", default=None, help="output folder (default runs/simulate-MODEL)")
    sim.set_defaults(func=run_simulate)

    stdp = subparsers.add_parser("stdp", help="unsupervised STDP learning (Diehl & Cook 2015)")
    stdp.add_argument("--dataset", default="digits", choices=DATASETS)
    stdp.add_argument("--neurons", type=int, default=100, help="excitatory neurons")
    stdp.add_argument("--epochs", type=int, default=1, help="passes over the training set")
    stdp.add_argument(
        "--train-limit", type=int, default=None, help="use only the first N training samples"
    )
    stdp.add_argument(
        "--test-limit", type=int, default=None, help="test on the first N test samples"
    )
    stdp.add_argument(
        "--max-rate", type=float, default=None, help="input rate of a white pixel (Hz)"
    )
    stdp.add_argument(
        "--w-total", type=float, default=None, help="sum of each neuron's input weights"
    )
    stdp.add_argument("--seed", type=int, default=0)
    stdp.add_argument(
        "--data-dir", default=None, help="folder of the IDX files (Fashion-MNIST/MNIST)"
    )
    stdp.add_argument("--out", default="runs/stdp", help="output folder")
    stdp.set_defaults(func=run_stdp)


def run_simulate(args: argparse.Namespace) -> int:
    from spikeflow.sim import models, report

    duration = parse_duration(args.duration)
    check_range("--dt", args.dt, 0.0, low_open=True)
    check_positive_int("--batch", args.batch)
    steps = round(duration / args.dt)
    if abs(steps * args.dt - duration) > 1e-6 * duration:
        raise UserError(
            f"--duration={args.duration!r} is not a whole number of steps of --dt={args.dt:g} ms"
        )
    out = Path(args.out or f"runs/simulate-{args.model}")
    t0 = time.perf_counter()
    bench = models.build(args.model, args.neurons, dt=args.dt, batch=args.batch, seed=args.seed)
    bench.net.set_device(args.device)
    bench.net.run(args.dt)  # builds the arrays and loads (or compiles) the engine
    t1 = time.perf_counter()
    if steps > 1:
        bench.net.run((steps - 1) * args.dt)
    t2 = time.perf_counter()
    rates = {
        "exc": report.mean_rate(bench.spikes_exc, duration, args.batch),
        "inh": report.mean_rate(bench.spikes_inh, duration, args.batch),
    }
    cv = {"exc": report.isi_cv(bench.spikes_exc), "inh": report.isi_cv(bench.spikes_inh)}
    result = {
        "model": args.model, "neurons": args.neurons, "duration_ms": duration, "dt_ms": args.dt,
        "batch": args.batch, "seed": args.seed, "device": args.device or "cpu",
        "rate_hz": rates, "isi_cv": cv,
        "spikes": int(bench.spikes_exc.i.size + bench.spikes_inh.i.size),
        "wall_s": {"build_and_first_step": t1 - t0, "run": t2 - t1, "total": t2 - t0},
    }  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=2))
    report.raster_png(
        [bench.spikes_exc, bench.spikes_inh], out / "raster.png", t_max_ms=min(duration, 1000.0),
        title=f"{args.model.upper()}, {args.neurons} neurons (first 1 s, copy 0)",
    )  # fmt: skip
    print(
        f"{args.model.upper()}: {args.neurons} neurons, {duration / 1000:g} s, "
        f"dt {args.dt:g} ms, batch {args.batch}"
    )
    print(f"  mean rate  exc {rates['exc']:7.2f} Hz   inh {rates['inh']:7.2f} Hz")
    print(f"  ISI CV     exc {cv['exc']:7.3f}      inh {cv['inh']:7.3f}")
    print(f"  wall time  build+first step {t1 - t0:.2f} s, run {t2 - t1:.2f} s")
    print(f"  wrote {out / 'result.json'} and {out / 'raster.png'}")
    return 0


def _arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(dataset, "tensors"):
        x, y = dataset.tensors[:2]
    else:
        import torch

        pairs = [dataset[k] for k in range(len(dataset))]
        x = torch.stack([torch.as_tensor(p[0]) for p in pairs])
        y = torch.as_tensor([int(p[1]) for p in pairs])
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return np.clip(x, 0.0, 1.0), np.asarray(y, dtype=np.int64)


def load_dataset(name: str, data_dir: str | None):
    """(x_train, y_train, x_test, y_test, image side) with intensities in [0, 1]."""
    if name == "digits":
        from spikeflow.data.digits import load_digits

        bundle = load_digits()
    else:
        from spikeflow.data import idx

        bundle = (idx.load_fashion_mnist if name == "fashion_mnist" else idx.load_mnist)(data_dir)
    xtr, ytr = _arrays(bundle.train)
    xte, yte = _arrays(bundle.test)
    return xtr, ytr, xte, yte, round(float(np.sqrt(xtr.shape[1])))


def run_stdp(args: argparse.Namespace) -> int:
    from spikeflow.sim.diehl_cook import DiehlCook
    from spikeflow.sim.report import weights_png

    check_positive_int("--neurons", args.neurons)
    check_positive_int("--epochs", args.epochs)
    xtr, ytr, xte, yte, side = load_dataset(args.dataset, args.data_dir)
    if args.train_limit is not None:
        check_positive_int("--train-limit", args.train_limit)
        xtr, ytr = xtr[: args.train_limit], ytr[: args.train_limit]
    if args.test_limit is not None:
        check_positive_int("--test-limit", args.test_limit)
        xte, yte = xte[: args.test_limit], yte[: args.test_limit]
    max_rate = args.max_rate if args.max_rate is not None else DEFAULT_RATE[args.dataset]
    w_total = args.w_total if args.w_total is not None else DEFAULT_W_TOTAL[args.dataset]
    check_range("--max-rate", max_rate, 0.0, low_open=True)
    check_range("--w-total", w_total, 0.0, low_open=True)
    model = DiehlCook(
        xtr.shape[1], args.neurons, max_rate=max_rate, w_total=w_total, seed=args.seed
    )
    from tqdm import tqdm

    t0 = time.perf_counter()
    with tqdm(
        total=args.epochs * len(xtr), desc="stdp train", file=sys.stderr, mininterval=1.0
    ) as bar:
        model.fit(xtr, args.epochs, progress=lambda done, total: bar.update(done - bar.n))
    t1 = time.perf_counter()
    counts = {}
    for name, x in (("label", xtr), ("test", xte)):
        with tqdm(total=len(x), desc=f"stdp {name}", file=sys.stderr, mininterval=1.0) as bar:
            counts[name] = model.responses(x, progress=lambda done, _: bar.update(done - bar.n))
    model.assign_labels(counts["label"], ytr, 10)
    pred = model.classify(counts["test"], 10)
    t2 = time.perf_counter()
    acc = float((pred == yte).mean())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights_png(
        model.weights(), side, out / "weights.png", title=f"{args.dataset}: {args.neurons} neurons"
    )
    result = {
        "dataset": args.dataset, "neurons": args.neurons, "epochs": args.epochs,
        "train_samples": len(xtr), "test_samples": len(xte), "test_accuracy": acc,
        "max_rate_hz": max_rate, "w_total": w_total, "seed": args.seed,
        "neurons_per_label": np.bincount(model.labels, minlength=10).tolist(),
        "wall_s": {"train": t1 - t0, "label_and_test": t2 - t1},
    }  # fmt: skip
    (out / "result.json").write_text(json.dumps(result, indent=2))
    print(
        f"STDP ({args.dataset}, {args.neurons} neurons, {args.epochs} epochs): test accuracy {acc:.2%}"
    )
    print(f"  wall time train {t1 - t0:.1f} s, label+test {t2 - t1:.1f} s")
    print(f"  wrote {out / 'result.json'} and {out / 'weights.png'}")
    return 0
