"""``spikeflow simulate cuba|coba|microcircuit`` and ``spikeflow stdp``: the simulator's benchmarks.

``simulate`` runs the Brette et al. (2007) CUBA or COBA network and prints the mean excitatory
and inhibitory rates, the ISI CV and the wall time, or the Potjans & Diesmann (2014)
microcircuit and prints per-population rates, CVs and synchrony; ``stdp`` trains a Diehl & Cook (2015) style
network without labels and reports its test accuracy. Both write a JSON file and a PNG. The work
is done by :func:`spikeflow.sim.models.simulate`,
:func:`spikeflow.sim.microcircuit_run.simulate_microcircuit` and
:func:`spikeflow.sim.stdp_experiment.run_stdp_experiment`.
"""

from __future__ import annotations

import argparse
import os
import re

from spikeflow.errors import UserError
from spikeflow.sim.microcircuit_run import simulate_microcircuit, write_report
from spikeflow.sim.models import MODELS, simulate
from spikeflow.sim.report import write_simulation
from spikeflow.sim.stdp_experiment import DATASETS, run_stdp_experiment, write_stdp


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
    sim = subparsers.add_parser(
        "simulate", help="run the CUBA or COBA benchmark network or the cortical microcircuit"
    )
    sim.add_argument(
        "model",
        choices=(*MODELS, "microcircuit"),
        help="CUBA / COBA (Brette et al. 2007) or the Potjans & Diesmann (2014) microcircuit",
    )
    sim.add_argument("--neurons", type=int, default=4000, help="CUBA/COBA size (default 4000)")
    sim.add_argument(
        "--scale",
        type=float,
        default=None,
        help="microcircuit: neurons and in-degrees (0, 1], default 0.1",
    )
    sim.add_argument(
        "--k-scale", type=float, default=None, help="microcircuit: in-degrees (default --scale)"
    )
    sim.add_argument("--thalamic", action="store_true", help="microcircuit: thalamic pulse")
    sim.add_argument(
        "--threads", type=int, default=None, help="microcircuit: threads (default all cores)"
    )
    sim.add_argument(
        "--transient",
        default="100ms",
        help="microcircuit: statistics start after this (default 100ms; 0 for none)",
    )
    sim.add_argument("--duration", default="1s", help="biological time, e.g. 10s or 500ms")
    sim.add_argument("--dt", type=float, default=0.1, help="time step in ms (default 0.1)")
    sim.add_argument("--batch", type=int, default=1, help="independent copies run at once")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument(
        "--device",
        default=None,
        help="engine: omitted or 'cpu' = numba on CPU; 'cuda' (or 'cuda:K') = the PyTorch "
        "engine on that GPU; 'auto' = 'cuda' where a GPU is visible, else 'cpu'; 'cpu-torch' = "
        "the PyTorch engine on CPU",
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


#: Flags of the microcircuit alone (refused for the other models rather than ignored).
MICROCIRCUIT_ONLY = ("scale", "k_scale", "threads")


def run_simulate(args: argparse.Namespace) -> int:
    if args.model == "microcircuit":
        return run_microcircuit(args)
    given = [f"--{k.replace('_', '-')}" for k in MICROCIRCUIT_ONLY if getattr(args, k) is not None]
    if given or args.thalamic:
        flags = ", ".join(given + (["--thalamic"] if args.thalamic else []))
        raise UserError(f"{flags} apply only to 'simulate microcircuit', not to {args.model!r}")
    run = simulate(
        args.model, args.neurons, duration_ms=parse_duration(args.duration), dt=args.dt,
        batch=args.batch, seed=args.seed, device=args.device,
    )  # fmt: skip
    json_path, png = write_simulation(run, args.out or f"runs/simulate-{args.model}")
    rates, cv = run.rate_hz, run.isi_cv
    print(
        f"{args.model.upper()}: {args.neurons} neurons, {run.duration_ms / 1000:g} s, "
        f"dt {args.dt:g} ms, batch {args.batch}"
    )
    print(f"  mean rate  exc {rates['exc']:7.2f} Hz   inh {rates['inh']:7.2f} Hz")
    print(f"  ISI CV     exc {cv['exc']:7.3f}      inh {cv['inh']:7.3f}")
    print(f"  wall time  build+first step {run.build_s:.2f} s, run {run.run_s:.2f} s")
    print(f"  wrote {json_path} and {png}")
    return 0


def run_microcircuit(args: argparse.Namespace) -> int:
    if args.device not in (None, "cpu") or args.batch != 1 or args.dt != 0.1:
        raise UserError(
            f"--device={args.device}, --batch={args.batch}, --dt={args.dt:g} are not valid for "
            "the microcircuit; expected the numba CPU engine, one copy and dt 0.1 ms (omit them)"
        )
    # numba's OpenMP threads wait passively at the engine's per-step barriers (spinning ones
    # make a shared machine many times slower); read when the runtime starts, so set it first
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    out = args.out or "runs/simulate-microcircuit"
    transient = 0.0 if str(args.transient).strip() == "0" else parse_duration(args.transient)
    run = simulate_microcircuit(
        0.1 if args.scale is None else args.scale, parse_duration(args.duration), out, k_scale=args.k_scale,
        thalamic=args.thalamic, threads=args.threads, seed=args.seed, transient_ms=transient,
    )  # fmt: skip
    json_path, png = write_report(run, out)
    s = run.summary()
    print(
        f"microcircuit: scale {s['scale']:g}, {s['neurons']} neurons, {s['synapses']} synapses "
        f"({s['bytes_per_synapse']:g} B each), {s['duration_ms'] / 1000:g} s, {s['threads']} threads"
    )
    print(f"  {'population':10s} {'rate Hz':>8s} {'CV ISI':>7s} {'synchrony':>9s}")
    for name, st in run.stats.items():
        print(f"  {name:10s} {st['rate_hz']:8.3f} {st['cv_isi']:7.3f} {st['synchrony']:9.3f}")
    w = s["wall_s"]
    print(
        f"  wall time  build {w['build']:.2f} s, sim {w['sim']:.2f} s "
        f"({w['sim_per_bio_s']:.2f} s per biological s); peak memory {s['peak_rss_gib']:.2f} GiB"
    )
    print(f"  wrote {run.spikes_path}, {json_path} and {png}")
    return 0


def run_stdp(args: argparse.Namespace) -> int:
    result = run_stdp_experiment(
        args.dataset, args.neurons, epochs=args.epochs, train_limit=args.train_limit,
        test_limit=args.test_limit, max_rate=args.max_rate, w_total=args.w_total,
        seed=args.seed, data_dir=args.data_dir,
    )  # fmt: skip
    json_path, png = write_stdp(result, args.out)
    f = result.figures
    print(
        f"STDP ({f['dataset']}, {f['neurons']} neurons, {f['epochs']} epochs): "
        f"test accuracy {f['test_accuracy']:.2%}"
    )
    print(f"  wall time train {f['wall_s']['train']:.1f} s, label+test "
          f"{f['wall_s']['label_and_test']:.1f} s")  # fmt: skip
    print(f"  wrote {json_path} and {png}")
    return 0
