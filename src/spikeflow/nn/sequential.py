"""A container that threads each neuron's state through a stack of layers."""

from __future__ import annotations

from torch import Tensor, nn

from spikeflow.errors import UserError
from spikeflow.functional import Trace
from spikeflow.nn.layers import Dropout, TimeDistributed
from spikeflow.nn.neuron import Neuron, check_input


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

    ``forward(x, state=None) -> (out, state)``: ``state`` is a list with one entry per layer (``None``
    for stateless layers), so a stream can be continued chunk by chunk.

    Example::

        net = sf.nn.Sequential(nn.Linear(64, 100), sf.nn.LIF(beta=0.9), nn.Linear(100, 10), sf.nn.LIF())
        spikes, state = net(x)            # x: [T, B, 64] -> spikes: [T, B, 10]
    """

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        if not layers:
            raise UserError("layers=() is not valid; expected at least one layer")
        self.layers = nn.ModuleList(_wrap(layer) for layer in layers)

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

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        check_input(x)
        states = self._check_state(state)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Neuron | Sequential):
                x, states[i] = layer(x, states[i])
            else:
                x = layer(x)
        return x, states

    def trace(self, x: Tensor, state: list | None = None) -> list[Tensor | Trace | list]:
        """Every layer's output for ``x``: a :class:`~spikeflow.functional.Trace` (spikes and
        pre-reset membrane) for neuron layers, the output tensor for the others."""
        check_input(x)
        states = self._check_state(state)
        records: list = []
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Neuron):
                record = layer.trace(x, states[i])
                x = record.spikes
            elif isinstance(layer, Sequential):
                record = layer.trace(x, states[i])
                x = _last_output(record)
            else:
                record = x = layer(x)
            records.append(record)
        return records


def _last_output(records: list) -> Tensor:
    last = records[-1]
    return last.spikes if isinstance(last, Trace) else last
