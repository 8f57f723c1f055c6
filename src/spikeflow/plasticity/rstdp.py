"""Reward-modulated STDP: STDP changes collect in an eligibility trace, a reward turns them into
weight changes (Izhikevich 2007; Florian 2007).

Per step, with the STDP rule's potentiation and depression terms ``pot, dep`` (see
:class:`spikeflow.plasticity.STDP`), ``e <- e * exp(-dt / tau_e) + pot - dep`` and
``w <- clip(w + lr * r[t] * e, w_min, w_max)`` with the reward ``r[t]``. Time in ms.

The terms are the rule's raw (bound-free) ones, so only additive rules are accepted; the weights
are kept in ``[w_min, w_max]`` by the clip. :func:`reward_stdp` applies this to tensors;
:class:`RewardSTDP` bundles the rule with ``tau_e`` and ``lr`` and is also what makes a
simulator projection reward-modulated (``spikeflow.sim.Synapses(..., stdp=RewardSTDP(...))``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike

from spikeflow.errors import UserError, check_range
from spikeflow.plasticity.stdp import STDP, STDPState, check_trains


class RSTDPState(NamedTuple):
    """STDP traces and the eligibility trace ``e`` ``[N_post, N_pre]``."""

    traces: STDPState
    eligibility: torch.Tensor


def check_rstdp(rule: STDP, tau_e: float, lr: float) -> None:
    """Require an additive :class:`STDP` rule, ``tau_e > 0`` (ms) and ``lr >= 0``, no NaN."""
    if not isinstance(rule, STDP):
        raise UserError(f"rule={rule!r} is not valid; expected a spikeflow.plasticity.STDP")
    if rule.mode != "additive":
        raise UserError(
            f"rule.mode={rule.mode!r} is not valid for reward-modulated STDP; expected "
            "'additive' (the eligibility collects the raw terms; weights are clipped)"
        )
    _check_number("tau_e", tau_e, low_open=True, allow_inf=True)
    _check_number("lr", lr, low_open=False)


def _check_number(name: str, value: float, *, low_open: bool, allow_inf: bool = False) -> None:
    """A real number (not NaN) above 0 (``low_open``) or at least 0; ``inf`` when allowed."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise UserError(f"{name}={value!r} is not valid; expected a number")
    check_range(name, value, 0.0, low_open=low_open, allow_inf=allow_inf)


def reward_values(value: ArrayLike, steps: int | None, batch: int) -> np.ndarray:
    """A reward per copy (``steps=None``: a number or ``[B]``) or per step and copy (``[steps]``
    or ``[steps, B]``), checked finite and broadcast to ``[B]`` or ``[steps, B]``."""
    lead = () if steps is None else (steps,)
    if steps is None:
        want = f"a number or [B] = [{batch}]"
    else:
        want = f"[steps] = [{steps}] or [steps, B] = [{steps}, {batch}]"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"reward={value!r} is not valid; expected {want}") from None
    if arr.shape == lead:
        arr = np.broadcast_to(arr[..., None], (*lead, batch))
    if arr.shape != (*lead, batch):
        raise UserError(f"reward has shape {arr.shape}; expected {want}")
    if not np.all(np.isfinite(arr)):
        raise UserError("reward contains NaN or infinite values; expected finite numbers")
    return arr


@dataclass(frozen=True)
class RewardSTDP:
    """An STDP rule whose changes wait in an eligibility trace until a reward arrives.

    Arguments:
        rule: the (additive) :class:`STDP` rule whose terms feed the eligibility trace.
        tau_e: time constant (ms) of the eligibility trace (> 0; ``inf`` never decays).
        lr: learning rate (>= 0) of ``w <- w + lr * r * e``.
        tau_d: in the simulator, time constant (ms) of the reward level after
            ``Network.add_reward`` / ``set_reward`` (dopamine-like, Izhikevich 2007); ``None``
            holds the level until it is changed. Not used by :meth:`run`, whose reward is given
            per step.
    """

    rule: STDP
    tau_e: float = 1000.0
    lr: float = 1.0
    tau_d: float | None = None

    def __post_init__(self) -> None:
        check_rstdp(self.rule, self.tau_e, self.lr)
        if self.tau_d is not None:
            _check_number("tau_d", self.tau_d, low_open=True)

    def engine_params(self, dt: float) -> np.ndarray:
        """Per-step decays and rate at step ``dt`` (ms) in the order the simulator owns
        (``spikeflow.sim.layout.RP_*``)."""
        from spikeflow.sim.plastic_rows import reward_row  # the simulator imports this module

        return reward_row(self, dt)

    def run(
        self,
        w: torch.Tensor,
        pre: torch.Tensor,
        post: torch.Tensor,
        reward: torch.Tensor,
        dt: float,
        state: RSTDPState | None = None,
    ) -> tuple[torch.Tensor, RSTDPState]:
        """:func:`reward_stdp` with this object's rule, ``tau_e`` and ``lr``."""
        return reward_stdp(
            self.rule, w, pre, post, reward, dt, tau_e=self.tau_e, lr=self.lr, state=state
        )


def reward_stdp(
    rule: STDP,
    w: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    reward: torch.Tensor,
    dt: float,
    *,
    tau_e: float = 1000.0,
    lr: float = 1.0,
    state: RSTDPState | None = None,
) -> tuple[torch.Tensor, RSTDPState]:
    """Apply reward-modulated STDP over ``pre`` ``[T, B, N_pre]`` and ``post`` ``[T, B, N_post]``.

    ``reward`` is ``[T]`` (one value per step, 0 where there is none). ``w`` is
    ``[N_post, N_pre]``; the terms of all batch entries are summed into one eligibility trace.
    Returns the new weights and the state to continue from.
    """
    check_trains(pre, post, w)
    check_rstdp(rule, tau_e, lr)
    reward = torch.as_tensor(reward, dtype=w.dtype)
    if reward.shape != (pre.shape[0],):
        raise UserError(f"reward has shape {tuple(reward.shape)}; expected [T] = [{pre.shape[0]}]")
    if state is None:
        traces = rule.initial_state(pre.shape[1], pre.shape[2], post.shape[2], w)
        state = RSTDPState(traces, torch.zeros_like(w))
    traces, e = state
    decay = math.exp(-dt / tau_e)
    for t in range(pre.shape[0]):
        pre_t, post_t = pre[t].to(w.dtype), post[t].to(w.dtype)
        traces = rule.decay(traces, dt)
        pot, dep = rule.terms(pre_t, post_t, traces)
        e = e * decay + pot - dep
        w = (w + lr * reward[t] * e).clamp(rule.w_min, rule.w_max)
        traces = rule.bump(traces, pre_t, post_t)
    return w, RSTDPState(traces, e)
