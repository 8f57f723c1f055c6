"""Population statistics of recorded spikes, as Potjans & Diesmann (2014) report them.

Spikes are given as two arrays ``[S]``: the step of each spike and its global neuron index; a
population is a range of indices. Over the window ``[t_start, t_stop)`` (ms):

- **rate** (Hz): spikes in the window / (neurons x window length), silent neurons included
  (the PyNEST example's ``firing_rates``);
- **irregularity**: the coefficient of variation of the inter-spike intervals of each neuron with
  at least ``min_spikes`` spikes in the window, averaged over those neurons (NaN when none);
- **synchrony**: the variance of the population's spike-count histogram (bins of ``bin_ms``,
  3 ms as in the paper) divided by its mean, over the first ``sync_neurons`` (1000) neurons of
  the population so that the figure does not grow with the population's size (1 for
  independent Poisson spike trains; NaN without spikes).
"""

from __future__ import annotations

import numpy as np


def window(steps: np.ndarray, dt: float, t_start: float, t_stop: float) -> np.ndarray:
    """The spikes (bool ``[S]``) whose time ``step * dt`` lies in ``[t_start, t_stop)`` (ms)."""
    a, z = round(t_start / dt), round(t_stop / dt)
    return (steps >= a) & (steps < z)


def rate(neurons: np.ndarray, start: int, n: int, duration_ms: float) -> float:
    """Mean rate (Hz) of neurons ``[start, start + n)`` given the spikes ``neurons`` ``[S]`` of a
    window of ``duration_ms``."""
    k = np.count_nonzero((neurons >= start) & (neurons < start + n))
    return float(k / (n * duration_ms * 1e-3))


def isi_cv(steps: np.ndarray, neurons: np.ndarray, min_spikes: int = 3) -> float:
    """Mean ISI coefficient of variation over neurons with at least ``min_spikes`` spikes
    (spikes ``[S]`` of one population and window; NaN when no neuron has enough)."""
    order = np.lexsort((steps, neurons))
    s, i = steps[order].astype(np.float64), neurons[order]
    same = i[1:] == i[:-1]
    isi, owner = np.diff(s)[same], i[1:][same]
    if isi.size == 0:
        return float("nan")
    _, inv, cnt = np.unique(owner, return_inverse=True, return_counts=True)
    total = np.bincount(inv, weights=isi)
    sq = np.bincount(inv, weights=isi * isi)
    ok = cnt >= min_spikes - 1
    if not np.any(ok):
        return float("nan")
    mean = total[ok] / cnt[ok]
    var = np.clip(sq[ok] / cnt[ok] - mean**2, 0.0, None)
    return float(np.mean(np.sqrt(var) / mean))


def synchrony(
    steps: np.ndarray, dt: float, t_start: float, t_stop: float, bin_ms: float = 3.0
) -> float:
    """Variance / mean of the spike-count histogram of ``steps`` ``[S]`` (one population's
    spikes) in bins of ``bin_ms`` over ``[t_start, t_stop)`` (whole bins only)."""
    n_bins = int((t_stop - t_start) // bin_ms)
    if n_bins < 2:
        return float("nan")
    t = steps * dt - t_start
    idx = np.floor(t / bin_ms).astype(np.int64)
    counts = np.bincount(idx[(idx >= 0) & (idx < n_bins)], minlength=n_bins)
    mean = counts.mean()
    return float(counts.var() / mean) if mean > 0 else float("nan")


def population_stats(
    steps: np.ndarray,
    neurons: np.ndarray,
    starts: np.ndarray,
    names: tuple[str, ...],
    dt: float,
    t_start: float,
    t_stop: float,
    *,
    min_spikes: int = 3,
    sync_neurons: int = 1000,
    bin_ms: float = 3.0,
) -> dict[str, dict[str, float]]:
    """Rate, irregularity and synchrony of each population (see the module docstring).

    Arguments:
        steps, neurons: every spike ``[S]`` (step, global index). starts: first index of each
            population and the total ``[P + 1]``. names: population names ``[P]``.
        dt: step (ms). t_start, t_stop: the window (ms). min_spikes: for the CV.
        sync_neurons: neurons per population for synchrony. bin_ms: its bin width (ms).

    Returns:
        ``{name: {"rate_hz", "cv_isi", "synchrony"}}``.
    """
    keep = window(steps, dt, t_start, t_stop)
    steps, neurons = steps[keep], neurons[keep]
    out = {}
    for p, name in enumerate(names):
        a, z = int(starts[p]), int(starts[p + 1])
        mine = (neurons >= a) & (neurons < z)
        s, i = steps[mine], neurons[mine]
        sub = i < a + sync_neurons
        out[name] = {
            "rate_hz": rate(i, a, z - a, t_stop - t_start),
            "cv_isi": isi_cv(s, i, min_spikes),
            "synchrony": synchrony(s[sub], dt, t_start, t_stop, bin_ms),
        }
    return out
