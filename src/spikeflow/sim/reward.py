"""The reward signal of reward-modulated synapses (:class:`spikeflow.plasticity.RewardSTDP`) in a
:class:`~spikeflow.sim.Network`: levels held or decaying between runs, per-step schedules within one.

:class:`RewardSignals` is the part of :class:`~spikeflow.sim.Network` that reads and writes the
reward arrays of its compiled record and state (one row ``R`` per reward-modulated projection);
the engine applies them (see :mod:`spikeflow.sim.engine`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from spikeflow.errors import UserError
from spikeflow.plasticity.rstdp import reward_values
from spikeflow.sim import layout as E

if TYPE_CHECKING:
    from spikeflow.sim.compiled import CompiledNetwork, State
    from spikeflow.sim.synapses import Synapses


class RewardSignals:
    """Reward methods of :class:`~spikeflow.sim.Network` (a base class; it holds no state)."""

    batch: int
    synapses: list[Synapses]
    if TYPE_CHECKING:  # read-only properties of Network

        @property
        def compiled(self) -> CompiledNetwork: ...  # the reward tables (layout.RW_*, RP_*)

        @property
        def engine_state(self) -> State: ...  # level [R, B], elig [B, S_reward], escale [R, B]

    def set_reward(self, value, syn: Synapses | None = None) -> None:
        """Set the reward level of the reward-modulated ``syn`` (``None``: all of them) to a
        number or ``[B]`` (one per copy). It is the reward of every following step, held until
        changed, or decaying with the rule's ``tau_d`` when it has one."""
        rows = self._reward_rows(syn)
        self.engine_state.level[rows] = reward_values(value, None, self.batch)

    def add_reward(self, value, syn: Synapses | None = None) -> None:
        """Add a number or ``[B]`` to the reward level (a dopamine-like increment)."""
        rows = self._reward_rows(syn)
        self.engine_state.level[rows] += reward_values(value, None, self.batch)

    def reward_level(self, syn: Synapses) -> np.ndarray:
        """The reward level of ``syn`` now, ``[B]``."""
        r = self._reward_rows(syn)[0]
        return self.engine_state.level[r].copy()

    def eligibility(self, syn: Synapses) -> np.ndarray:
        """The eligibility trace of the reward-modulated ``syn``, ``[B, S]`` like its weights."""
        r = self._reward_rows(syn)[0]
        rew, st = self.compiled.synapses.reward, self.engine_state
        o, n = rew[r, E.RW_ELIG_OFF], rew[r, E.RW_N]
        return st.elig[:, o : o + n] * st.escale[r][:, None]

    def _reward_rows(self, syn: Synapses | None) -> list[int]:
        reward_row = self.compiled.layout.reward_row
        if syn is None:
            if not reward_row:
                raise UserError(
                    "the network has no reward-modulated synapses; expected "
                    "Synapses(..., stdp=RewardSTDP(...))"
                )
            return list(reward_row.values())
        if not any(syn is other for other in self.synapses):
            raise UserError(f"{syn!r} is not in the network")
        if syn.name not in reward_row:
            raise UserError(
                f"{syn.name} is not reward-modulated (stdp={syn.stdp!r}); expected "
                "Synapses(..., stdp=RewardSTDP(...))"
            )
        return [reward_row[syn.name]]

    def _reward_schedule(self, reward, n_steps: int) -> np.ndarray:
        """Per-step rewards ``[R, n_steps, B]`` of one run (no steps when ``reward`` is None)."""
        n_rows = self.compiled.synapses.reward.shape[0]
        if reward is None:
            return np.zeros((n_rows, 0, self.batch))
        sched = np.zeros((n_rows, n_steps, self.batch))
        for syn, value in reward.items() if isinstance(reward, dict) else [(None, reward)]:
            sched[self._reward_rows(syn)] = reward_values(value, n_steps, self.batch)
        return sched
