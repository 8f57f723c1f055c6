"""A container that threads each neuron's state through a stack of layers."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from spikeflow.errors import UserError
from spikeflow.functional import Trace
from spikeflow.nn.layers import Dropout, TimeDistributed
from spikeflow.nn.neuron import Neuron, check_input
from spikeflow.nn.segments import check_segment_length, refuse_time_coupled, run_segments

#: ``apply(index, layer, x) -> y``: how :meth:`Sequential.run` calls a stateless layer.
LayerCall = Callable[[int, nn.Module, Tensor], Tensor]


def _wrap(layer: nn.Module) -> nn.Module:
    if isinstance(layer, Neuron | TimeDistributed | Dropout | Sequential):
        return layer
    if getattr(layer, "time_major", False):  # handles [T, B, ...] itself (e.g. spiking max-pool)
        return layer
    if isinstance(layer, nn.Dropout):
        return Dropout(layer.p)
    return TimeDistributed(layer)


class Sequential(nn.Module):
    """Layers applied in order to ``[T, B, ...]``; neuron layers keep their own state.

    Plain (stateless) ``torch.nn`` layers are wrapped in :class:`TimeDistributed` automatically, and
    ``nn.Dropout`` becomes a :class:`Dropout` with one mask across time. A module with a class
    attribute ``time_major = True`` takes ``[T, B, ...]`` itself and is left as it is.

    ``forward(x, state=None) -> (out, state)``: ``state`` is a list with one entry per layer (the
    neuron state for neuron layers, the keep-mask for an active :class:`Dropout`, ``None`` for
    stateless layers), so a stream can be continued chunk by chunk with the same dropout mask.

    ``checkpoint_every=K`` bounds the memory held for backward over long sequences: the forward
    runs in time segments of ``K`` steps (the last may be shorter), keeps only the states at the
    segment boundaries, and recomputes each segment's activations during backward
    (:func:`torch.utils.checkpoint.checkpoint`, non-reentrant, RNG state preserved). Outputs and
    gradients equal those of the unsegmented network (up to float rounding), dropout included
    (its mask is drawn once and carried). Batch norm in training mode normalises over all steps
    at once and is refused. Without gradients (``torch.no_grad``) the network runs unsegmented.

    Arguments:
        layers: the layers, applied in order.
        checkpoint_every: ``K`` (steps per segment) or ``None`` (no checkpointing).

    Example::

        net = sf.nn.Sequential(nn.Linear(64, 100), sf.nn.LIF(beta=0.9), nn.Linear(100, 10), sf.nn.LIF())
        spikes, state = net(x)            # x: [T, B, 64] -> spikes: [T, B, 10]
    """

    def __init__(self, *layers: nn.Module, checkpoint_every: int | None = None) -> None:
        super().__init__()
        if not layers:
            raise UserError("layers=() is not valid; expected at least one layer")
        self.layers = nn.ModuleList(_wrap(layer) for layer in layers)
        self.checkpoint_every = checkpoint_every

    @property
    def checkpoint_every(self) -> int | None:
        """Steps per checkpointed time segment, or ``None``."""
        return self._checkpoint_every

    @checkpoint_every.setter
    def checkpoint_every(self, value: int | None) -> None:
        self._checkpoint_every = check_segment_length("checkpoint_every", value)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> nn.Module:
        return self.layers[i]

    def _check_state(self, state: list | None) -> list:
        if state is None:
            return [None] * len(self.layers)
        if len(state) != len(self.layers):
            raise UserError(
                f"state has {len(state)} entries; expected {len(self.layers)} (one per layer)"
            )
        return list(state)

    def segmented(self) -> bool:
        """Whether a forward now runs in checkpointed segments (``checkpoint_every`` set and
        gradients enabled); raises a :class:`UserError` if the network cannot be split in time."""
        if self.checkpoint_every is None or not torch.is_grad_enabled():
            return False
        refuse_time_coupled(self, "checkpoint_every")
        return True

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        check_input(x)
        states = self._check_state(state)
        if not self.segmented():
            out, states, _ = self.run(x, states)
            return out, states

        def segment(chunk: Tensor, carried: list) -> tuple[tuple[Tensor, ...], list]:
            out, carried, _ = self.run(chunk, carried)
            return (out,), carried

        assert self.checkpoint_every is not None
        (out,), states = run_segments(segment, x, states, self.checkpoint_every, checkpointed=True)
        return out, states

    def run(
        self, x: Tensor, states: list, apply: LayerCall | None = None
    ) -> tuple[Tensor, list, list[Tensor]]:
        """One unsegmented pass, also returning each top-level neuron layer's firing rate.

        Arguments:
            x: input ``[T, B, ...]``. states: one entry per layer (see the class docstring).
            apply: ``apply(index, layer, x) -> y`` runs the stateless layers (default
                ``layer(x)``), e.g. to change how their gradients are taken.

        Returns:
            ``(output [T, B, ...], states, rates)``: ``rates`` holds the mean of each neuron
            layer's spikes (a scalar tensor each, differentiable), in layer order.
        """
        states = list(states)
        rates = []
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Neuron):
                x, states[i] = layer(x, states[i])
                rates.append(x.mean())
            elif isinstance(layer, Sequential):
                x, states[i] = layer(x, states[i])
            elif isinstance(layer, Dropout) and layer.active:
                if states[i] is None:
                    states[i] = layer.draw_mask(x)
                x = layer(x, states[i])
            else:
                x = layer(x) if apply is None else apply(i, layer, x)
        return x, states, rates

    def trace(self, x: Tensor, state: list | None = None) -> list[Tensor | Trace | list]:
        """Every layer's output for ``x``: a :class:`~spikeflow.functional.Trace` (spikes and
        pre-reset membrane) for neuron layers, the output tensor for the others."""
        check_input(x)
        states = self._check_state(state)
        records: list = []
        for i, layer in enumerate(self.layers):
            record: Tensor | Trace | list
            if isinstance(layer, Neuron):
                record = layer.trace(x, states[i])
                x = record.spikes
            elif isinstance(layer, Sequential):
                record = layer.trace(x, states[i])
                x = last_output(record)
            else:
                record = x = layer(x)
            records.append(record)
        return records


def last_output(records: list[Tensor | Trace | list]) -> Tensor:
    """The output of the last layer in what :meth:`Sequential.trace` returned.

    Arguments:
        records: the trace records, a nested list for each nested :class:`Sequential`.

    Returns:
        The last layer's output ``[T, B, ...]`` (its spikes, for a neuron layer).
    """
    last = records[-1]
    if isinstance(last, list):
        return last_output(last)
    return last.spikes if isinstance(last, Trace) else last
