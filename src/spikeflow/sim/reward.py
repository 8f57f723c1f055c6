"""The reward signal of reward-modulated synapses (:class:`spikeflow.plasticity.RewardSTDP`) in a
:class:`~spikeflow.sim.Network`: levels held or decaying between runs, per-step schedules within one.

:class:`RewardSignals` is the part of :class:`~spikeflow.sim.Network` that reads and writes the
reward arrays the network builds (one row ``R`` per reward-modulated projection); the engine
applies them (see :mod:`spikeflow.sim.engine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spikeflow.errors import UserError
from spikeflow.plasticity.rstdp import reward_values
from spikeflow.sim import layout as E

if TYPE_CHECKING:
    from spikeflow.sim.synapses import Synapses


class RewardSignals:
    """Reward methods of :class:`~spikeflow.sim.Network` (a base class; it holds no state)."""

    # built by Network._build_synapses
    batch: int
    synapses: list[Synapses]
    rew: np.ndarray  # [R, 3] int64: projection, synapse count, offset into elig
    level: np.ndarray  # [R, B] reward level now
    elig: np.ndarray  # [B, S_reward] eligibility, in units of escale
    escale: np.ndarray  # [R, B] pending decay factor of each row's eligibility
    _reward_row: dict[str, int]

    def _require_built(self) -> None:
        raise NotImplementedError  # Network's

    def set_reward(self, value, syn: Synapses | None = None) -> None:
        """Set the reward level of the reward-modulated ``syn`` (``None``: all of them) to a
        number or ``[B]`` (one per copy). It is the reward of every following step, held until
        changed, or decaying with the rule's ``tau_d`` when it has one."""
        rows = self._reward_rows(syn)
        self.level[rows] = reward_values(value, None, self.batch)

    def add_reward(self, value, syn: Synapses | None = None) -> None:
        """Add a number or ``[B]`` to the reward level (a dopamine-like increment)."""
        rows = self._reward_rows(syn)
        self.level[rows] += reward_values(value, None, self.batch)

    def reward_level(self, syn: Synapses) -> np.ndarray:
        """The reward level of ``syn`` now, ``[B]``."""
        r = self._reward_rows(syn)[0]
        return self.level[r].copy()

    def eligibility(self, syn: Synapses) -> np.ndarray:
        """The eligibility trace of the reward-modulated ``syn``, ``[B, S]`` like its weights."""
        r = self._reward_rows(syn)[0]
        o, n = self.rew[r, E.RW_ELIG_OFF], self.rew[r, E.RW_N]
        return self.elig[:, o : o + n] * self.escale[r][:, None]

    def _reward_rows(self, syn: Synapses | None) -> list[int]:
        self._require_built()
        if syn is None:
            if not self._reward_row:
                raise UserError(
                    "the network has no reward-modulated synapses; expected "
                    "Synapses(..., stdp=RewardSTDP(...))"
                )
            return list(self._reward_row.values())
        if not any(syn is other for other in self.synapses):
            raise UserError(f"{syn!r} is not in the network")
        if syn.name not in self._reward_row:
            raise UserError(
                f"{syn.name} is not reward-modulated (stdp={syn.stdp!r}); expected "
                "Synapses(..., stdp=RewardSTDP(...))"
            )
        return [self._reward_row[syn.name]]

    def _reward_schedule(self, reward, n_steps: int) -> np.ndarray:
        """Per-step rewards ``[R, n_steps, B]`` of one run (no steps when ``reward`` is None)."""
        if reward is None:
            return np.zeros((self.level.shape[0], 0, self.batch))
        sched = np.zeros((self.level.shape[0], n_steps, self.batch))
        for syn, value in reward.items() if isinstance(reward, dict) else [(None, reward)]:
            sched[self._reward_rows(syn)] = reward_values(value, n_steps, self.batch)
        return sched
