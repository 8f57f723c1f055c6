"""Adaptive LIF module."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from spikeflow.functional import ALIFParams, ALIFState, alif_step
from spikeflow.nn.neuron import ThresholdNeuron, as_tensor, decay


class ALIF(ThresholdNeuron):
    """LIF with an adaptive threshold ``theta = threshold + b``; ``b = rho b_prev + beta_a s``.

    Each spike raises the threshold by ``beta_a``; the increase decays by ``rho`` per step (or give
    ``tau_adapt`` with ``dt``). A ``"subtract"`` reset removes ``theta``. Other arguments as
    :class:`~spikeflow.nn.LIF`.
    """

    step_fn = staticmethod(alif_step)
    state_cls = ALIFState
    kind = "alif"
    beta: Tensor
    rho: Tensor
    beta_a: Tensor

    def __init__(
        self,
        beta: float | Tensor | None = None,
        rho: float | Tensor | None = None,
        beta_a: float | Tensor = 0.1,
        *,
        tau: float | None = None,
        tau_adapt: float | None = None,
        dt: float | None = None,
        learn_beta: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if beta is None and tau is None:
            beta = 0.9
        if rho is None and tau_adapt is None:
            rho = 0.97
        self.register_tensor("beta", decay("beta", beta, tau, dt), learn_beta)
        self.register_buffer("rho", decay("rho", rho, tau_adapt, dt))
        self.register_buffer("beta_a", as_tensor("beta_a", beta_a))

    def params(self) -> ALIFParams:
        return ALIFParams(self.beta.clamp(0, 1), self.rho, self.beta_a, self.spike_params())

    def initial_state(self, x_t: Tensor) -> ALIFState:
        z = torch.zeros_like(x_t)
        return ALIFState(z, z.clone(), z.clone())
