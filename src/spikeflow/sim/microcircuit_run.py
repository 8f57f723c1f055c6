"""Build, run and report the cortical microcircuit: what ``spikeflow simulate microcircuit`` does.

A run writes, into its folder (each file atomically): ``spikes.npy`` (every spike as a (step,
neuron) int32 record, streamed to disk during the run), ``result.json`` (the model's size, wall
times, peak memory and per-population rates, ISI CVs and synchrony, see
:mod:`spikeflow.sim.spike_stats`) and ``microcircuit.png`` (raster and per-population bars).
"""

from __future__ import annotations

import contextlib
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from spikeflow import plot
from spikeflow.atomic import write_atomic, write_json
from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.plot.sim import population_activity
from spikeflow.sim.microcircuit import Microcircuit, build, derive
from spikeflow.sim.microcircuit_engine import MicrocircuitState, run_to_file, write_npy_from_raw
from spikeflow.sim.microcircuit_params import POPULATIONS, value
from spikeflow.sim.spike_stats import population_stats

GIB = 2**30


@contextlib.contextmanager
def numba_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` numba threads (``None``: as configured), restoring the
    previous number afterwards; yields the number in use."""
    before = numba.get_num_threads()
    if threads is None:
        yield before
        return
    check_positive_int("threads", threads)
    most = int(getattr(numba.config, "NUMBA_NUM_THREADS"))  # noqa: B009 (set at import by numba)
    if threads > most:
        raise UserError(
            f"threads={threads} is more than numba allows in this process ({most}); expected at "
            "most that, or set NUMBA_NUM_THREADS before starting"
        )
    numba.set_num_threads(threads)
    try:
        yield threads
    finally:
        numba.set_num_threads(before)


def peak_rss_gib() -> float:
    """This process's peak resident memory so far (GiB; ``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


@dataclass(frozen=True)
class MicrocircuitRun:
    """A finished run: its network, where its spikes are and its figures.

    Arguments:
        net: the network. spikes_path: the ``.npy`` of spike records. n_steps: steps run.
        n_spikes: spikes recorded. stats: per population rate, CV and synchrony.
        t_start, t_stop: the statistics' window (ms). threads: numba threads used.
        build_s, sim_s: wall times of drawing the network and of the run (s).
        build_cpu_s, sim_cpu_s: CPU times of both (s, all threads of the process).
    """

    net: Microcircuit
    spikes_path: Path
    n_steps: int
    n_spikes: int
    stats: dict[str, dict[str, float]]
    t_start: float
    t_stop: float
    threads: int
    build_s: float
    sim_s: float
    build_cpu_s: float
    sim_cpu_s: float

    def summary(self) -> dict:
        """The figures as a JSON-ready dict."""
        s = self.net.spec
        bio_s = self.n_steps * s.dt * 1e-3
        return {
            "model": "microcircuit", "scale": s.scale, "k_scale": s.k_scale,
            "thalamic": s.thalamic, "dt_ms": s.dt, "seed": self.net.seed,
            "neurons": s.n_neurons, "synapses": self.net.synapses.n,
            "bytes_per_synapse": self.net.synapses.bytes_per_synapse,
            "duration_ms": self.n_steps * s.dt, "window_ms": [self.t_start, self.t_stop],
            "threads": self.threads, "spikes": self.n_spikes,
            "wall_s": {"build": self.build_s, "sim": self.sim_s,
                       "sim_per_bio_s": self.sim_s / bio_s, "total": self.build_s + self.sim_s},
            "cpu_s": {"build": self.build_cpu_s, "sim": self.sim_cpu_s},
            "peak_rss_gib": peak_rss_gib(),
            "populations": self.stats,
            "reference_rates_hz": dict(zip(POPULATIONS, value("full_mean_rates").tolist(),
                                           strict=True)),
        }  # fmt: skip


def read_spikes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The (steps, neurons) int arrays ``[S]`` of a ``spikes.npy`` (memory-mapped)."""
    rec = np.load(path, mmap_mode="r")
    return rec["step"], rec["neuron"]


def simulate_microcircuit(
    scale: float,
    duration_ms: float,
    out: str | Path,
    *,
    k_scale: float | None = None,
    thalamic: bool = False,
    threads: int | None = None,
    seed: int = 0,
    transient_ms: float = 100.0,
) -> MicrocircuitRun:
    """Build the microcircuit, run it for ``duration_ms`` and write its spikes into ``out``.

    Arguments:
        scale, k_scale, thalamic: see :func:`spikeflow.sim.microcircuit.derive`.
        duration_ms: biological time (ms, a whole number of 0.1 ms steps). out: the folder.
        threads: numba threads (default: numba's setting, all cores). seed: every draw.
        transient_ms: the start of the statistics' window (ms), before ``duration_ms``.

    Returns:
        The :class:`MicrocircuitRun` (statistics over ``[transient_ms, duration_ms)``).
    """
    spec = derive(scale, k_scale=k_scale, thalamic=thalamic)
    duration_ms = check_range("duration", duration_ms, 0.0, low_open=True)
    n_steps = round(duration_ms / spec.dt)
    if n_steps < 1 or abs(n_steps * spec.dt - duration_ms) > 1e-9 * max(1.0, duration_ms):
        raise UserError(
            f"duration={duration_ms:g} ms is not a whole number of steps of {spec.dt:g} ms"
        )
    check_range("transient", transient_ms, 0.0, duration_ms, high_open=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with numba_threads(threads) as used:
        t0, c0 = time.perf_counter(), time.process_time()
        net = build(spec, seed)
        t1, c1 = time.perf_counter(), time.process_time()
        state = MicrocircuitState(net)
        fd, raw = tempfile.mkstemp(prefix=".spikes.", suffix=".raw", dir=out)
        try:
            with os.fdopen(fd, "wb") as handle:
                n_spikes = run_to_file(net, state, n_steps, seed, handle)
            t2, c2 = time.perf_counter(), time.process_time()
            path = write_atomic(
                out / "spikes.npy", lambda h: write_npy_from_raw(Path(raw), h, n_spikes)
            )
        finally:
            Path(raw).unlink(missing_ok=True)
    steps, neurons = read_spikes(path)
    stats = population_stats(
        np.asarray(steps), np.asarray(neurons), spec.starts, POPULATIONS, spec.dt,
        transient_ms, n_steps * spec.dt,
    )  # fmt: skip
    return MicrocircuitRun(
        net, path, n_steps, n_spikes, stats, transient_ms, n_steps * spec.dt, used, t1 - t0,
        t2 - t1, c1 - c0, c2 - c1,
    )  # fmt: skip


def write_report(run: MicrocircuitRun, out: str | Path) -> tuple[Path, Path]:
    """Write ``result.json`` and ``microcircuit.png`` (at most the last 400 ms of the window)
    into ``out``, atomically; returns both paths."""
    out = Path(out)
    steps, neurons = read_spikes(run.spikes_path)
    s = run.net.spec
    start = max(run.t_start, run.t_stop - 400.0)
    fig = population_activity(
        np.asarray(steps), np.asarray(neurons), s.starts, POPULATIONS, run.stats, dt=s.dt,
        t_start=start, t_stop=run.t_stop,
        title=f"microcircuit, scale {s.scale:g} ({s.n_neurons} neurons)",
    )  # fmt: skip
    png = plot.save(fig, out / "microcircuit.png")
    return write_json(out / "result.json", run.summary()), png
