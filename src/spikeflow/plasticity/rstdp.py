"""Reward-modulated STDP: STDP changes collect in an eligibility trace, a reward turns them into
weight changes (Izhikevich 2007; Florian 2007).

Per step, with the STDP rule's potentiation and depression terms ``pot, dep`` (see
:class:`spikeflow.plasticity.STDP`), ``e <- e * exp(-dt / tau_e) + pot - dep`` and
``w <- clip(w + lr * r[t] * e, w_min, w_max)`` with the reward ``r[t]``. Time in ms.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from spikeflow.errors import UserError, check_range
from spikeflow.plasticity.stdp import STDP, STDPState, check_trains


class RSTDPState(NamedTuple):
    """STDP traces and the eligibility trace ``e`` ``[N_post, N_pre]``."""

    traces: STDPState
    eligibility: torch.Tensor


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
    ``[N_post, N_pre]``; returns the new weights and the state to continue from.
    """
    check_trains(pre, post, w)
    check_range("tau_e", tau_e, 0.0, low_open=True)
    check_range("lr", lr, 0.0)
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
