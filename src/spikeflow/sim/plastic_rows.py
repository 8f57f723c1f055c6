"""The engine rows of plasticity rules: the order of their numbers is the simulator's
(:mod:`spikeflow.sim.layout`, ``SP_*`` and ``RP_*``), so it is written here, and only here."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from spikeflow.errors import check_range
from spikeflow.sim import layout as E

if TYPE_CHECKING:
    from spikeflow.plasticity.rstdp import RewardSTDP
    from spikeflow.plasticity.stdp import STDP


def stdp_row(rule: STDP, dt: float) -> np.ndarray:
    """The ``N_STDP_PARAMS`` numbers the engines read for ``rule`` at step ``dt`` (ms).

    Arguments:
        rule: the :class:`~spikeflow.plasticity.STDP` rule.
        dt: time step in ms.

    Returns:
        float64 ``[N_STDP_PARAMS]``, indexed by ``layout.SP_*``.
    """
    row = np.zeros(E.N_STDP_PARAMS)
    row[[E.SP_DX1, E.SP_DX2, E.SP_DY1, E.SP_DY2]] = rule.decays(dt)
    row[E.SP_A2P], row[E.SP_A3P] = rule.a_plus, rule.a3_plus
    row[E.SP_A2M], row[E.SP_A3M] = rule.a_minus, rule.a3_minus
    row[E.SP_WMIN], row[E.SP_WMAX] = rule.w_min, rule.w_max
    row[E.SP_MULT] = float(rule.mode == "multiplicative")
    row[E.SP_NEAREST] = float(rule.pairing == "nearest")
    return row


def reward_row(rule: RewardSTDP, dt: float) -> np.ndarray:
    """The per-step decays and rate of a reward-modulated rule, indexed by ``layout.RP_*``.

    Arguments:
        rule: the :class:`~spikeflow.plasticity.RewardSTDP`.
        dt: time step in ms.

    Returns:
        float64 ``[N_REWARD_PARAMS]``: eligibility decay, learning rate, reward-level decay
        (1 when the level is held).
    """
    check_range("dt", dt, 0.0, low_open=True)
    row = np.zeros(E.N_REWARD_PARAMS)
    row[E.RP_DECAY_E] = math.exp(-dt / rule.tau_e)
    row[E.RP_LR] = rule.lr
    row[E.RP_DECAY_D] = 1.0 if rule.tau_d is None else math.exp(-dt / rule.tau_d)
    return row
