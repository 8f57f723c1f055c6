"""Current-based synaptic LIF module."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from spikeflow.functional import SynapticParams, SynapticState, synaptic_step
from spikeflow.nn.neuron import ThresholdNeuron, decay


class Synaptic(ThresholdNeuron):
    """Current-based LIF with two states: ``i = alpha i_prev + x[t]; v = beta v_prev + i``.

    Arguments:
        alpha: synaptic-current decay per step in [0, 1] (or ``tau_syn`` with ``dt``).
        beta: membrane decay per step in [0, 1] (or ``tau_mem`` with ``dt``).
        tau_syn: synaptic time constant, with ``dt``, for ``alpha = exp(-dt / tau_syn)``.
        tau_mem: membrane time constant, with ``dt``, for ``beta = exp(-dt / tau_mem)``.
        dt: time step, in the unit of the time constants.
        learn_alpha: make ``alpha`` learnable.
        learn_beta: make ``beta`` learnable.
        **kwargs: the threshold and reset arguments of :class:`~spikeflow.nn.ThresholdNeuron`.
    """

    step_fn = staticmethod(synaptic_step)
    state_cls = SynapticState
    kind = "synaptic"
    alpha: Tensor
    beta: Tensor

    def __init__(
        self,
        alpha: float | Tensor | None = None,
        beta: float | Tensor | None = None,
        *,
        tau_syn: float | None = None,
        tau_mem: float | None = None,
        dt: float | None = None,
        learn_alpha: bool = False,
        learn_beta: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if alpha is None and tau_syn is None:
            alpha = 0.8
        if beta is None and tau_mem is None:
            beta = 0.9
        self.register_tensor("alpha", decay("alpha", alpha, tau_syn, dt), learn_alpha)
        self.register_tensor("beta", decay("beta", beta, tau_mem, dt), learn_beta)

    def params(self) -> SynapticParams:
        return SynapticParams(self.alpha.clamp(0, 1), self.beta.clamp(0, 1), self.spike_params())

    def initial_state(self, x_t: Tensor) -> SynapticState:
        z = torch.zeros_like(x_t)
        return SynapticState(z, z.clone(), z.clone())
