"""Figures of the simulator's learning experiments: receptive fields as a grid of images."""

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
