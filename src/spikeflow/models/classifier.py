"""The common shape of every spiking classifier: a body of layers, then a spiking output layer."""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from spikeflow import nn as snn
from spikeflow.errors import check_positive_int, check_range
from spikeflow.functional import Trace
from spikeflow.models.neurons import NeuronConfig, make_neuron
from spikeflow.nn.segments import run_segments
from spikeflow.nn.sequential import LayerCall, last_output


class ClassifierOutput(NamedTuple):
    """What a classifier returns for input ``[T, B, ...]``.

    Attributes:
        spikes: output spikes ``[T, B, C]``.
        v: output membrane before reset ``[T, B, C]`` (for membrane-based losses and plots).
        rates: firing rate of every spiking layer (spikes per neuron per step, a scalar tensor each,
            differentiable for rate regularisers), hidden layers first, output last.
    """

    spikes: Tensor
    v: Tensor
    rates: tuple[Tensor, ...]


class SpikingClassifier(nn.Module):
    """``body`` (a :class:`spikeflow.nn.Sequential` ending in a layer of ``C`` currents) and
    ``head`` (the output neuron layer). Subclasses only choose the body.

    ``forward(x)`` takes ``x: [T, B, *input_shape]`` and returns a :class:`ClassifierOutput`; every
    call starts from rest (no state is kept between batches).
    """

    def __init__(self, body: snn.Sequential, head: snn.ThresholdNeuron) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x: Tensor) -> ClassifierOutput:
        steps = x.shape[0]
        if self.body.segmented():  # body.checkpoint_every: the whole network, in time segments
            every = self.body.checkpoint_every
            assert every is not None
            outputs, _ = run_segments(
                partial(self.segment, total_steps=steps),
                x,
                self.initial_state(),
                every,
                checkpointed=True,
            )
        else:
            outputs, _ = self.segment(x, self.initial_state(), total_steps=steps)
        return self.collect(outputs)

    def initial_state(self) -> tuple[list, None]:
        """The state at rest: ``(body states, head state)``, for :meth:`segment`."""
        return [None] * len(self.body), None

    def segment(
        self,
        x: Tensor,
        state: tuple[list, Any],
        *,
        total_steps: int,
        apply: LayerCall | None = None,
    ) -> tuple[tuple[Tensor, Tensor, Tensor], tuple[list, Any]]:
        """Run a piece of the sequence, continuing from ``state`` (for segmented training).

        Arguments:
            x: the piece ``[K, B, ...]``. state: ``(body states, head state)`` before it.
            total_steps: ``T``, the length of the whole sequence (rates are per step of it).
            apply: how the body's stateless layers are called (see
                :meth:`spikeflow.nn.Sequential.run`).

        Returns:
            ``((spikes [K, B, C], v [K, B, C], rates [1, L]), state)``: ``rates`` is the piece's
            share of each spiking layer's firing rate; :meth:`collect` sums the pieces.
        """
        body_state, head_state = state
        x, body_state, rates = self.body.run(x, body_state, apply)
        out, head_state = self.head.trace_with_state(x, head_state)
        share = torch.stack([*rates, out.spikes.mean()]) * (x.shape[0] / total_steps)
        return (out.spikes, out.v, share[None]), (body_state, head_state)

    @staticmethod
    def collect(outputs: tuple[Tensor, ...]) -> ClassifierOutput:
        """The :class:`ClassifierOutput` from :meth:`segment` outputs concatenated over time."""
        spikes, v, shares = outputs
        return ClassifierOutput(spikes, v, tuple(shares.sum(0).unbind()))

    def as_sequential(self) -> snn.Sequential:
        """The whole network as one :class:`spikeflow.nn.Sequential` (sharing this model's layers),
        e.g. for :func:`spikeflow.energy.estimate`."""
        return snn.Sequential(*self.body.layers, self.head)

    def spiking_layer_names(self) -> list[str]:
        """A readable name for every spiking layer, in the order of ``ClassifierOutput.rates``."""
        names = []
        for i, layer in enumerate(self.body.layers):
            if isinstance(layer, snn.Neuron):
                names.append(f"{i}:{type(layer).__name__}")
        names.append(f"out:{type(self.head).__name__}")
        return names

    @torch.no_grad()
    def trace(self, x: Tensor) -> list[Trace]:
        """Spikes and membrane of every spiking layer for ``x`` ``[T, B, ...]`` (for plots)."""
        body = self.body.trace(x)
        records = [r for r in body if isinstance(r, Trace)]
        records.append(self.head.trace(last_output(body)))
        return records


def dense_stack(
    width_in: int,
    hidden: tuple[int, ...],
    num_classes: int,
    neuron: NeuronConfig,
    dropout: float,
) -> list[nn.Module]:
    """``[Linear -> neuron (-> Dropout)]`` per hidden width, then ``Linear`` to ``num_classes``
    currents (the output neuron is the classifier's ``head``)."""
    check_range("dropout", dropout, 0, 1, high_open=True)
    layers: list[nn.Module] = []
    for width in hidden:
        check_positive_int("hidden", width)
        layers += [nn.Linear(width_in, width), make_neuron(neuron)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width_in = width
    layers.append(nn.Linear(width_in, num_classes))
    return layers
