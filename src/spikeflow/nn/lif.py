"""Leaky and non-leaky integrate-and-fire modules: :class:`LIF`, :class:`IF`, :class:`PLIF`."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from spikeflow.errors import UserError
from spikeflow.functional import IFParams, LIFParams, LIFState, if_step, lif_step
from spikeflow.nn.neuron import ThresholdNeuron, decay


def zero_lif_state(x_t: Tensor) -> LIFState:
    return LIFState(torch.zeros_like(x_t), torch.zeros_like(x_t))


class LIF(ThresholdNeuron):
    """Leaky integrate-and-fire neuron over a whole spike train.

    Per step: ``v = beta * v_prev + x[t]``; spike ``s = H(v - threshold)``; then reset
    (``"subtract"``: ``v -= s * threshold``; ``"zero"``: ``v = v_reset`` where ``s``; ``"none"``).
    After a spike the neuron ignores input, holds ``v`` and cannot fire for ``refractory`` steps.

    Arguments:
        beta: membrane decay per step in [0, 1] (scalar or per-neuron tensor); or give
        tau: membrane time constant, with ``dt``, for ``beta = exp(-dt / tau)``.
        dt: time step, in the unit of ``tau``.
        learn_beta: make ``beta`` an ``nn.Parameter``.
        **kwargs: ``threshold``, ``reset``, ``v_reset``, ``refractory``, ``surrogate``,
            ``learn_threshold``, ``detach_reset``, ``backend``: see
            :class:`~spikeflow.nn.ThresholdNeuron`.

    Example::

        lif = sf.nn.LIF(beta=0.9)
        spikes, state = lif(torch.rand(25, 8, 100))   # [T, B, N]
    """

    step_fn = staticmethod(lif_step)
    state_cls = LIFState
    kind = "lif"
    beta: Tensor

    def __init__(
        self,
        beta: float | Tensor | None = None,
        *,
        tau: float | None = None,
        dt: float | None = None,
        learn_beta: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if beta is None and tau is None:
            beta = 0.9
        self.register_tensor("beta", decay("beta", beta, tau, dt), learn_beta)

    def params(self) -> LIFParams:
        return LIFParams(self.beta.clamp(0, 1), self.spike_params())

    def initial_state(self, x_t: Tensor) -> LIFState:
        return zero_lif_state(x_t)

    def extra_repr(self) -> str:
        return (
            f"beta={_short(self.beta)}, threshold={_short(self.threshold)}, " + super().extra_repr()
        )


class IF(ThresholdNeuron):
    """Integrate-and-fire (no leak): ``v = v_prev + x[t]``; firing, reset and refractory as :class:`LIF`."""

    step_fn = staticmethod(if_step)
    state_cls = LIFState
    kind = "if"

    def params(self) -> IFParams:
        return IFParams(self.spike_params())

    def initial_state(self, x_t: Tensor) -> LIFState:
        return zero_lif_state(x_t)

    def extra_repr(self) -> str:
        return f"threshold={_short(self.threshold)}, " + super().extra_repr()


class PLIF(LIF):
    """Parametric LIF (Fang et al. 2021): the decay is learnt, ``beta = sigmoid(w)``.

    Same dynamics as :class:`LIF` (input is not scaled by ``1 - beta``). ``w`` starts at
    ``logit(beta)``; ``shape`` gives one time constant per neuron (default: one per layer).
    """

    def __init__(
        self,
        beta: float | None = None,
        *,
        tau: float | None = None,
        dt: float | None = None,
        shape: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("learn_beta", True) is not True:
            raise UserError("learn_beta=False is not valid for PLIF; use LIF for a fixed decay")
        super().__init__(beta, tau=tau, dt=dt, **kwargs)
        b = float(self.beta.clamp(1e-6, 1 - 1e-6))
        del self.beta
        self.w = nn.Parameter(torch.full(shape, math.log(b / (1 - b))))

    @property
    def beta(self) -> Tensor:  # type: ignore[override]  # computed from w; LIF's beta tensor is deleted
        return torch.sigmoid(self.w)

    def params(self) -> LIFParams:
        return LIFParams(self.beta, self.spike_params())


def _short(t: Tensor) -> str:
    return f"{t.item():.4g}" if t.numel() == 1 else f"tensor{tuple(t.shape)}"
