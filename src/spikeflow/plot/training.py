"""Figures of a training run: learning curves and a confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spikeflow.errors import UserError
from spikeflow.plot._common import PALETTE, new_figure, styled, to_numpy

_SPLIT_COLOURS = {"train": PALETTE["train"], "test": PALETTE["test"], "val": PALETTE["test"]}
_SPLIT_STYLES = {"train": "-", "test": "-", "val": (0, (4, 2))}

_CM_COLOURS = LinearSegmentedColormap.from_list("spikeflow_blues", ["#ffffff", "#1f4e8c"])


def _series(metrics: Any) -> dict[str, list[float]]:
    """Normalise ``metrics`` to ``{name: [value per epoch]}`` (see :func:`training_curves`)."""
    if isinstance(metrics, Mapping) and "epochs" in metrics:
        metrics = metrics["epochs"]
    series: dict[str, list[float]] = {}
    if isinstance(metrics, Mapping):
        for key, values in metrics.items():
            is_list = isinstance(values, Sequence) and not isinstance(values, str)
            if is_list and all(_is_number(v) for v in values):
                series[str(key)] = [float(v) for v in values]
    elif isinstance(metrics, Sequence) and not isinstance(metrics, str):
        for i, row in enumerate(metrics):
            if not isinstance(row, Mapping):
                raise UserError(
                    f"metrics[{i}] is a {type(row).__name__}; expected a dict per epoch"
                )
        keys = dict.fromkeys(k for row in metrics for k, v in row.items() if _is_number(v))
        series = {
            str(k): [float(row[k]) if _is_number(row.get(k)) else float("nan") for row in metrics]
            for k in keys
        }
    else:
        raise UserError(
            f"metrics is a {type(metrics).__name__}; expected a dict of per-epoch lists or a list "
            "of per-epoch dicts"
        )
    return series


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _split_of(key: str) -> str:
    for split in ("train", "test", "val"):
        if key.startswith(split) or key.endswith(split):
            return split
    return "train"


def _draw_curves(ax: Axes, curves: dict[str, list[float]], percent: bool) -> None:
    """One line per series; the best epoch (max accuracy, min loss) is circled and quoted."""
    for key, values in curves.items():
        y = np.asarray(values) * (100.0 if percent else 1.0)
        epochs = np.arange(1, len(y) + 1)
        split = _split_of(key)
        colour = _SPLIT_COLOURS[split]
        label = key.replace("_", " ")
        if np.isfinite(y).any():
            best = int(np.nanargmax(y) if percent else np.nanargmin(y))
            label += f"  (best {y[best]:.1f}%)" if percent else f"  (best {y[best]:.3g})"
            ax.plot(epochs[best], y[best], "o", ms=9, mfc="none", mec=colour, mew=1.2, zorder=4)
        ax.plot(
            epochs,
            y,
            color=colour,
            ls=_SPLIT_STYLES[split],
            lw=1.8,
            marker="o",
            ms=3.5,
            label=label,
        )
    ax.set_xlabel("epoch")
    ax.grid(True)
    ax.legend(loc="best")
    locator = ax.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator is one
        locator.set_params(integer=True)


@styled
def training_curves(metrics: Any, *, title: str = "Training") -> Figure:
    """Loss and accuracy per epoch, training against test (or validation) data.

    Arguments:
        metrics: either a dict of per-epoch lists, ``{"train_loss": [...], "test_accuracy":
            [...], ...}``, or a list with one dict per epoch, ``[{"train_loss": 0.9, ...}, ...]``,
            optionally under an ``"epochs"`` key. Every numeric series whose name contains
            ``"loss"`` goes to the left panel and every one containing ``"acc"`` to the right
            panel; names starting or ending with ``train``, ``test`` or ``val`` get that
            split's colour. Accuracies are fractions in ``[0, 1]`` and are shown in percent.
        title: heading of the figure.

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure`; the best value of each curve is
        labelled.
    """
    series = _series(metrics)
    losses = {k: v for k, v in series.items() if "loss" in k.lower()}
    accuracies = {k: v for k, v in series.items() if "acc" in k.lower()}
    if not losses and not accuracies:
        raise UserError(
            f"metrics has no series named like '*loss*' or '*acc*' (found {sorted(series)}); "
            "expected e.g. train_loss, test_accuracy"
        )
    panels = [(losses, False, "loss"), (accuracies, True, "accuracy (%)")]
    panels = [p for p in panels if p[0]]
    fig = new_figure(4.2 * len(panels) + 0.6, 3.6)
    for i, (curves, percent, label) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        _draw_curves(ax, curves, percent)
        ax.set_ylabel(label)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    return fig


@styled
def confusion_matrix(
    cm: Any, labels: Sequence[str] | None = None, *, title: str = "Confusion matrix"
) -> Figure:
    """Confusion matrix ``cm`` ``[K, K]`` (rows: true class, columns: predicted class).

    Cells are shaded by the fraction of each true class (row-normalised, so the diagonal reads
    as per-class recall) and annotated with the raw counts; the overall accuracy is in the title.
    """
    counts = to_numpy(cm, "cm", 2)
    k = counts.shape[0]
    if counts.shape != (k, k):
        raise UserError(f"cm has shape {counts.shape}; expected a square [K, K] matrix")
    if (counts < 0).any():
        raise UserError("cm has negative entries; expected counts >= 0")
    names = [str(i) for i in range(k)] if labels is None else [str(n) for n in labels]
    if len(names) != k:
        raise UserError(f"labels has {len(names)} entries; expected {k}, one per class")
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    side = float(np.clip(0.42 * k + 1.8, 3.6, 9.0))
    fig = new_figure(side + 0.9, side)
    ax = fig.add_subplot()
    image = ax.imshow(fractions, cmap=_CM_COLOURS, vmin=0.0, vmax=1.0)
    if k <= 25:
        integral = np.allclose(counts, np.round(counts))
        for i in range(k):
            for j in range(k):
                if counts[i, j] == 0 and i != j:
                    continue
                text = f"{round(counts[i, j])}" if integral else f"{counts[i, j]:.2g}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8 if k > 12 else 9,
                    color="white" if fractions[i, j] > 0.55 else "#222222",
                )
    ax.set_xticks(
        range(k),
        names,
        rotation=45 if max(map(len, names)) > 3 else 0,
        ha="right" if max(map(len, names)) > 3 else "center",
    )
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    total = counts.sum()
    accuracy = np.trace(counts) / total if total > 0 else float("nan")
    ax.set_title(f"{title}  (accuracy {100 * accuracy:.1f}%, n = {total:g})")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    colorbar.set_label("fraction of true class")
    colorbar.outline.set_visible(False)
    return fig
