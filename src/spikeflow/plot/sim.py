"""Figures of the simulator: receptive fields as a grid of images (learning experiments), and a
population raster with per-population rates and irregularity (the cortical microcircuit)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from spikeflow.errors import UserError, check_positive_int
from spikeflow.plot._common import new_figure, styled, to_numpy


@styled
def weight_grid(weights: Any, side: int, *, title: str = "Input weights") -> Figure:
    """Each neuron's input weights drawn as a ``side x side`` image, in a near-square grid.

    Arguments:
        weights: ``[neurons, side * side]``, one row of input weights per neuron.
        side: image side in pixels (``side * side`` inputs).
        title: heading of the figure.

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure`.
    """
    w = to_numpy(weights, "weights", 2)
    check_positive_int("side", side)
    if w.shape[1] != side * side:
        raise UserError(
            f"weights has {w.shape[1]} inputs per neuron; expected side * side = {side * side}"
        )
    n = w.shape[0]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    cell = side + 1  # one pixel of gap between images
    grid = np.full((rows * cell, cols * cell), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        grid[r * cell : r * cell + side, c * cell : c * cell + side] = w[k].reshape(side, side)
    fig = new_figure(7.0, 7.0 * rows / cols + 0.6)
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="hot_r", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    return fig


@styled
def population_activity(
    steps: np.ndarray,
    neurons: np.ndarray,
    starts: np.ndarray,
    names: tuple[str, ...],
    stats: dict[str, dict[str, float]],
    *,
    dt: float,
    t_start: float,
    t_stop: float,
    per_population: int = 100,
    title: str = "",
) -> Figure:
    """Raster of up to ``per_population`` neurons of each population over ``[t_start, t_stop)``
    (first population on top, as in Potjans & Diesmann 2014, Fig. 6), beside bars of each
    population's rate and ISI CV.

    Arguments:
        steps, neurons: every spike ``[S]`` (step, global neuron index).
        starts: first index of each population and the total ``[P + 1]``. names: ``[P]``.
        stats: per population ``{"rate_hz", "cv_isi", ...}`` (from
            :func:`spikeflow.sim.spike_stats.population_stats`).
        dt: step (ms). t_start, t_stop: the raster's window (ms).
        per_population: neurons shown per population. title: heading of the figure.

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure`.
    """
    check_positive_int("per_population", per_population)
    fig = new_figure(10.0, 5.5)
    grid = fig.add_gridspec(1, 3, width_ratios=[3.0, 1.0, 1.0])
    ax = fig.add_subplot(grid[0])
    colours = ["#1f4e8c", "#b8322a"]
    t = steps * dt
    keep = (t >= t_start) & (t < t_stop)
    row, ticks = 0, []
    for p in range(len(names)):
        a = int(starts[p])
        shown = min(per_population, int(starts[p + 1]) - a)
        mine = keep & (neurons >= a) & (neurons < a + shown)
        y = -(row + neurons[mine] - a)
        ax.scatter(t[mine], y, s=1.5, c=colours[p % 2], marker="o", linewidths=0)
        ticks.append(-(row + shown / 2))
        row += shown
    ax.set_yticks(ticks, list(names))
    ax.set_xlim(t_start, t_stop)
    ax.set_xlabel("time (ms)")
    ax.set_title(title or "spikes")
    pos = -np.arange(len(names))
    for k, (key, label) in enumerate((("rate_hz", "rate (Hz)"), ("cv_isi", "ISI CV"))):
        bx = fig.add_subplot(grid[k + 1])
        vals = np.array([stats[n][key] for n in names], dtype=np.float64)
        bx.barh(pos, np.nan_to_num(vals), color=[colours[p % 2] for p in range(len(names))])
        bx.set_yticks(pos, list(names))
        bx.set_xlabel(label)
    return fig
