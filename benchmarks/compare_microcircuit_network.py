"""One drawn microcircuit run in spikeflow and in NEST 3.10: the engines compared on the same network.

spikeflow draws the network (:func:`spikeflow.sim.microcircuit.build`); NEST gets exactly those
synapses (sources, targets, float32 weights as float64, delays in whole steps) through
``connect_arrays`` and exactly the same initial membrane potentials, so what differs between the
two runs is the engine alone (and, with ``--background poisson``, the draws of the Poisson
background). Two modes:

- ``--background dc``: the Poisson background is replaced by its mean current added to the DC
  (``1e-3 tau_syn w_ext K_ext bg_rate`` pA), so both runs are deterministic. Two engines that
  integrate ``iaf_psc_exp`` the same way, with the same delays and refractory handling, give the
  same spikes until a potential lands within rounding of the threshold (sums are taken in another
  order); the script prints the first step where the spike trains differ and how many spikes
  matched before it.
- ``--background poisson`` (the model itself): per-population rates, ISI CVs and synchrony of
  both runs, in blocks of ``--block`` ms, with the mean and standard error over the blocks, so
  that a difference can be told from noise on one network.

Usage (benchmark environment)::

    .venv-bench/bin/python benchmarks/compare_microcircuit_network.py --scale 0.1 --duration 0.3 \\
        --background dc
    .venv-bench/bin/python benchmarks/compare_microcircuit_network.py --scale 0.1 --duration 5 \\
        --background poisson
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import time

import numpy as np


def network(scale: float, seed: int, background: str, dc_factor: float = 1.0):
    """The drawn network; with ``background="dc"`` its Poisson background turned into DC
    (its mean current times ``dc_factor``)."""
    from spikeflow.sim.microcircuit import Microcircuit, build, derive

    spec = derive(scale)
    net = build(spec, seed)
    if background == "dc":
        mean_bg = dc_factor * 1e-3 * spec.tau_syn * spec.w_ext * spec.k_ext * spec.bg_rate
        spec = dataclasses.replace(spec, bg_rate=0.0, dc=spec.dc + mean_bg)
        net = Microcircuit(spec, net.synapses, net.v0, seed)
    return net


def run_spikeflow(net, n_steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(steps, neurons, wall s) of a spikeflow run of ``n_steps``."""
    from spikeflow.sim.microcircuit_engine import SPIKE_DTYPE, MicrocircuitState, run_to_file

    state = MicrocircuitState(net)
    buf = io.BytesIO()
    t0 = time.perf_counter()
    run_to_file(net, state, n_steps, seed, buf)
    wall = time.perf_counter() - t0
    rec = np.frombuffer(buf.getvalue(), dtype=SPIKE_DTYPE)
    return rec["step"].astype(np.int64), rec["neuron"].astype(np.int64), wall


def run_nest(net, n_steps: int, seed: int, threads: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(steps, neurons, wall s) of a NEST run of ``n_steps`` on the synapses of ``net``."""
    import nest

    spec, syn = net.spec, net.synapses
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus(
        {"local_num_threads": threads, "resolution": spec.dt, "rng_seed": seed + 1,
         "print_time": False}
    )  # fmt: skip
    n = spec.n_neurons
    pop = nest.Create("iaf_psc_exp", n)
    pop.set(
        tau_syn_ex=spec.tau_syn, tau_syn_in=spec.tau_syn, E_L=spec.e_l, V_th=spec.v_th,
        V_reset=spec.v_reset, C_m=spec.c_m, tau_m=spec.tau_m, t_ref=spec.t_ref,
    )  # fmt: skip
    group = np.repeat(np.arange(spec.n.size), spec.n)
    pop.set(I_e=spec.dc[group].tolist(), V_m=net.v0.tolist())
    first = pop[0].global_id
    row = syn.part_ptr[:, -1] - syn.part_ptr[:, 0]
    src = np.repeat(np.arange(row.size, dtype=np.int64), row)
    keep = src < n  # no thalamic sources in these runs
    nest.Connect(
        src[keep] + first, syn.post[keep].astype(np.int64) + first, "one_to_one",
        {"weight": syn.weight[keep].astype(np.float64),
         "delay": syn.delay[keep].astype(np.float64) * spec.dt},
    )  # fmt: skip
    if spec.bg_rate > 0:
        bg = nest.Create("poisson_generator", spec.n.size)
        bg.rate = (spec.bg_rate * spec.k_ext).tolist()
        starts = spec.starts
        for i in range(spec.n.size):
            nest.Connect(bg[i], pop[int(starts[i]) : int(starts[i + 1])], "all_to_all",
                         {"weight": spec.w_ext, "delay": 1.5})  # fmt: skip
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    t0 = time.perf_counter()
    nest.Simulate(n_steps * spec.dt)
    wall = time.perf_counter() - t0
    ev = rec.get("events")
    step = np.rint(np.asarray(ev["times"]) / spec.dt).astype(np.int64) - 1  # stamped at step end
    neuron = np.asarray(ev["senders"], dtype=np.int64) - first
    order = np.lexsort((neuron, step))
    return step[order], neuron[order], wall


def first_difference(a: tuple, b: tuple) -> tuple[int, int]:
    """(first step where the spike sets differ or -1, spikes identical before it)."""
    sa, na = a
    sb, nb = b
    steps = np.union1d(np.unique(sa), np.unique(sb))
    ia, ib = np.searchsorted(sa, steps), np.searchsorted(sb, steps)
    ja, jb = np.searchsorted(sa, steps, "right"), np.searchsorted(sb, steps, "right")
    for k, t in enumerate(steps):
        if not np.array_equal(na[ia[k] : ja[k]], nb[ib[k] : jb[k]]):
            return int(t), int(ia[k])
    return -1, int(sa.size)


def blocks(steps, neurons, spec, transient: float, duration: float, block: float) -> dict:
    """Per population: mean and standard error of rate, CV and synchrony over blocks."""
    from spikeflow.sim.microcircuit_params import POPULATIONS
    from spikeflow.sim.spike_stats import population_stats

    edges = np.arange(transient, duration - block + 1e-9, block)
    per = [population_stats(steps, neurons, spec.starts, POPULATIONS, spec.dt, a, a + block)
           for a in edges]  # fmt: skip
    out = {}
    for p in POPULATIONS:
        out[p] = {}
        for k in ("rate_hz", "cv_isi", "synchrony"):
            x = np.array([b[p][k] for b in per])
            out[p][k] = [float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(x.size))]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--duration", type=float, default=0.3, help="biological seconds")
    parser.add_argument("--background", choices=("dc", "poisson"), default="dc")
    parser.add_argument(
        "--dc-factor",
        type=float,
        default=1.0,
        help="dc mode: the background's mean current times this",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--transient", type=float, default=100.0, help="ms (poisson mode)")
    parser.add_argument("--block", type=float, default=1000.0, help="ms (poisson mode)")
    parser.add_argument("--out", help="JSON file for the figures")
    args = parser.parse_args()
    import numba

    numba.set_num_threads(args.threads)
    net = network(args.scale, args.seed, args.background, args.dc_factor)
    n_steps = round(args.duration * 1000.0 / net.spec.dt)
    load = [os.getloadavg()[0]]
    sf = run_spikeflow(net, n_steps, args.seed)
    ne = run_nest(net, n_steps, args.seed, args.threads)
    load.append(os.getloadavg()[0])
    res = {"scale": args.scale, "seed": args.seed, "background": args.background,
           "dc_factor": args.dc_factor,
           "duration_s": args.duration, "threads": args.threads, "load": load,
           "spikes": {"spikeflow": int(sf[0].size), "nest": int(ne[0].size)},
           "wall_s": {"spikeflow": sf[2], "nest": ne[2]}}  # fmt: skip
    if args.background == "dc":
        t, same = first_difference(sf[:2], ne[:2])
        res["first_difference_step"], res["identical_spikes_before"] = t, same
    else:
        for name, r in (("spikeflow", sf), ("nest", ne)):
            res[name] = blocks(r[0], r[1], net.spec, args.transient, args.duration * 1e3,
                               args.block)  # fmt: skip
    print(json.dumps(res, indent=1))
    if args.out:
        from spikeflow.atomic import write_json

        write_json(args.out, res)


if __name__ == "__main__":
    main()
