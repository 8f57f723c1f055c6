"""Population figures: spike rasters, per-layer rasters and firing-rate histograms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from spikeflow.errors import UserError, check_positive_int
from spikeflow.plot._common import PALETTE, new_figure, styled, time_axis, to_numpy

#: Colours given to neuron groups and layers, in order.
GROUP_COLOURS = ("#1f4e8c", "#b8322a", "#2e7d4f", "#c8702a", "#6b4c9a", "#3c8d99")

_RATE_SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6}


def _rate_unit(dt: float, time_unit: str) -> tuple[float, str]:
    """Factor turning spikes per step into the displayed rate, and its label."""
    if time_unit in _RATE_SCALE:
        return _RATE_SCALE[time_unit] / dt, "Hz"
    return 1.0 / dt, "spikes / step" if time_unit == "step" else f"spikes / {time_unit}"


def _check_groups(groups: Sequence[tuple[str, int]] | None, neurons: int) -> list[tuple[str, int]]:
    if groups is None:
        return [("", neurons)]
    groups = [(str(name), count) for name, count in groups]
    for name, count in groups:
        check_positive_int(f"size of group {name!r}", count)
    total = sum(count for _, count in groups)
    if total != neurons:
        raise UserError(f"groups cover {total} neurons; expected the {neurons} neurons of spikes")
    return groups


def _scatter_spikes(
    fig: Figure,
    ax: Axes,
    spikes: np.ndarray,
    t: np.ndarray,
    colours: Sequence[str],
    sizes: Sequence[int],
) -> None:
    """Draw spikes ``[T, N]`` as ticks, one colour per consecutive block of ``sizes`` neurons."""
    neurons = spikes.shape[1]
    box = ax.get_position()  # final once the caller has run the layout
    height_pt = box.height * fig.get_figheight() * 72
    tick = float(np.clip(0.9 * height_pt / neurons, 1.2, 7.0))
    first = 0
    for colour, size in zip(colours, sizes, strict=True):
        steps, ids = np.nonzero(spikes[:, first : first + size])
        if neurons <= 400:
            ax.scatter(
                t[steps],
                ids + first,
                marker="|",
                s=tick**2,
                linewidths=1.2,
                color=colour,
                rasterized=len(ids) > 20000,
            )
        else:
            ax.scatter(
                t[steps],
                ids + first,
                marker="s",
                s=max(tick, 0.6) ** 2,
                linewidths=0,
                color=colour,
                rasterized=True,
            )
        first += size
    ax.set_ylim(neurons - 0.5, -0.5)


@styled
def raster(
    spikes: Any,
    *,
    dt: float = 1.0,
    time_unit: str = "step",
    groups: Sequence[tuple[str, int]] | None = None,
    population_rate: bool = True,
    stimulus: Any = None,
    title: str = "Spike raster",
    neuron_label: str = "neuron",
) -> Figure:
    """Raster plot of a population: one row per neuron, one tick per spike.

    Arguments:
        spikes: ``[T, N]`` (any non-zero value is a spike).
        dt: time between steps, in ``time_unit``.
        time_unit: unit of the time axis (``"step"``, ``"ms"``, ``"s"``, ...).
        groups: optional ``[(name, size), ...]`` splitting the neurons, in order, into coloured
            groups (for example ON/OFF channels or excitatory/inhibitory cells).
        population_rate: add a panel with the population firing rate over time.
        stimulus: optional 2-D image ``[H, W]`` (the encoded input, say) drawn beside the raster.
        title: heading of the figure.
        neuron_label: y-axis label.

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure`.
    """
    spk = to_numpy(spikes, "spikes", 2) != 0
    steps, neurons = spk.shape
    parts = _check_groups(groups, neurons)
    t, xlabel = time_axis(steps, dt, time_unit)
    image = None if stimulus is None else to_numpy(stimulus, "stimulus", 2)
    rows = 2 if population_rate else 1
    fig = new_figure(7.6 if image is None else 9.0, 5.0 if population_rate else 4.0)
    grid = fig.add_gridspec(
        rows,
        1 if image is None else 2,
        height_ratios=[3.2, 1.0][:rows],
        width_ratios=None if image is None else [4.0, 1.0],
    )
    ax = fig.add_subplot(grid[0, 0])
    if population_rate:
        ax_rate = fig.add_subplot(grid[1, 0], sharex=ax)
    if image is not None:
        ax_image = fig.add_subplot(grid[0, 1])
        ax_image.imshow(image, cmap="Greys", interpolation="nearest")
        ax_image.set_xticks([])
        ax_image.set_yticks([])
        ax_image.set_title("input", loc="center")
    colours = [GROUP_COLOURS[i % len(GROUP_COLOURS)] for i in range(len(parts))]
    ax.set_ylim(neurons - 0.5, -0.5)
    ax.set_xlim(t[0] - 0.5 * dt, t[-1] + 0.5 * dt)
    ax.set_ylabel(neuron_label)
    ax.set_title(title)
    if groups is not None:
        first = 0
        for (name, size), colour in zip(parts, colours, strict=True):
            if first:
                ax.axhline(first - 0.5, color="#777777", lw=0.6)
            ax.text(
                1.01,
                first + size / 2 - 0.5,
                name,
                transform=ax.get_yaxis_transform(),
                color=colour,
                fontsize=9,
                fontweight="bold",
                va="center",
                ha="left",
                rotation=90,
            )
            first += size
    if population_rate:
        _draw_population_rate(ax_rate, spk, t, dt, time_unit)
        ax_rate.set_xlabel(xlabel)
        ax.tick_params(labelbottom=False)
    else:
        ax.set_xlabel(xlabel)
    fig.draw_without_rendering()  # run the layout so tick sizes match the final panel height
    _scatter_spikes(fig, ax, spk, t, colours, [size for _, size in parts])
    return fig


def _draw_population_rate(
    ax: Axes, spk: np.ndarray, t: np.ndarray, dt: float, time_unit: str
) -> None:
    """Population rate ``[T]``: the mean over neurons, per step or smoothed when T is long."""
    steps = len(t)
    scale, unit = _rate_unit(dt, time_unit)
    if steps <= 120:  # few steps: one bar per step
        rate = spk.mean(axis=1) * scale
        ax.bar(
            t,
            rate,
            width=0.8 * (t[1] - t[0] if steps > 1 else 1.0),
            color=PALETTE["membrane"],
            alpha=0.75,
            lw=0,
        )
    else:  # many steps: a line smoothed over ~T/60 steps
        window = steps // 60
        rate = np.convolve(spk.mean(axis=1), np.ones(window) / window, mode="same") * scale
        ax.fill_between(t, 0, rate, color=PALETTE["membrane"], alpha=0.2, lw=0)
        ax.plot(t, rate, color=PALETTE["membrane"], lw=1.3)
    ax.set_ylim(0, max(float(rate.max()) * 1.15, 1e-9))
    ax.set_ylabel(f"rate\n({unit})")
    ax.grid(axis="y")


@styled
def rate_histogram(
    spikes: Any,
    *,
    dt: float = 1.0,
    time_unit: str = "step",
    bins: int = 20,
    title: str = "Firing rates",
) -> Figure:
    """Histogram of the mean firing rate of each neuron of a population ``spikes`` ``[T, N]``.

    Rates are in Hz when ``time_unit`` is ``"s"``, ``"ms"`` or ``"us"``, otherwise in spikes per
    step (or per ``time_unit``). The mean rate and the number of silent neurons are marked.
    """
    spk = to_numpy(spikes, "spikes", 2) != 0
    check_positive_int("bins", bins)
    steps, neurons = spk.shape
    time_axis(steps, dt, time_unit)  # validates dt
    scale, unit = _rate_unit(dt, time_unit)
    rates = spk.mean(axis=0) * scale
    fig = new_figure(5.6, 3.6)
    ax = fig.add_subplot()
    ax.hist(rates, bins=bins, color=PALETTE["membrane"], alpha=0.85, edgecolor="white", lw=0.8)
    mean = float(rates.mean())
    ax.axvline(mean, color=PALETTE["threshold"], ls=(0, (5, 3)), lw=1.2)
    ax.text(
        mean,
        1.0,
        f" mean {mean:.3g} {unit}",
        transform=ax.get_xaxis_transform(),
        color=PALETTE["threshold"],
        fontsize=8.5,
        va="top",
        ha="left",
    )
    silent = int((rates == 0).sum())
    ax.text(
        1.0,
        1.02,
        f"{neurons} neurons, {silent} silent",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=8.5,
        color="#555555",
    )
    ax.set_xlabel(f"firing rate ({unit})")
    ax.set_ylabel("neurons")
    ax.set_title(title)
    ax.grid(axis="y")
    return fig


@styled
def layer_rasters(
    spikes: Sequence[Any],
    names: Sequence[str] | None = None,
    *,
    dt: float = 1.0,
    time_unit: str = "step",
    title: str = "One sample through every layer",
) -> Figure:
    """Rasters of one sample through every layer, stacked on a shared time axis.

    Arguments:
        spikes: one array ``[T, N_l]`` per layer, all with the same ``T``.
        names: a name per layer (default ``"layer 1"``, ...).
        dt: time between steps, in ``time_unit``.
        time_unit: unit of the time axis.
        title: heading of the figure.
    """
    if isinstance(spikes, np.ndarray) or hasattr(spikes, "detach") or len(spikes) == 0:
        raise UserError("spikes must be a non-empty list of [T, N] arrays, one per layer")
    layers = [to_numpy(s, f"spikes[{i}]", 2) != 0 for i, s in enumerate(spikes)]
    names = [f"layer {i + 1}" for i in range(len(layers))] if names is None else list(names)
    if len(names) != len(layers):
        raise UserError(f"names has {len(names)} entries; expected one per layer ({len(layers)})")
    steps = {layer.shape[0] for layer in layers}
    if len(steps) != 1:
        raise UserError(
            f"layers have different numbers of time steps {sorted(steps)}; "
            "expected the same T for every layer"
        )
    t, xlabel = time_axis(layers[0].shape[0], dt, time_unit)
    heights = [float(np.clip(np.sqrt(layer.shape[1]), 2.0, 12.0)) for layer in layers]
    fig = new_figure(7.6, min(1.2 + 0.32 * sum(heights), 11.0))
    grid = fig.add_gridspec(len(layers), 1, height_ratios=heights)
    axes: list[Axes] = []
    for i, layer in enumerate(layers):
        ax = fig.add_subplot(grid[i], sharex=axes[0] if axes else None)
        axes.append(ax)
        ax.set_ylim(layer.shape[1] - 0.5, -0.5)
        ax.set_ylabel(f"{names[i]}\n({layer.shape[1]})", fontsize=9)
        ax.text(
            1.0,
            1.0,
            f"{layer.mean():.3f} spikes / neuron / step",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="#555555",
        )
        ax.tick_params(labelbottom=i == len(layers) - 1)
    axes[0].set_xlim(t[0] - 0.5 * dt, t[-1] + 0.5 * dt)
    axes[-1].set_xlabel(xlabel)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.draw_without_rendering()  # run the layout so tick sizes match the final panel heights
    for i, (ax, layer) in enumerate(zip(axes, layers, strict=True)):
        _scatter_spikes(
            fig, ax, layer, t, [GROUP_COLOURS[i % len(GROUP_COLOURS)]], [layer.shape[1]]
        )
    return fig
