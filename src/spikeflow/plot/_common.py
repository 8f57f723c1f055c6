"""Shared plotting helpers: array conversion, the house style, figure creation and saving.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``: no
window is opened, no global backend is switched, and nothing is kept alive after a function
returns. Saving uses matplotlib's Agg renderer.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from spikeflow.atomic import write_atomic
from spikeflow.errors import UserError

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

P = ParamSpec("P")
R = TypeVar("R")

#: Colours used across every figure, chosen to stay distinct in print and for colour-blind readers.
PALETTE = {
    "membrane": "#1f4e8c",
    "current": "#c8702a",
    "threshold": "#b8322a",
    "spike": "#1a1a1a",
    "refractory": "#8c9bab",
    "train": "#1f4e8c",
    "test": "#c8702a",
    "on": "#1f4e8c",
    "off": "#b8322a",
    "grid": "#e4e7eb",
}

STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "mathtext.fontset": "dejavusans",
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8,
    "axes.labelsize": 10,
    "axes.labelcolor": "#222222",
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": False,
    "grid.color": PALETTE["grid"],
    "grid.linewidth": 0.8,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.major.size": 3.5,
    "ytick.major.size": 3.5,
    "lines.linewidth": 1.6,
    "lines.solid_capstyle": "round",
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}

SAVE_FORMATS = ("png", "svg", "pdf")


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a figure-building function under the house style."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with matplotlib.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches with constrained layout, outside pyplot."""
    return Figure(figsize=(width, height), layout="constrained")


def to_numpy(x: Any, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Convert a tensor or array-like to a float64 numpy array with ``ndim`` dimensions.

    Torch tensors are detached and moved to the CPU. Raises :class:`UserError` on a wrong
    number of dimensions, an empty array or non-numeric data.
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().to(torch.float64).numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise UserError(
            f"{name} must be numeric (a tensor or array); got {type(x).__name__}"
        ) from err
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        want = " or ".join(str(n) for n in allowed)
        raise UserError(f"{name} has shape {arr.shape}; expected {want} dims")
    if arr.size == 0:
        raise UserError(f"{name} is empty (shape {arr.shape}); expected at least one value")
    return arr


def check_same_length(**arrays: np.ndarray) -> int:
    """Require every array to have the same length along axis 0; return it."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise UserError(f"time axes differ in length ({detail}); expected equal lengths")
    return next(iter(lengths.values()))


def time_axis(steps: int, dt: float, time_unit: str) -> tuple[np.ndarray, str]:
    """Times of ``steps`` samples spaced by ``dt`` and the matching axis label."""
    if not (isinstance(dt, int | float) and dt > 0):
        raise UserError(f"dt={dt!r} is not valid; expected a positive number")
    label = "time step" if time_unit == "step" else f"time ({time_unit})"
    return np.arange(steps) * float(dt), label


def save(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 160) -> Path:
    """Write ``fig`` to a PNG, SVG or PDF file (by suffix), atomically.

    Arguments:
        fig: the figure.
        path: the file; parent directories are created. It appears complete or not at all.
        dpi: resolution of raster formats, in dots per inch.

    Returns:
        ``path``.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in SAVE_FORMATS:
        valid = ", ".join(f".{f}" for f in SAVE_FORMATS)
        raise UserError(f"path={str(path)!r} has an unsupported suffix; expected one of {valid}")
    return write_atomic(path, lambda handle: fig.savefig(handle, format=fmt, dpi=dpi))
