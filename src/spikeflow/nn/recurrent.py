"""Recurrent spiking layers: a neuron fed back its own spikes through a learnable weight."""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import Tensor, nn

from spikeflow.errors import UserError, check_choice, check_positive_int
from spikeflow.functional import RecurrentParams, RecurrentState, recurrent_step
from spikeflow.kernels.recurrent_fused import multi_step_recurrent
from spikeflow.nn.lif import LIF
from spikeflow.nn.neuron import Neuron, ThresholdNeuron
from spikeflow.nn.synaptic import Synaptic

CONNECTIVITY = ("dense", "one_to_one")


class Recurrent(Neuron):
    """Wrap a neuron so that its input at step ``t`` includes its spikes of step ``t - 1``::

        x_eff[t] = x[t] + s[t-1] @ W.T      (connectivity="dense", W: [N, N])
        x_eff[t] = x[t] + s[t-1] * w        (connectivity="one_to_one", w: [N])

    Arguments:
        neuron: the inner neuron module (its dynamics, threshold, reset, surrogate are used).
        size: number of neurons ``N`` (the last input dimension).
        connectivity: ``"dense"`` or ``"one_to_one"``.
        learn_recurrent: make the recurrent weight learnable (default True).

    Dense weights start like ``nn.Linear`` (uniform in ``+-1/sqrt(N)``); one-to-one weights uniform in
    ``[-0.5, 0.5]``. The state is :class:`~spikeflow.functional.RecurrentState` (inner state, last spikes).
    """

    step_fn = staticmethod(recurrent_step)
    state_cls = RecurrentState
    weight: Tensor

    def __init__(
        self,
        neuron: ThresholdNeuron,
        size: int,
        connectivity: str = "dense",
        *,
        learn_recurrent: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int("size", size)
        check_choice("connectivity", connectivity, CONNECTIVITY)
        self.neuron = neuron
        self.size = size
        self.connectivity = connectivity
        if connectivity == "dense":
            bound = 1 / math.sqrt(size)
            w = torch.empty(size, size).uniform_(-bound, bound)
        else:
            w = torch.empty(size).uniform_(-0.5, 0.5)
        if learn_recurrent:
            self.weight = nn.Parameter(w)
        else:
            self.register_buffer("weight", w)

    def params(self) -> RecurrentParams:
        return RecurrentParams(self.weight, type(self.neuron).step_fn, self.neuron.params())

    def initial_state(self, x_t: Tensor) -> RecurrentState:
        return RecurrentState(self.neuron.initial_state(x_t), torch.zeros_like(x_t))

    def check_params(self, x_t: Tensor) -> None:
        self.neuron.check_params(x_t)

    def _fused(self, x: Tensor, state: tuple, params: tuple) -> tuple[Tensor, tuple] | None:
        """The fused recurrent kernel where it applies (the inner neuron's ``backend``, see
        :mod:`spikeflow.kernels.recurrent_fused`); ``None`` for an empty input or another kind."""
        kind = self.neuron.kind
        if not kind or x.numel() == 0:
            return None
        # a RecurrentState: _prepare checked it against state_cls, or initial_state made it
        return multi_step_recurrent(
            kind, x, cast(RecurrentState, state), params, self.neuron.backend
        )

    def _prepare(self, x_t: Tensor, state: tuple | None) -> tuple:
        if x_t.shape[-1] != self.size:
            raise UserError(
                f"x has {x_t.shape[-1]} features in its last dim; expected size={self.size}"
            )
        return super()._prepare(x_t, state)

    def extra_repr(self) -> str:
        return f"size={self.size}, connectivity={self.connectivity!r}"


class RLIF(Recurrent):
    """Recurrent LIF layer: ``RLIF(size, connectivity="dense", **LIF arguments)``."""

    def __init__(
        self, size: int, connectivity: str = "dense", *, learn_recurrent: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(LIF(**kwargs), size, connectivity, learn_recurrent=learn_recurrent)


class RSynaptic(Recurrent):
    """Recurrent current-based LIF: ``RSynaptic(size, connectivity, **Synaptic arguments)``."""

    def __init__(
        self, size: int, connectivity: str = "dense", *, learn_recurrent: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(Synaptic(**kwargs), size, connectivity, learn_recurrent=learn_recurrent)
