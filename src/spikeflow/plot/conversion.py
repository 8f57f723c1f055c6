"""Figures of an ANN-to-SNN conversion: SNN accuracy against the number of time steps."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from spikeflow.errors import UserError, check_range
from spikeflow.plot._common import PALETTE, new_figure, styled


@styled
def accuracy_vs_steps(
    accuracy: Mapping[int, float], ann_accuracy: float, *, title: str = ""
) -> Figure:
    """SNN test accuracy versus time steps (log axis) against the ANN's accuracy line.

    Arguments:
        accuracy: ``{T: SNN accuracy}``, accuracies as fractions in [0, 1], ``T`` in steps.
        ann_accuracy: the ANN's accuracy, a fraction in [0, 1].
        title: the figure's title.

    Returns:
        The figure (save it with :func:`spikeflow.plot.save`).
    """
    if not accuracy:
        raise UserError("accuracy is empty; expected {num_steps: accuracy} for at least one T")
    check_range("ann_accuracy", ann_accuracy, 0, 1)
    steps = sorted(accuracy)
    fig = new_figure(5, 3.5)
    ax = fig.add_subplot()
    ax.plot(steps, [100 * accuracy[t] for t in steps], "o-", color=PALETTE["membrane"], label="SNN")
    ax.axhline(
        100 * ann_accuracy,
        color=PALETTE["spike"],
        ls="--",
        label=f"ANN {100 * ann_accuracy:.2f}%",
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(steps, [str(t) for t in steps])
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return fig
