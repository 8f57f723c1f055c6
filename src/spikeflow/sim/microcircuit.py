"""The Potjans & Diesmann (2014) cortical microcircuit: its derived parameters and its network.

:func:`derive` turns the table of :mod:`spikeflow.sim.microcircuit_params` into the numbers a
simulator needs, as the PyNEST example does (``network.py``, ``helpers.py``):

- neurons per population ``round(n_full * scale)``;
- synapses per projection: the full-scale total ``K = log(1 - p) / log(1 - 1 / (N_pre N_post))``
  (the number of independent draws of a pair that leaves the probability ``p`` that a given
  pair is connected), times ``scale * k_scale``, rounded; drawn as NEST's
  ``fixed_total_number`` (multapses and autapses allowed);
- weights (pA): PSP amplitudes turned into current amplitudes of ``iaf_psc_exp`` (the PSC whose
  PSP peaks at the given amplitude), inhibitory ``g`` times excitatory, L4E -> L23E doubled;
- background: each neuron receives Poisson input at ``bg_rate * round(k_ext * k_scale)``, weight
  the excitatory mean;
- in-degrees scaled by ``k_scale < 1``: weights divided by ``sqrt(k_scale)`` and a DC current
  ``1e-3 tau_syn (1 - sqrt(k_scale)) (sum_j w_ij K_ij / N_i nu_j + w_ext K_ext,i bg_rate)``
  (full-scale ``w``, ``K`` and reference rates ``nu``) keeps each neuron's mean input, as the
  original does;
- thalamic input (optional): 902 neurons firing Poisson spikes at ``th_rate`` during
  ``[th_start, th_start + th_duration)``, synapse totals from ``conn_probs_th`` scaled like the
  recurrent ones (``scale * k_scale``; the PyNEST example scales them by ``k_scale`` alone).

:func:`build` draws the network: synapses in :class:`~spikeflow.sim.compact.CompactSynapses`
(sources: the 8 populations in order, then the thalamic neurons), initial potentials normal per
population.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikeflow.errors import UserError, check_range
from spikeflow.memory import check_fits
from spikeflow.sim.compact import CompactSynapses, Projection, build_compact, bytes_needed
from spikeflow.sim.microcircuit_params import POPULATIONS, value


def psc_over_psp(c_m: float, tau_m: float, tau_syn: float) -> float:
    """The current amplitude (pA) of an exponential synaptic current whose PSP in an
    ``iaf_psc_exp`` neuron peaks at 1 mV.

    Arguments:
        c_m: capacitance (pF). tau_m, tau_syn: membrane and synaptic time constants (ms).
    """
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * np.log(tau_m / tau_syn)
    psp = (
        tau_m
        * tau_syn
        / (c_m * (tau_m - tau_syn))
        * (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_syn))
    )
    return float(1.0 / psp)


def total_synapses(p: np.ndarray, n_post: np.ndarray, n_pre: np.ndarray) -> np.ndarray:
    """Expected synapse totals ``[target, source]`` for connection probabilities ``p``
    (``log(1 - p) / log(1 - 1 / (N_post N_pre))``, not rounded)."""
    prod = np.outer(n_post, n_pre).astype(np.float64)
    return np.log1p(-p) / np.log1p(-1.0 / prod)


@dataclass(frozen=True, eq=False)
class MicrocircuitSpec:
    """The derived numbers of one microcircuit (see the module docstring).

    Arguments:
        scale, k_scale: neuron and in-degree scaling. dt: time step (ms). thalamic: input on.
        n: neurons per population ``[8]``. n_syn: synapses ``[target, source]`` ``[8, 8]``.
        w_mean: mean weights (pA) ``[8, 8]``. w_rel_std: standard deviation / mean.
        d_mean: mean delays (ms) ``[8, 8]``. d_rel_std: standard deviation / mean.
        k_ext: background in-degrees ``[8]``. bg_rate: their rate (Hz). w_ext: their weight (pA).
        dc: constant current per population (pA) ``[8]``. v0_mean, v0_std: initial potentials.
        e_l, v_th, v_reset (mV), c_m (pF), tau_m, tau_syn, t_ref (ms): the neuron.
        n_th: thalamic neurons (0 without thalamic input). n_syn_th: their synapses ``[8]``.
        w_th: their mean weight (pA). d_th_mean, d_th_rel_std: their delays (ms, relative).
        th_start, th_duration (ms), th_rate (Hz): the pulse.
    """

    scale: float
    k_scale: float
    dt: float
    thalamic: bool
    n: np.ndarray
    n_syn: np.ndarray
    w_mean: np.ndarray
    w_rel_std: float
    d_mean: np.ndarray
    d_rel_std: float
    k_ext: np.ndarray
    bg_rate: float
    w_ext: float
    dc: np.ndarray
    v0_mean: np.ndarray
    v0_std: np.ndarray
    e_l: float
    v_th: float
    v_reset: float
    c_m: float
    tau_m: float
    tau_syn: float
    t_ref: float
    n_th: int
    n_syn_th: np.ndarray
    w_th: float
    d_th_mean: float
    d_th_rel_std: float
    th_start: float
    th_duration: float
    th_rate: float

    @property
    def starts(self) -> np.ndarray:
        """First global index of each population, and the total ``[9]``."""
        return np.concatenate([[0], np.cumsum(self.n)])

    @property
    def n_neurons(self) -> int:
        return int(self.n.sum())

    @property
    def n_synapses(self) -> int:
        return int(self.n_syn.sum() + self.n_syn_th.sum())

    def projections(self) -> list[Projection]:
        """Every projection (recurrent by target then source, then thalamic), for
        :func:`~spikeflow.sim.compact.build_compact`."""
        s, out = self.starts, []
        for i in range(len(POPULATIONS)):
            for j in range(len(POPULATIONS)):
                w, d = self.w_mean[i, j], self.d_mean[i, j]
                out.append(
                    Projection(
                        int(s[j]), int(self.n[j]), int(s[i]), int(self.n[i]),
                        int(self.n_syn[i, j]), w, abs(w) * self.w_rel_std, d, d * self.d_rel_std,
                    )
                )  # fmt: skip
        for i in range(len(POPULATIONS)):
            if self.n_th:
                out.append(
                    Projection(
                        self.n_neurons, self.n_th, int(s[i]), int(self.n[i]),
                        int(self.n_syn_th[i]), self.w_th, self.w_th * self.w_rel_std,
                        self.d_th_mean, self.d_th_mean * self.d_th_rel_std,
                    )
                )  # fmt: skip
        return out


def derive(
    scale: float = 1.0,
    *,
    k_scale: float | None = None,
    thalamic: bool = False,
    dt: float | None = None,
) -> MicrocircuitSpec:
    """The microcircuit's numbers at ``scale`` (see the module docstring).

    Arguments:
        scale: neuron numbers relative to the full model, in (0, 1].
        k_scale: in-degrees relative to the full model, in (0, 1] (default ``scale``).
        thalamic: add the thalamic pulse. dt: time step (ms; default the table's 0.1).

    Returns:
        The :class:`MicrocircuitSpec`.
    """
    scale = check_range("scale", scale, 0.0, 1.0, low_open=True)
    k_scale = scale if k_scale is None else check_range("k_scale", k_scale, 0.0, 1.0, low_open=True)
    dt = value("dt") if dt is None else check_range("dt", dt, 0.0, 1.0, low_open=True)
    n_full = value("n_full")
    n = np.round(n_full * scale).astype(np.int64)
    if n.min() < 1:
        raise UserError(
            f"scale={scale:g} leaves population {POPULATIONS[int(n.argmin())]} without neurons; "
            f"expected scale >= {0.5 / n_full.min():.2g}"
        )
    k_full = total_synapses(value("conn_probs"), n_full, n_full)
    tau_m, tau_syn, c_m = value("tau_m"), value("tau_syn"), value("c_m")
    unit = psc_over_psp(c_m, tau_m, tau_syn)
    exc = value("psp_exc_mean")
    psp = np.where(np.arange(8) % 2 == 0, exc, exc * value("g"))[None, :].repeat(8, axis=0)
    psp[0, 2] *= value("l4e_to_l23e_factor")
    w_full, w_ext_full = psp * unit, exc * unit
    k_ext_full, bg = value("k_ext"), value("bg_rate")
    root = np.sqrt(k_scale)
    rec_input = np.sum(w_full * k_full / n_full[:, None] * value("full_mean_rates"), axis=1)
    dc = 1e-3 * tau_syn * (1.0 - root) * (rec_input + w_ext_full * k_ext_full * bg)
    d_mean = np.where(np.arange(8) % 2 == 0, value("delay_exc_mean"), value("delay_inh_mean"))
    n_th = int(value("n_thal")) if thalamic else 0
    k_th = total_synapses(value("conn_probs_th")[:, None], n_full, np.array([value("n_thal")]))
    return MicrocircuitSpec(
        scale=scale, k_scale=k_scale, dt=dt, thalamic=thalamic, n=n,
        n_syn=np.round(k_full * scale * k_scale).astype(np.int64),
        w_mean=w_full / root, w_rel_std=value("weight_rel_std"),
        d_mean=d_mean[None, :].repeat(8, axis=0), d_rel_std=value("delay_rel_std"),
        k_ext=np.round(k_ext_full * k_scale).astype(np.int64), bg_rate=bg,
        w_ext=w_ext_full / root, dc=dc, v0_mean=value("v0_mean"), v0_std=value("v0_std"),
        e_l=value("e_l"), v_th=value("v_th"), v_reset=value("v_reset"), c_m=c_m, tau_m=tau_m,
        tau_syn=tau_syn, t_ref=value("t_ref"), n_th=n_th,
        n_syn_th=np.round(k_th[:, 0] * scale * k_scale).astype(np.int64) * int(thalamic),
        w_th=value("psp_th") * unit / root, d_th_mean=value("delay_th_mean"),
        d_th_rel_std=value("delay_th_rel_std"), th_start=value("th_start"),
        th_duration=value("th_duration"), th_rate=value("th_rate"),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Microcircuit:
    """A drawn microcircuit: its numbers, synapses and initial membrane potentials.

    Arguments:
        spec: the derived numbers. synapses: every synapse (sources: neurons, then thalamic).
        v0: initial membrane potentials (mV) ``[N]``. seed: the seed it was drawn with.
    """

    spec: MicrocircuitSpec
    synapses: CompactSynapses
    v0: np.ndarray
    seed: int


def build(spec: MicrocircuitSpec, seed: int = 0) -> Microcircuit:
    """Draw the network of ``spec`` (after checking that it fits in memory).

    Arguments:
        spec: from :func:`derive`. seed: seed of every draw.

    Returns:
        The :class:`Microcircuit`.
    """
    n_src = spec.n_neurons + spec.n_th
    check_fits(
        f"scale={spec.scale:g} ({spec.n_synapses:.3g} synapses, {spec.n_neurons} neurons)",
        bytes_needed(spec.n_synapses, n_src) + 64.0 * spec.n_neurons,
    )
    syn = build_compact(spec.projections(), n_src, spec.dt, seed)
    rng = np.random.default_rng([seed, 1 << 20])
    v0 = np.concatenate(
        [
            rng.normal(m, s, size=k)
            for m, s, k in zip(spec.v0_mean, spec.v0_std, spec.n, strict=True)
        ]
    )
    return Microcircuit(spec, syn, v0, seed)
