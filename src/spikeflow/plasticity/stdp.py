"""Spike-timing-dependent plasticity over plain tensors: pair-based and triplet rules with traces.

Works on any spike trains (a ``spikeflow.nn`` layer's input and output, or a simulator's
recording) and on the simulator's synapses (pass the rule as ``Synapses(..., stdp=rule)``; the
compiled engine applies exactly the same update). Time in ms.

Traces (per presynaptic neuron ``x1, x2``, per postsynaptic neuron ``y1, y2``) decay with
``tau_plus, tau_x`` and ``tau_minus, tau_y``; a spike adds 1 (``pairing="all"``) or sets the
trace to 1 (``pairing="nearest"``). At every step, with traces taken after this step's decay
and before this step's spikes are added:

    presynaptic spike:  w <- w - y1 * (a_minus + a3_minus * x2)     (depression)
    postsynaptic spike: w <- w + x1 * (a_plus + a3_plus * y2)       (potentiation)

With ``a3_plus = a3_minus = 0`` this is the pair rule: a pre spike at ``t_pre`` and a post spike
at ``t_post > t_pre`` change ``w`` by ``a_plus * exp(-(t_post - t_pre) / tau_plus)``, and by
``-a_minus * exp(-(t_pre - t_post) / tau_minus)`` when ``t_pre > t_post``; simultaneous spikes
contribute nothing. With the triplet terms it is the rule of Pfister & Gerstner (2006).
``mode="multiplicative"`` scales depression by ``w - w_min`` and potentiation by ``w_max - w``
(soft bounds); in both modes weights are clipped to ``[w_min, w_max]``. Depression is applied
before potentiation within a step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from spikeflow.errors import UserError, check_choice, check_range

MODES = ("additive", "multiplicative")
PAIRINGS = ("all", "nearest")


class STDPState(NamedTuple):
    """Traces: ``x1, x2`` ``[B, N_pre]`` and ``y1, y2`` ``[B, N_post]``."""

    x1: torch.Tensor
    x2: torch.Tensor
    y1: torch.Tensor
    y2: torch.Tensor


@dataclass(frozen=True)
class STDP:
    """A pair or triplet STDP rule (see the module docstring for the update).

    Arguments:
        tau_plus: time constant (ms) of the fast presynaptic trace.
        tau_minus: time constant (ms) of the fast postsynaptic trace.
        a_plus: pair potentiation amplitude (>= 0).
        a_minus: pair depression amplitude (>= 0).
        tau_x: time constant (ms) of the slow presynaptic trace (triplet term).
        tau_y: time constant (ms) of the slow postsynaptic trace (triplet term).
        a3_plus: triplet potentiation amplitude (>= 0); 0 gives the pair rule.
        a3_minus: triplet depression amplitude (>= 0); 0 gives the pair rule.
        w_min: lower weight bound.
        w_max: upper weight bound.
        mode: ``"additive"`` or ``"multiplicative"``.
        pairing: ``"all"`` or ``"nearest"``.
    """

    tau_plus: float = 20.0
    tau_minus: float = 20.0
    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_x: float = 101.0
    tau_y: float = 125.0
    a3_plus: float = 0.0
    a3_minus: float = 0.0
    w_min: float = 0.0
    w_max: float = 1.0
    mode: str = "additive"
    pairing: str = "all"

    def __post_init__(self) -> None:
        for name in ("tau_plus", "tau_minus", "tau_x", "tau_y"):
            check_range(name, getattr(self, name), 0.0, low_open=True)
        for name in ("a_plus", "a_minus", "a3_plus", "a3_minus"):
            check_range(name, getattr(self, name), 0.0)
        if not self.w_max > self.w_min:
            raise UserError(f"w_max={self.w_max!r} must exceed w_min={self.w_min!r}")
        check_choice("mode", self.mode, MODES)
        check_choice("pairing", self.pairing, PAIRINGS)

    def decays(self, dt: float) -> tuple[float, float, float, float]:
        """Per-step decay factors of ``x1, x2, y1, y2``."""
        check_range("dt", dt, 0.0, low_open=True)
        x1, x2, y1, y2 = (
            math.exp(-dt / t) for t in (self.tau_plus, self.tau_x, self.tau_minus, self.tau_y)
        )
        return x1, x2, y1, y2

    def engine_params(self, dt: float) -> np.ndarray:
        """The numbers the simulator's engines read for this rule at step ``dt`` (ms), in the
        order the simulator owns (``spikeflow.sim.layout.SP_*``)."""
        from spikeflow.sim.plastic_rows import stdp_row  # the simulator imports this module

        return stdp_row(self, dt)

    def initial_state(self, batch: int, n_pre: int, n_post: int, like: torch.Tensor) -> STDPState:
        zx = like.new_zeros((batch, n_pre))
        zy = like.new_zeros((batch, n_post))
        return STDPState(zx, zx.clone(), zy, zy.clone())

    def decay(self, state: STDPState, dt: float) -> STDPState:
        d = self.decays(dt)
        return STDPState(*(s * f for s, f in zip(state, d, strict=True)))

    def bump(self, state: STDPState, pre_t: torch.Tensor, post_t: torch.Tensor) -> STDPState:
        """Add this step's spikes to the traces."""
        if self.pairing == "nearest":
            x1, x2 = (torch.where(pre_t > 0, torch.ones_like(x), x) for x in state[:2])
            y1, y2 = (torch.where(post_t > 0, torch.ones_like(y), y) for y in state[2:])
            return STDPState(x1, x2, y1, y2)
        return STDPState(state.x1 + pre_t, state.x2 + pre_t, state.y1 + post_t, state.y2 + post_t)

    def terms(
        self, pre_t: torch.Tensor, post_t: torch.Tensor, state: STDPState
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (bound-free) potentiation and depression of one step, each ``[N_post, N_pre]``,
        summed over the batch; ``state`` holds the traces after decay, before this step's spikes.
        """
        x1, x2, y1, y2 = state
        dep = torch.einsum("bi,bj->ji", pre_t * (self.a_minus + self.a3_minus * x2), y1)
        pot = torch.einsum("bi,bj->ji", x1, post_t * (self.a_plus + self.a3_plus * y2))
        return pot, dep

    def apply(self, w: torch.Tensor, pot: torch.Tensor, dep: torch.Tensor) -> torch.Tensor:
        """Depress then potentiate ``w`` ``[N_post, N_pre]``, with the rule's bounds."""
        if self.mode == "multiplicative":
            dep = dep * (w - self.w_min)
        w = (w - dep).clamp(self.w_min, self.w_max)
        if self.mode == "multiplicative":
            pot = pot * (self.w_max - w)
        return (w + pot).clamp(self.w_min, self.w_max)

    def step(
        self,
        w: torch.Tensor,
        pre_t: torch.Tensor,
        post_t: torch.Tensor,
        state: STDPState,
        dt: float,
    ) -> tuple[torch.Tensor, STDPState]:
        """One step: ``pre_t`` ``[B, N_pre]``, ``post_t`` ``[B, N_post]`` (0/1), ``w`` as above."""
        state = self.decay(state, dt)
        pot, dep = self.terms(pre_t, post_t, state)
        return self.apply(w, pot, dep), self.bump(state, pre_t, post_t)

    def run(
        self,
        w: torch.Tensor,
        pre: torch.Tensor,
        post: torch.Tensor,
        dt: float,
        state: STDPState | None = None,
    ) -> tuple[torch.Tensor, STDPState]:
        """Apply the rule over spike trains ``pre`` ``[T, B, N_pre]`` and ``post`` ``[T, B, N_post]``.

        ``w`` is ``[N_post, N_pre]`` (the layout of ``torch.nn.Linear.weight``); the updates of
        all batch entries are summed at each step. Returns the new weights and the traces, to
        continue on the next stretch. The input ``w`` is not modified.
        """
        check_trains(pre, post, w)
        if state is None:
            state = self.initial_state(pre.shape[1], pre.shape[2], post.shape[2], w)
        for t in range(pre.shape[0]):
            w, state = self.step(w, pre[t].to(w.dtype), post[t].to(w.dtype), state, dt)
        return w, state


def check_trains(pre: torch.Tensor, post: torch.Tensor, w: torch.Tensor) -> None:
    """``pre`` ``[T, B, N_pre]``, ``post`` ``[T, B, N_post]``, ``w`` ``[N_post, N_pre]``."""
    if pre.dim() != 3 or post.dim() != 3 or pre.shape[:2] != post.shape[:2]:
        raise UserError(
            f"pre and post must be [T, B, N] with equal T and B; got {tuple(pre.shape)} and "
            f"{tuple(post.shape)}"
        )
    if w.shape != (post.shape[2], pre.shape[2]):
        raise UserError(
            f"w has shape {tuple(w.shape)}; expected [N_post, N_pre] = "
            f"[{post.shape[2]}, {pre.shape[2]}]"
        )
    if not w.is_floating_point():
        raise UserError(f"w has dtype {w.dtype}; expected a floating dtype")
