"""Every parameter of the Potjans & Diesmann (2014) cortical microcircuit, in one table.

Sources: "PD14" is Potjans & Diesmann (2014), The cell-type specific cortical microcircuit,
Cerebral Cortex 24:785-806, Tables 4 and 5; "PyNEST" is the microcircuit example shipped with NEST
3 (``pynest/examples/Potjans_2014``: ``network_params.py``, ``stimulus_params.py``,
``helpers.py``), which implements the paper and adds the population-specific initial potentials
and the full-scale reference rates used for scaling. Population order everywhere:
:data:`POPULATIONS`. Matrices are indexed ``[target, source]``.

How the derived quantities follow from the table is in :mod:`spikeflow.sim.microcircuit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")


@dataclass(frozen=True)
class Param:
    """One row of the table: value, unit, meaning and source."""

    value: Any
    unit: str
    meaning: str
    source: str


_PD = "PD14 Table 5"
_NEST = "PyNEST network_params.py"
_STIM = "PyNEST stimulus_params.py"

TABLE: dict[str, Param] = {
    "n_full": Param(
        np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]),
        "neurons", "population sizes under 1 mm^2 of surface", "PD14 Table 5; " + _NEST,
    ),
    "conn_probs": Param(
        np.array([
            [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
            [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
            [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
            [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
            [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
            [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
            [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
            [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
        ]),
        "1", "connection probability [target, source]", "PD14 Table 5; " + _NEST,
    ),
    "k_ext": Param(
        np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]),
        "synapses", "external (background) in-degree per population", "PD14 Table 5; " + _NEST,
    ),
    "bg_rate": Param(8.0, "Hz", "rate of each background input", _PD + "; " + _NEST),
    "psp_exc_mean": Param(0.15, "mV", "mean excitatory PSP amplitude", _PD + "; " + _NEST),
    "weight_rel_std": Param(0.1, "1", "standard deviation of weights / mean", _PD + "; " + _NEST),
    "g": Param(-4.0, "1", "inhibitory / excitatory weight", _PD + "; " + _NEST),
    "l4e_to_l23e_factor": Param(
        2.0, "1", "the mean weight L4E -> L23E is this times the excitatory mean",
        "PD14 (Table 5 footnote); " + _NEST,
    ),
    "delay_exc_mean": Param(1.5, "ms", "mean excitatory delay", _PD + "; " + _NEST),
    "delay_inh_mean": Param(0.75, "ms", "mean inhibitory delay", _PD + "; " + _NEST),
    "delay_rel_std": Param(0.5, "1", "standard deviation of delays / mean", _PD + "; " + _NEST),
    "v0_mean": Param(
        np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]),
        "mV", "mean initial membrane potential ('optimized')", _NEST,
    ),
    "v0_std": Param(
        np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]),
        "mV", "standard deviation of the initial membrane potential", _NEST,
    ),
    "e_l": Param(-65.0, "mV", "resting potential", "PD14 Table 4; " + _NEST),
    "v_th": Param(-50.0, "mV", "threshold", "PD14 Table 4; " + _NEST),
    "v_reset": Param(-65.0, "mV", "reset potential", "PD14 Table 4; " + _NEST),
    "c_m": Param(250.0, "pF", "membrane capacitance", "PD14 Table 4; " + _NEST),
    "tau_m": Param(10.0, "ms", "membrane time constant", "PD14 Table 4; " + _NEST),
    "tau_syn": Param(0.5, "ms", "synaptic current time constant (E and I)", "PD14 Table 4"),
    "t_ref": Param(2.0, "ms", "absolute refractory period", "PD14 Table 4; " + _NEST),
    "full_mean_rates": Param(
        np.array([0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851]),
        "Hz", "rates of the full-scale model, for the DC compensation of scaled in-degrees "
        "(and the paper's reference rates)", _NEST,
    ),
    "n_thal": Param(902, "neurons", "thalamic neurons (not scaled)", "PD14; " + _STIM),
    "conn_probs_th": Param(
        np.array([0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196]),
        "1", "connection probability thalamus -> population", "PD14 Table 5; " + _STIM,
    ),
    "psp_th": Param(0.15, "mV", "mean thalamic PSP amplitude", _STIM),
    "delay_th_mean": Param(1.5, "ms", "mean thalamic delay", _STIM),
    "delay_th_rel_std": Param(0.5, "1", "standard deviation of thalamic delays / mean", _STIM),
    "th_start": Param(700.0, "ms", "start of the thalamic pulse", _STIM),
    "th_duration": Param(10.0, "ms", "duration of the thalamic pulse", _STIM),
    "th_rate": Param(120.0, "Hz", "rate of each thalamic neuron during the pulse", _STIM),
    "dt": Param(0.1, "ms", "time step", "PD14; PyNEST sim_params.py"),
}  # fmt: skip


def value(name: str) -> Any:
    """The value of the parameter ``name`` (a copy for arrays)."""
    v = TABLE[name].value
    return v.copy() if isinstance(v, np.ndarray) else v


def markdown() -> str:
    """The table as Markdown (name, value, unit, meaning, source), for the docs."""
    rows = ["| name | value | unit | meaning | source |", "|---|---|---|---|---|"]
    for name, p in TABLE.items():
        v = str(np.asarray(p.value).tolist())
        rows.append(f"| `{name}` | {v} | {p.unit} | {p.meaning} | {p.source} |")
    return "\n".join(rows)
