"""Statistics and figures of simulated spike trains: rates, ISI CV, raster plots (drawn by
:mod:`spikeflow.plot` on matplotlib figures, no pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from spikeflow import plot
from spikeflow.atomic import write_json
from spikeflow.plot.sim import weight_grid
from spikeflow.sim.monitors import SpikeMonitor

if TYPE_CHECKING:
    from spikeflow.sim.models import BenchmarkRun


def mean_rate(mon: SpikeMonitor, duration_ms: float, batch: int = 1) -> float:
    """Mean firing rate (Hz) over all neurons and batch copies of a spike monitor."""
    return float(mon.i.size / (mon.group.n * batch * duration_ms * 1e-3))


def isi_cv(mon: SpikeMonitor, b: int = 0, min_spikes: int = 3) -> float:
    """Mean coefficient of variation of inter-spike intervals over neurons of copy ``b`` that
    fired at least ``min_spikes`` times (NaN when none did)."""
    keep = mon.b == b
    idx, steps = mon.i[keep], mon.steps[keep]
    order = np.lexsort((steps, idx))
    idx, steps = idx[order], steps[order]
    same = idx[1:] == idx[:-1]
    isi = np.diff(steps).astype(np.float64)[same]
    owner = idx[1:][same]
    counts = np.bincount(owner, minlength=mon.group.n).astype(np.float64)
    ok = counts >= min_spikes - 1
    if not np.any(ok):
        return float("nan")
    total = np.bincount(owner, weights=isi, minlength=mon.group.n)
    sq = np.bincount(owner, weights=isi * isi, minlength=mon.group.n)
    mean = total[ok] / counts[ok]
    var = sq[ok] / counts[ok] - mean**2
    return float(np.mean(np.sqrt(np.clip(var, 0.0, None)) / mean))


def dense_spikes(
    monitors: list[SpikeMonitor], n_steps: int, *, b: int = 0, max_neurons: int = 500
) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """The spikes of copy ``b`` in the first ``n_steps`` steps of the first ``max_neurons``
    neurons of each monitored group, as one ``[n_steps, neurons]`` bool array, with the
    ``(name, size)`` of each group's block (for :func:`spikeflow.plot.raster`)."""
    groups = [(m.group.name, min(m.group.n, max_neurons)) for m in monitors]
    out = np.zeros((n_steps, sum(n for _, n in groups)), dtype=bool)
    offset = 0
    for mon, (_, shown) in zip(monitors, groups, strict=True):
        keep = (mon.b == b) & (mon.i < shown) & (mon.steps < n_steps)
        out[mon.steps[keep], mon.i[keep] + offset] = True
        offset += shown
    return out, groups


def raster_png(
    monitors: list[SpikeMonitor],
    path: str | Path,
    *,
    t_max_ms: float,
    b: int = 0,
    max_neurons: int = 500,
    title: str = "",
) -> Path:
    """Draw a raster of the first ``max_neurons`` of each monitored group (copy ``b``) up to
    ``t_max_ms`` ms, with the population rate, into ``path`` (atomically; PNG, SVG or PDF)."""
    dt = monitors[0].dt
    steps = max(1, round(t_max_ms / dt))
    spikes, groups = dense_spikes(monitors, steps, b=b, max_neurons=max_neurons)
    fig = plot.raster(spikes, dt=dt, time_unit="ms", groups=groups, title=title)
    return plot.save(fig, path)


def weights_png(w: np.ndarray, side: int, path: str | Path, *, title: str = "") -> Path:
    """Draw each row of ``w`` ``[neurons, side * side]`` as a ``side x side`` image in a grid,
    into ``path`` (atomically)."""
    return plot.save(weight_grid(w, side, title=title), path)


def write_simulation(run: BenchmarkRun, out: str | Path) -> tuple[Path, Path]:
    """Write ``result.json`` (the run's summary) and ``raster.png`` (first second, copy 0) into
    the folder ``out``, atomically; returns both paths."""
    out = Path(out)
    mons = [run.bench.spikes_exc, run.bench.spikes_inh]
    title = f"{run.model.upper()}, {run.neurons} neurons (first 1 s, copy 0)"
    png = raster_png(mons, out / "raster.png", t_max_ms=min(run.duration_ms, 1000.0), title=title)
    return write_json(out / "result.json", run.summary()), png
