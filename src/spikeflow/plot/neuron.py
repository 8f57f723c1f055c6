"""Single-neuron figures: the classic input / membrane / spikes figure and a membrane trace."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from spikeflow.errors import UserError, check_choice
from spikeflow.plot._common import (
    PALETTE,
    check_same_length,
    new_figure,
    styled,
    time_axis,
    to_numpy,
)

RESETS = ("subtract", "zero", "none")


def after_reset(
    v: np.ndarray, spikes: np.ndarray, threshold: np.ndarray, reset: str, v_reset: float
) -> np.ndarray:
    """Membrane right after the reset of each step, from the pre-reset membrane ``v`` ``[T]``.

    Follows the reset rules of :mod:`spikeflow.nn`: ``"subtract"`` removes the threshold,
    ``"zero"`` sets ``v_reset``, ``"none"`` leaves ``v`` unchanged.
    """
    check_choice("reset", reset, RESETS)
    fired = spikes > 0
    if reset == "subtract":
        return np.where(fired, v - threshold, v)
    if reset == "zero":
        return np.where(fired, v_reset, v)
    return v.copy()


def _threshold_array(threshold: Any, steps: int) -> np.ndarray:
    arr = to_numpy(threshold, "threshold", (0, 1))
    if arr.ndim == 1 and len(arr) != steps:
        raise UserError(
            f"threshold has {len(arr)} values; expected one number or one value per step ({steps})"
        )
    return np.broadcast_to(arr, (steps,)).astype(np.float64)


def _refractory_spans(
    spike_steps: np.ndarray, refractory: int, steps: int
) -> list[tuple[int, int]]:
    """Merged step intervals ``[i, i + refractory]`` during which the membrane is held."""
    spans: list[tuple[int, int]] = []
    for i in spike_steps:
        end = min(int(i) + refractory, steps - 1)
        if spans and i <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((int(i), end))
    return spans


def _draw_membrane(
    ax: Axes,
    t: np.ndarray,
    v: np.ndarray,
    spikes: np.ndarray,
    threshold: np.ndarray,
    v_post: np.ndarray,
    refractory: int,
    threshold_label: str = r"threshold $\vartheta$",
) -> list[Any]:
    """Membrane path, resets, threshold, spike strokes and refractory bands; legend handles."""
    steps = len(t)
    dt = t[1] - t[0] if steps > 1 else 1.0
    spike_steps = np.flatnonzero(spikes > 0)
    # path through the pre-reset value of each step, then straight down to its post-reset value
    drops = spike_steps[v_post[spike_steps] != v[spike_steps]]
    xs = np.insert(t, np.searchsorted(np.arange(steps), drops, side="right"), t[drops])
    ys = np.insert(v, np.searchsorted(np.arange(steps), drops, side="right"), v_post[drops])

    low = min(float(v_post.min()), float(v.min()), 0.0)
    high = max(float(v.max()), float(threshold.max()))
    span = high - low if high > low else 1.0
    peak = high + 0.32 * span

    handles: list[Any] = []
    if refractory > 0 and len(spike_steps):
        for start, end in _refractory_spans(spike_steps, refractory, steps):
            ax.axvspan(t[start], t[end], color=PALETTE["refractory"], alpha=0.18, lw=0, zorder=0)
        handles.append(
            Patch(
                color=PALETTE["refractory"],
                alpha=0.3,
                lw=0,
                label=f"refractory ({refractory} steps)",
            )
        )
    if len(spike_steps):
        ax.vlines(
            t[spike_steps],
            v[spike_steps],
            peak,
            color=PALETTE["spike"],
            lw=1.3,
            zorder=3,
            capstyle="round",
        )
        ax.plot(
            t[spike_steps],
            np.full(len(spike_steps), peak),
            "o",
            ms=3.2,
            color=PALETTE["spike"],
            zorder=4,
        )
        handles.append(
            Line2D([], [], color=PALETTE["spike"], lw=1.3, marker="o", ms=3.2, label="spike")
        )
    if np.all(threshold == threshold[0]):
        ax.axhline(threshold[0], color=PALETTE["threshold"], ls=(0, (5, 3)), lw=1.2, zorder=2)
    else:
        ax.plot(
            t,
            threshold,
            color=PALETTE["threshold"],
            ls=(0, (5, 3)),
            lw=1.2,
            drawstyle="steps-post",
            zorder=2,
        )
    handles.insert(
        0,
        Line2D(
            [],
            [],
            color=PALETTE["threshold"],
            ls=(0, (5, 3)),
            lw=1.2,
            label=threshold_label,
        ),
    )
    ax.plot(xs, ys, color=PALETTE["membrane"], lw=1.7, zorder=5)
    handles.insert(0, Line2D([], [], color=PALETTE["membrane"], lw=1.7, label="membrane $v$"))
    if low >= -0.25 * span:  # a baseline at 0 helps only when the potential rests near it
        ax.axhline(0.0, color="#999999", lw=0.6, zorder=1)
    ax.set_ylim(low - 0.08 * span, peak + 0.1 * span)
    ax.set_xlim(t[0], t[-1] + dt)
    ax.grid(axis="y")
    # label one reset: the first one followed by enough room for the text
    room = 0.12 * (t[-1] - t[0] + dt)
    gaps = np.diff(np.append(t[drops], t[-1] + dt))
    roomy = drops[gaps >= room]
    if len(roomy):
        first = roomy[0]
        mid = 0.5 * (v[first] + v_post[first])
        ax.annotate(
            "reset",
            xy=(t[first], mid),
            xytext=(t[first] + 0.3 * room, mid),
            color="#333333",
            fontsize=8.5,
            va="center",
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555555",
                "lw": 0.8,
                "shrinkA": 1,
                "shrinkB": 2,
            },
        )
    return handles


@styled
def neuron(
    current: Any,
    v: Any,
    spikes: Any,
    *,
    threshold: Any = 1.0,
    reset: str = "subtract",
    v_reset: float = 0.0,
    refractory: int = 0,
    dt: float = 1.0,
    time_unit: str = "step",
    title: str = "A spiking neuron",
    subtitle: str | None = None,
    current_label: str = "input $x$",
    threshold_label: str = r"threshold $\vartheta$",
) -> Figure:
    """The classic single-neuron figure: input current, membrane potential, output spikes.

    The membrane panel draws the potential rising under the input, the dashed threshold, each
    spike as a stroke above the threshold, the reset as a vertical drop from the pre-reset
    value to the value after the reset, and the refractory period after each spike as a shaded
    band. Feed it the output of ``trace(x)`` of a :mod:`spikeflow.nn` neuron.

    Arguments:
        current: input ``x`` of each step, ``[T]``.
        v: pre-reset membrane potential, ``[T]`` (``trace(x).v``).
        spikes: output spikes, ``[T]`` (``trace(x).spikes``).
        threshold: firing threshold, one number or one value per step ``[T]`` (adaptive).
        reset: ``"subtract"``, ``"zero"`` or ``"none"``, as the neuron was built.
        v_reset: value after a ``"zero"`` reset.
        refractory: refractory period in steps (0 for none).
        dt: time between steps, in ``time_unit``.
        time_unit: unit of the time axis (``"step"``, ``"ms"``, ...).
        title: heading of the figure.
        subtitle: an optional second line (parameters, say).
        current_label: y-axis label of the input panel.
        threshold_label: legend label of the threshold line.

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure`; write it with :func:`save`.
    """
    cur = to_numpy(current, "current", 1)
    mem = to_numpy(v, "v", 1)
    spk = to_numpy(spikes, "spikes", 1)
    steps = check_same_length(current=cur, v=mem, spikes=spk)
    if not (isinstance(refractory, int) and refractory >= 0):
        raise UserError(f"refractory={refractory!r} is not valid; expected a non-negative integer")
    thr = _threshold_array(threshold, steps)
    v_post = after_reset(mem, spk, thr, reset, v_reset)
    t, xlabel = time_axis(steps, dt, time_unit)

    fig = new_figure(7.6, 5.6)
    grid = fig.add_gridspec(3, 1, height_ratios=[1.0, 2.8, 0.55])
    ax_i = fig.add_subplot(grid[0])
    ax_v = fig.add_subplot(grid[1], sharex=ax_i)
    ax_s = fig.add_subplot(grid[2], sharex=ax_i)

    t_edges = np.append(t, t[-1] + (t[1] - t[0] if steps > 1 else dt))
    cur_edges = np.append(cur, cur[-1])
    ax_i.fill_between(
        t_edges, 0, cur_edges, step="post", color=PALETTE["current"], alpha=0.18, lw=0
    )
    ax_i.step(t_edges, cur_edges, where="post", color=PALETTE["current"], lw=1.6)
    ax_i.axhline(0.0, color="#999999", lw=0.6)
    ax_i.set_ylabel(current_label)
    top = max(float(cur.max()), 0.0)
    bottom = min(float(cur.min()), 0.0)
    pad = 0.15 * (top - bottom if top > bottom else 1.0)
    ax_i.set_ylim(bottom - pad, top + pad)
    ax_i.grid(axis="y")

    handles = _draw_membrane(ax_v, t, mem, spk, thr, v_post, refractory, threshold_label)
    ax_v.set_ylabel("membrane potential $v$")

    spike_times = t[spk > 0]
    ax_s.eventplot(
        spike_times, lineoffsets=0.5, linelengths=0.8, colors=PALETTE["spike"], linewidths=1.3
    )
    ax_s.set_ylim(0, 1)
    ax_s.set_yticks([])
    ax_s.spines["left"].set_visible(False)
    ax_s.set_ylabel("spikes", rotation=0, ha="right", va="center")
    duration = steps * float(dt)
    unit = "step" if time_unit == "step" else time_unit
    ax_s.text(
        1.0,
        1.05,
        f"{len(spike_times)} spikes in {duration:g} {unit}"
        f"{'s' if unit == 'step' and duration != 1 else ''}",
        transform=ax_s.transAxes,
        ha="right",
        va="bottom",
        fontsize=8.5,
        color="#555555",
    )
    ax_s.set_xlabel(xlabel)
    for ax in (ax_i, ax_v):
        ax.tick_params(labelbottom=False)

    heading = title if subtitle is None else f"{title}\n"
    fig.suptitle(heading, x=0.01, ha="left", fontsize=12.5, fontweight="bold")
    if subtitle is not None:
        fig.text(
            0.01,
            0.985,
            "\n" + subtitle,
            ha="left",
            va="top",
            fontsize=9,
            color="#555555",
            transform=blended_transform_factory(fig.transFigure, fig.transFigure),
        )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        fontsize=8.5,
        handlelength=2.0,
        columnspacing=1.6,
    )
    return fig


@styled
def membrane_trace(
    v: Any,
    spikes: Any,
    threshold: Any = 1.0,
    *,
    reset: str = "none",
    v_reset: float = 0.0,
    dt: float = 1.0,
    time_unit: str = "step",
    title: str = "Membrane potential of an output neuron",
) -> Figure:
    """Membrane potential ``v`` ``[T]`` of one neuron with its spikes and threshold.

    ``v`` is the pre-reset membrane (``trace(x).v``); each spike is a stroke above the
    threshold. Give the neuron's ``reset`` (and ``v_reset``) to draw each reset as a vertical
    drop; the default ``"none"`` draws ``v`` as given. ``threshold`` is a number or ``[T]``.
    """
    mem = to_numpy(v, "v", 1)
    spk = to_numpy(spikes, "spikes", 1)
    steps = check_same_length(v=mem, spikes=spk)
    thr = _threshold_array(threshold, steps)
    v_post = after_reset(mem, spk, thr, reset, v_reset)
    t, xlabel = time_axis(steps, dt, time_unit)
    fig = new_figure(7.0, 3.5)
    ax = fig.add_subplot()
    handles = _draw_membrane(ax, t, mem, spk, thr, v_post, refractory=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("membrane potential $v$")
    ax.set_title(title)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8.5)
    return fig
