"""Statistics and figures of simulated spike trains: rates, ISI CV, raster plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikeflow.sim.monitors import SpikeMonitor


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


def raster_png(
    monitors: list[SpikeMonitor],
    path: str | Path,
    *,
    t_max_ms: float | None = None,
    b: int = 0,
    max_neurons: int = 500,
    title: str = "",
) -> Path:
    """Draw a raster of the first ``max_neurons`` of each monitored group (copy ``b``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    offset = 0
    for mon, color in zip(
        monitors, ("tab:blue", "tab:red", "tab:green", "tab:orange"), strict=False
    ):
        keep = (mon.b == b) & (mon.i < max_neurons)
        if t_max_ms is not None:
            keep &= mon.t <= t_max_ms
        shown = min(mon.group.n, max_neurons)
        ax.scatter(
            mon.t[keep], mon.i[keep] + offset, s=0.6, c=color, marker="|", label=mon.group.name
        )
        offset += shown
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, offset - 0.5)
    ax.set_title(title)
    ax.legend(loc="upper right", markerscale=8, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def weights_png(w: np.ndarray, side: int, path: str | Path, *, title: str = "") -> Path:
    """Draw each row of ``w`` ``[neurons, side * side]`` as a ``side x side`` image in a grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = w.shape[0]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (side + 1), cols * (side + 1)), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        grid[r * (side + 1) : r * (side + 1) + side, c * (side + 1) : c * (side + 1) + side] = w[
            k
        ].reshape(side, side)
    fig, ax = plt.subplots(figsize=(7, 7 * rows / cols + 0.4))
    im = ax.imshow(grid, cmap="hot_r", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
