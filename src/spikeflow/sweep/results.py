"""The results of a sweep: one table (CSV and markdown) and one figure, from plain trial rows.

Pure functions over :class:`TrialRow` (no Optuna objects), so they are tested with made-up trials.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from spikeflow.atomic import write_text
from spikeflow.sweep.space import Choice, Param

#: The files :func:`write` produces in the sweep directory.
CSV_NAME, MARKDOWN_NAME, PLOT_NAME = "results.csv", "results.md", "sweep.png"


@dataclass(frozen=True)
class TrialRow:
    """One trial as the table shows it.

    Arguments:
        number: the Optuna trial number. state: ``COMPLETE``, ``FAIL``, ``RUNNING``, ...
        value: the objective (``None`` unless complete). params: train option -> value.
        duration_s: seconds from start to end (``None`` while running). run_dir: the trial's
        run directory. note: why it failed, or which trial it retries.
    """

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    duration_s: float | None
    run_dir: str
    note: str = ""


def best(rows: list[TrialRow], direction: str) -> TrialRow | None:
    """The complete trial with the best value (the first one on ties), or ``None``.

    Arguments:
        rows: the trials. direction: ``"maximize"`` or ``"minimize"``.
    """
    done = [r for r in rows if r.state == "COMPLETE" and r.value is not None]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(done, key=lambda r: (sign * float(r.value), r.number))  # type: ignore[arg-type]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _columns(names: list[str], metric: str) -> list[str]:
    return ["trial", "state", metric, *names, "duration_s", "run_dir", "note"]


def _cells(row: TrialRow, names: list[str]) -> list[str]:
    params = [_cell(row.params.get(n)) for n in names]
    return [
        str(row.number), row.state, _cell(row.value), *params, _cell(row.duration_s),
        row.run_dir, row.note,
    ]  # fmt: skip


def to_csv(rows: list[TrialRow], names: list[str], metric: str) -> str:
    """The table as CSV, one line per trial in trial order.

    Arguments:
        rows: the trials. names: the searched options (columns). metric: the objective's name.

    Returns:
        The CSV text (list values joined by commas inside one quoted cell).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_columns(names, metric))
    for row in sorted(rows, key=lambda r: r.number):
        writer.writerow(_cells(row, names))
    return buf.getvalue()


def to_markdown(rows: list[TrialRow], names: list[str], metric: str, direction: str) -> str:
    """The table as markdown, the best trial first named and marked with ``*``.

    Arguments:
        rows: the trials. names: the searched options. metric, direction: the objective.

    Returns:
        The markdown text.
    """
    top = best(rows, direction)
    counts = {s: sum(r.state == s for r in rows) for s in sorted({r.state for r in rows})}
    lines = [
        f"# Sweep: {metric} ({direction})",
        "",
        f"{len(rows)} trials: " + ", ".join(f"{n} {s.lower()}" for s, n in counts.items()) + ".",
        "",
    ]
    if top is not None:
        chosen = ", ".join(f"{n}={_cell(top.params.get(n))}" for n in names)
        lines += [f"Best: trial {top.number}, {metric} {_cell(top.value)} ({chosen}).", ""]
    cols = _columns(names, metric)
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in sorted(rows, key=lambda r: r.number):
        cells = [c.replace("|", "\\|") for c in _cells(row, names)]
        if top is not None and row.number == top.number:
            cells[0] += " *"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _position(param: Param, value: Any) -> float:
    """Where ``value`` lies on the axis of ``param``, in [0, 1]."""
    if isinstance(param, Choice):
        return param.choices.index(value) / max(len(param.choices) - 1, 1)
    low, high, v = float(param.low), float(param.high), float(value)
    if param.log:
        low, high, v = math.log(low), math.log(high), math.log(v)
    return (v - low) / (high - low)


def figure(rows: list[TrialRow], space: tuple[Param, ...], metric: str, direction: str) -> Figure:
    """The objective per trial (with the best so far) and a parallel-coordinates view of the
    complete trials (one line per trial over the searched options, coloured by the objective).

    Arguments:
        rows: the trials. space: the searched parameters. metric, direction: the objective.

    Returns:
        A matplotlib figure.
    """
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.5])
    done = sorted(
        (r for r in rows if r.state == "COMPLETE" and r.value is not None), key=lambda r: r.number
    )
    numbers = [r.number for r in done]
    values = np.array([float(r.value) for r in done])  # type: ignore[arg-type]
    left.scatter(numbers, values, color="#1f77b4", zorder=3, label="trial")
    if len(done):
        running = np.maximum.accumulate if direction == "maximize" else np.minimum.accumulate
        left.step(numbers, running(values), where="post", color="#d62728", label="best so far")
    for r in rows:
        if r.state == "FAIL":
            left.axvline(r.number, color="#999999", linestyle=":", linewidth=1)
    left.xaxis.get_major_locator().set_params(integer=True)
    left.set(xlabel="trial", ylabel=metric, title=f"{metric} per trial (dotted: failed)")
    left.legend(loc="best")
    axes = [p.name for p in space]
    if done:
        lo, hi = float(values.min()), float(values.max())
        cmap = colormaps["viridis"]
        for r, value in zip(done, values, strict=True):
            ys = [_position(p, r.params[p.name]) for p in space]
            shade = 0.5 if hi == lo else (value - lo) / (hi - lo)
            right.plot(range(len(axes)), ys, color=cmap(shade), marker="o", alpha=0.85)
        norm = Normalize(lo, hi if hi > lo else lo + 1e-12)
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=right, label=metric)
    for i, p in enumerate(space):
        ends = (p.choices[0], p.choices[-1]) if isinstance(p, Choice) else (p.low, p.high)
        for y, end, where in ((0, ends[0], "top"), (1, ends[1], "bottom")):
            right.text(i, y + (0.02 if y else -0.02), _cell(end), ha="center", va=where, fontsize=8)
    right.set_xticks(range(len(axes)), axes)
    right.set_xlim(-0.2, max(len(axes) - 1, 0) + 0.2)
    right.set_ylim(-0.12, 1.12)
    right.set_yticks([])
    right.set_title("Complete trials over the searched options")
    return fig


def write(
    rows: list[TrialRow], space: tuple[Param, ...], metric: str, direction: str, out: Path
) -> list[Path]:
    """Write ``results.csv``, ``results.md`` and ``sweep.png`` into ``out``, each atomically.

    Arguments:
        rows: the trials. space: the searched parameters. metric, direction: the objective.
        out: the sweep directory.

    Returns:
        The three paths.
    """
    from spikeflow import plot

    names = [p.name for p in space]
    written = [
        write_text(out / CSV_NAME, to_csv(rows, names, metric)),
        write_text(out / MARKDOWN_NAME, to_markdown(rows, names, metric, direction)),
    ]
    written.append(plot.save(figure(rows, space, metric, direction), out / PLOT_NAME))
    return written
