"""The Potjans & Diesmann (2014) cortical microcircuit in NEST 3.10 and in spikeflow, side by side.

Both simulators get the same model: the parent derives every number once
(:func:`spikeflow.sim.microcircuit.derive`: population sizes, synapse totals, weights, delays,
background in-degrees, DC compensation) and hands it to each child as JSON; NEST builds it the
way the PyNEST example does (``iaf_psc_exp``, ``fixed_total_number``, normal weights and delays
with ``nest.math.redraw``, one ``poisson_generator`` per population), spikeflow with
:func:`spikeflow.sim.microcircuit.build`. Each run is its own child process (the libraries take
turns, alternating which goes first at each scale), with the same number of threads and
``OMP_WAIT_POLICY=PASSIVE`` for both; NEST's OpenMP threads otherwise spin. Figures per run:
build time (NEST: create, connect and ``Prepare``; spikeflow: drawing and grouping the synapses),
simulation time per biological second, the child's peak resident memory (``ru_maxrss``, imports
included), and per-population rates, ISI CVs and synchrony, computed for both from the spikes by
:func:`spikeflow.sim.spike_stats.population_stats` over ``[--transient, --duration)``.

spikeflow's numba cache is filled by a small run first (compilation is not timed). Usage (in the
benchmark environment, ``make .venv-bench/.installed``)::

    .venv-bench/bin/python benchmarks/microcircuit.py --scales 0.1,0.25 --duration 1 --threads 2

Results go to ``benchmarks/results/microcircuit.json`` and ``.md`` (merged by library, scale and
seed with what is there).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LIBS = ("nest", "spikeflow")
RESULTS = Path(__file__).parent / "results"


def spec_json(scale: float, thalamic: bool) -> dict:
    """The derived model as plain JSON (lists), for the NEST child."""
    from spikeflow.sim.microcircuit import derive

    s = derive(scale, thalamic=thalamic)
    out = {}
    for k, v in vars(s).items():
        out[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return out


def child_nest(spec: dict, duration_ms: float, threads: int, seed: int, out: Path) -> dict:
    import nest

    t0, c0 = time.perf_counter(), time.process_time()
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    dt = spec["dt"]
    nest.SetKernelStatus(
        {"local_num_threads": threads, "resolution": dt, "rng_seed": seed + 1, "print_time": False}
    )
    pops = []
    for i, n in enumerate(spec["n"]):
        pop = nest.Create("iaf_psc_exp", n)
        pop.set(
            tau_syn_ex=spec["tau_syn"], tau_syn_in=spec["tau_syn"], E_L=spec["e_l"],
            V_th=spec["v_th"], V_reset=spec["v_reset"], C_m=spec["c_m"], tau_m=spec["tau_m"],
            t_ref=spec["t_ref"], I_e=spec["dc"][i],
        )  # fmt: skip
        pop.set(V_m=nest.random.normal(spec["v0_mean"][i], spec["v0_std"][i]))
        pops.append(pop)
    # one copy of static_synapse per source population: NEST 3.10 holds at most 134,217,726
    # connections per thread and synapse model, fewer than the full model's 299 million over
    # 2 threads in one model (the copies behave exactly as static_synapse)
    for j in range(len(pops)):
        nest.CopyModel("static_synapse", f"static_from_{j}")
    recorder = nest.Create("spike_recorder")
    bg = nest.Create("poisson_generator", n=len(pops))
    bg.rate = [spec["bg_rate"] * k for k in spec["k_ext"]]
    for i, target in enumerate(pops):
        for j, source in enumerate(pops):
            n_syn = spec["n_syn"][i][j]
            if n_syn <= 0:
                continue
            w, d = spec["w_mean"][i][j], spec["d_mean"][i][j]
            lo, hi = (0.0, np.inf) if w >= 0 else (-np.inf, 0.0)
            nest.Connect(
                source, target, {"rule": "fixed_total_number", "N": n_syn},
                {"synapse_model": f"static_from_{j}",
                 "weight": nest.math.redraw(
                     nest.random.normal(mean=w, std=abs(w) * spec["w_rel_std"]), min=lo, max=hi),
                 "delay": nest.math.redraw(
                     nest.random.normal(mean=d, std=d * spec["d_rel_std"]), min=dt, max=np.inf)},
            )  # fmt: skip
        nest.Connect(bg[i], target, "all_to_all", {"weight": spec["w_ext"], "delay": 1.5})
        nest.Connect(target, recorder)
    if spec["thalamic"]:
        thal = nest.Create("parrot_neuron", spec["n_th"])
        gen = nest.Create("poisson_generator")
        gen.set(rate=spec["th_rate"], start=spec["th_start"],
                stop=spec["th_start"] + spec["th_duration"])  # fmt: skip
        nest.Connect(gen, thal)
        for i, target in enumerate(pops):
            if spec["n_syn_th"][i] <= 0:
                continue
            w, d = spec["w_th"], spec["d_th_mean"]
            nest.Connect(
                thal, target, {"rule": "fixed_total_number", "N": spec["n_syn_th"][i]},
                {"weight": nest.math.redraw(
                    nest.random.normal(mean=w, std=w * spec["w_rel_std"]), min=0.0, max=np.inf),
                 "delay": nest.math.redraw(
                     nest.random.normal(mean=d, std=d * spec["d_th_rel_std"]), min=dt,
                     max=np.inf)},
            )  # fmt: skip
    nest.Prepare()
    nest.Cleanup()
    t1, c1 = time.perf_counter(), time.process_time()
    # progress on stderr, so that a run stopped during the simulation still tells its build
    print(json.dumps({"nest_build_s": t1 - t0, "nest_build_cpu_s": c1 - c0}), file=sys.stderr,
          flush=True)  # fmt: skip
    nest.Simulate(duration_ms)
    t2, c2 = time.perf_counter(), time.process_time()
    ev = recorder.get("events")
    first = np.array([p[0].global_id for p in pops])
    starts = np.concatenate([[0], np.cumsum(spec["n"])])
    senders = np.asarray(ev["senders"])
    pop = np.searchsorted(first, senders, side="right") - 1
    neuron = starts[pop] + senders - first[pop]
    step = np.rint(np.asarray(ev["times"]) / dt).astype(np.int64) - 1  # stamped at step end
    order = np.lexsort((neuron, step))
    np.save(out / "spikes_steps.npy", step[order])
    np.save(out / "spikes_neurons.npy", neuron[order])
    return {"build_s": t1 - t0, "sim_s": t2 - t1, "build_cpu_s": c1 - c0, "sim_cpu_s": c2 - c1,
            "synapses": int(nest.num_connections), "version": nest.__version__}  # fmt: skip


def child_spikeflow(scale: float, thalamic: bool, duration_ms: float, threads: int, seed: int,
                    out: Path) -> dict:  # fmt: skip
    import numba

    from spikeflow.sim.microcircuit_run import read_spikes, simulate_microcircuit

    run = simulate_microcircuit(
        scale, duration_ms, out, thalamic=thalamic, threads=threads, seed=seed, transient_ms=0.0
    )
    steps, neurons = read_spikes(run.spikes_path)
    np.save(out / "spikes_steps.npy", np.asarray(steps, dtype=np.int64))
    np.save(out / "spikes_neurons.npy", np.asarray(neurons, dtype=np.int64))
    return {"build_s": run.build_s, "sim_s": run.sim_s, "build_cpu_s": run.build_cpu_s,
            "sim_cpu_s": run.sim_cpu_s,
            "synapses": run.net.synapses.n, "threading_layer": numba.threading_layer()}  # fmt: skip


# peak memory per synapse (GiB per million synapses; NEST: 14.1 GiB at full scale, reported in
# issue 20; spikeflow: 1.26 GiB at scale 0.5) and of the interpreter and imports, plus a margin:
# a run that would not fit in the memory available now is not started
GIB_PER_MSYN = {"nest": 0.047, "spikeflow": 0.012}
GIB_BASE = {"nest": 0.6, "spikeflow": 0.6}
GIB_MARGIN = 1.0


def fits(lib: str, scale: float, thalamic: bool) -> tuple[bool, float, float]:
    """(whether ``lib`` at ``scale`` fits in the memory available now, estimate, available), GiB."""
    from spikeflow.memory import available_bytes
    from spikeflow.sim.microcircuit import derive

    need = GIB_BASE[lib] + GIB_PER_MSYN[lib] * derive(scale, thalamic=thalamic).n_synapses / 1e6
    have = available_bytes() / 2**30
    return need + GIB_MARGIN < have, need, have


def run_child(lib: str, args: argparse.Namespace, scale: float, workdir: Path) -> dict:
    """Run one library at one scale in a child process; its figures and spikes' statistics."""
    from spikeflow.sim.microcircuit import derive
    from spikeflow.sim.microcircuit_params import POPULATIONS
    from spikeflow.sim.spike_stats import population_stats

    ok, need, have = fits(lib, scale, args.thalamic)
    if not ok:
        return {"lib": lib, "scale": scale, "error": f"needs ~{need:.1f} GiB, {have:.1f} available"}
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec_json(scale, args.thalamic)))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", NUMBA_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads))  # fmt: skip
    cmd = [sys.executable, __file__, "--child", lib, "--child-dir", str(workdir),
           "--scales", str(scale), "--duration", str(args.duration), "--threads",
           str(args.threads), "--seed", str(args.seed)]  # fmt: skip
    cmd += ["--thalamic"] if args.thalamic else []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        return {"lib": lib, "scale": scale, "error": f"exit {proc.returncode}"}
    res = json.loads(out.strip().splitlines()[-1])
    res.update(lib=lib, scale=scale, process_wall_s=wall, peak_rss_gib=res.pop("peak_rss_gib"))
    spec = derive(scale, thalamic=args.thalamic)
    steps = np.load(workdir / "spikes_steps.npy")
    neurons = np.load(workdir / "spikes_neurons.npy")
    t_stop = args.duration * 1000.0
    res["populations"] = population_stats(
        steps, neurons, spec.starts, POPULATIONS, spec.dt, args.transient, t_stop
    )
    res["sim_per_bio_s"] = res["sim_s"] / args.duration
    res["total_s"] = res["build_s"] + res["sim_s"]
    return res


def child_main(args: argparse.Namespace) -> None:
    import resource

    out = Path(args.child_dir)
    scale = float(args.scales)
    if args.child == "nest":
        spec = json.loads((out / "spec.json").read_text())
        res = child_nest(spec, args.duration * 1000.0, args.threads, args.seed, out)
    else:
        res = child_spikeflow(scale, args.thalamic, args.duration * 1000.0, args.threads,
                              args.seed, out)  # fmt: skip
    res["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(res))


def markdown(results: list[dict], meta: dict) -> str:
    from spikeflow.sim.microcircuit_params import POPULATIONS, value

    lines = [
        "# Potjans & Diesmann microcircuit: NEST vs spikeflow",
        "",
        f"{meta['machine']}. {meta['threads']} threads each, OMP_WAIT_POLICY=PASSIVE, "
        "statistics over [100 ms, end of the run). Each row: one run, in its own process, on a machine "
        "shared with other jobs (1-minute load average before and after the run). Commands:",
        "",
        *sorted({f"    {r.get('command', meta['command'])}" for r in results}),
        "",
        "| scale | library | seed | synapses | bio s | build s | sim s / bio s | total s "
        "| CPU s (build + sim) | peak GiB | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['scale']:g} | {r['lib']} | | {r['error']} | | | | | | | |")
            continue
        load = "-".join(f"{x:.0f}" for x in r.get("load", []))
        cpu = f"{r['build_cpu_s']:.1f} + {r['sim_cpu_s']:.1f}" if "sim_cpu_s" in r else "-"
        lines.append(
            f"| {r['scale']:g} | {r['lib']} | {r.get('seed', meta['seed'])} | {r['synapses']:,} | "
            f"{r.get('duration_s', 1.0):g} | {r['build_s']:.1f} | "
            f"{r['sim_per_bio_s']:.1f} | {r['build_s'] + r['sim_s']:.1f} | "
            f"{cpu} | "
            f"{r['peak_rss_gib']:.2f} | {load} |"
        )
    lines += ["", "Per population: rate Hz / ISI CV / synchrony (reference: full-scale rates "
              "of the PyNEST example).", "",
              "| scale | library | seed | " + " | ".join(POPULATIONS) + " |",
              "|---|---|---|" + "---|" * len(POPULATIONS)]  # fmt: skip
    ref = value("full_mean_rates")
    lines.append("| 1 | reference | | " + " | ".join(f"{r:.3f}" for r in ref) + " |")
    for r in results:
        if "error" in r:
            continue
        cells = [
            f"{p['rate_hz']:.3f} / {p['cv_isi']:.2f} / {p['synchrony']:.2f}"
            for p in (r["populations"][n] for n in POPULATIONS)
        ]
        seed = r.get("seed", meta["seed"])
        lines.append(f"| {r['scale']:g} | {r['lib']} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="0.1,0.25", help="comma-separated, e.g. 0.1,0.25,0.5,1")
    parser.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--transient", type=float, default=100.0, help="ms left out of statistics")
    parser.add_argument("--libs", default="nest,spikeflow")
    parser.add_argument("--thalamic", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "microcircuit"))
    parser.add_argument("--child", choices=LIBS, help=argparse.SUPPRESS)
    parser.add_argument("--child-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import machine

    from spikeflow.atomic import write_json, write_text

    libs = [lib for lib in args.libs.split(",") if lib]
    scales = [float(s) for s in args.scales.split(",")]
    meta = {"machine": machine(), "load_before": os.getloadavg(), "threads": args.threads,
            "duration_s": args.duration, "transient_ms": args.transient, "seed": args.seed,
            "command": " ".join(["python", *sys.argv])}  # fmt: skip
    if "spikeflow" in libs:  # fill the numba cache: compilation is not what is compared
        with tempfile.TemporaryDirectory() as tmp:
            warm = argparse.Namespace(**{**vars(args), "duration": 0.02, "transient": 0.0})
            run_child("spikeflow", warm, 0.01, Path(tmp))
    out_json = Path(args.out).with_suffix(".json")
    results = json.loads(out_json.read_text())["results"] if out_json.exists() else []
    for k, scale in enumerate(scales):
        order = libs if k % 2 == 0 else libs[::-1]
        for lib in order:
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory() as tmp:
                res = run_child(lib, args, scale, Path(tmp))
            res.update(load=[load, os.getloadavg()[0]], command=meta["command"], seed=args.seed,
                       duration_s=args.duration)  # fmt: skip
            print(json.dumps({key: res[key] for key in res if key != "populations"}), flush=True)
            key = (lib, scale, args.seed)
            results = [r for r in results if (r["lib"], r["scale"], r.get("seed", 1)) != key]
            results.append(res)
    results.sort(key=lambda r: (r["scale"], r.get("seed", 1), r["lib"]))
    meta["load_after"] = os.getloadavg()
    write_json(out_json, {"meta": meta, "results": results})
    write_text(Path(args.out).with_suffix(".md"), markdown(results, meta))
    print(f"wrote {out_json} and {Path(args.out).with_suffix('.md')}")


if __name__ == "__main__":
    main()
