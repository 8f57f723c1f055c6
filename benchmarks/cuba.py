"""CUBA (Vogels & Abbott 2005, as in Brette et al. 2007) in Brian2 and in spikeflow, in one run.

Each target runs in its own subprocess (Brian2's standalone device cannot share a process with
its runtime targets, and a cold numba cache needs a fresh process):

- ``brian2-numpy``, ``brian2-cython``: Brian2 runtime targets; the cython target compiles into a
  fresh cache folder, so its time includes compilation;
- ``brian2-cpp``: Brian2's C++ standalone device; ``run`` is the binary's own run time
  (compilation excluded), ``total`` the whole build;
- ``spikeflow-cold``: spikeflow with an empty numba cache (compilation included);
- ``spikeflow-warm``: spikeflow with that cache filled.

Times are wall-clock seconds measured inside each process after imports: ``setup`` (building the
network), ``run`` (simulating ``--duration``) and ``total``. Usage (in an environment with
spikeflow, brian2, cython and a C++ compiler)::

    python benchmarks/cuba.py --neurons 4000 --duration 10 --out benchmarks/cuba_results.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TARGETS = ("spikeflow-cold", "spikeflow-warm", "brian2-numpy", "brian2-cython", "brian2-cpp")


def run_spikeflow(neurons: int, duration_s: float, seed: int) -> dict:
    from spikeflow.sim.models import simulate

    # setup: building the network and its first step (which loads or compiles the engine)
    run = simulate("cuba", neurons, duration_ms=duration_s * 1000.0, seed=seed)
    return {
        "setup": run.build_s, "run": run.run_s, "total": run.build_s + run.run_s,
        "rate_exc": run.rate_hz["exc"], "rate_inh": run.rate_hz["inh"],
    }  # fmt: skip


def run_brian(target: str, neurons: int, duration_s: float, seed: int, workdir: str) -> dict:
    import brian2 as b2
    from brian2 import NeuronGroup, SpikeMonitor, Synapses, ms, mV, second

    t0 = time.perf_counter()
    if target == "cpp":
        b2.set_device(
            "cpp_standalone", directory=os.path.join(workdir, "standalone"), build_on_run=False
        )
    else:
        b2.prefs.codegen.target = target
        b2.prefs.codegen.runtime.cython.cache_dir = os.path.join(workdir, "cython-cache")
    b2.seed(seed)
    n_exc = round(0.8 * neurons)
    p = min(1.0, 0.02 * 4000 / neurons)
    eqs = """
    dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
    dge/dt = -ge / taue : volt
    dgi/dt = -gi / taui : volt
    """
    namespace = {
        "taum": 20 * ms,
        "taue": 5 * ms,
        "taui": 10 * ms,
        "El": -49 * mV,
        "Vt": -50 * mV,
        "Vr": -60 * mV,
    }
    group = NeuronGroup(
        neurons,
        eqs,
        threshold="v > Vt",
        reset="v = Vr",
        refractory=5 * ms,
        method="exact",
        namespace=namespace,
    )
    group.v = "Vr + rand() * (Vt - Vr)"
    exc = Synapses(group, group, on_pre="ge += 1.62*mV")
    inh = Synapses(group, group, on_pre="gi += -9*mV")
    exc.connect(condition=f"i < {n_exc}", p=p)
    inh.connect(condition=f"i >= {n_exc}", p=p)
    mon = SpikeMonitor(group)
    net = b2.Network(group, exc, inh, mon)
    net.run(duration_s * second, namespace=namespace)
    t1 = time.perf_counter()
    out: dict = {}
    if target == "cpp":
        b2.device.build(run=False)
        t2 = time.perf_counter()
        b2.device.run()
        t3 = time.perf_counter()
        out.update(
            compile=t2 - t1,
            run=t3 - t2,
            total=t3 - t0,
            setup=t1 - t0,
            main_loop=b2.device._last_run_time,
        )
    else:
        out.update(setup=0.0, run=t1 - t0, total=t1 - t0)
    idx = mon.i[:]
    n_e = int((idx < n_exc).sum())
    out.update(
        rate_exc=n_e / (n_exc * duration_s),
        rate_inh=(idx.size - n_e) / ((neurons - n_exc) * duration_s),
    )
    return out


def worker(args: argparse.Namespace) -> None:
    if args.worker.startswith("spikeflow"):
        res = run_spikeflow(args.neurons, args.duration, args.seed)
    else:
        res = run_brian(
            args.worker.split("-")[1], args.neurons, args.duration, args.seed, args.workdir
        )
    print("RESULT " + json.dumps(res), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--neurons", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=10.0, help="biological time in s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "numba-cache"))
        for target in args.targets.split(","):
            cmd = [sys.executable, __file__, "--worker", target, "--workdir", tmp]
            cmd += [
                "--neurons",
                str(args.neurons),
                "--duration",
                str(args.duration),
                "--seed",
                str(args.seed),
            ]
            print(f"running {target} ...", file=sys.stderr, flush=True)
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                print(f"  {target} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            results[target] = json.loads(lines[-1][len("RESULT ") :])
    report(results, args)


def report(results: dict, args: argparse.Namespace) -> None:
    ref = results.get("spikeflow-warm", {}).get("run")
    print(
        f"\nCUBA, {args.neurons} neurons, {args.duration:g} s biological time, dt 0.1 ms, seed {args.seed}"
    )
    print(
        f"{'target':16s} {'setup s':>8s} {'run s':>8s} {'total s':>8s} "
        f"{'exc Hz':>7s} {'inh Hz':>7s} {'run / spikeflow':>16s}"
    )
    for name, r in results.items():
        ratio = f"{r['run'] / ref:.2f}x" if ref else "-"
        print(
            f"{name:16s} {r['setup']:8.2f} {r['run']:8.2f} {r['total']:8.2f} "
            f"{r['rate_exc']:7.2f} {r['rate_inh']:7.2f} {ratio:>16s}"
        )
    if "brian2-cpp" in results:
        r = results["brian2-cpp"]
        print(
            f"brian2-cpp: compile {r['compile']:.1f} s (excluded from run), main loop {r['main_loop']:.2f} s"
        )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {"neurons": args.neurons, "duration_s": args.duration, "results": results},
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
