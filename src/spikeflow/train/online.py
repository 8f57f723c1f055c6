"""Online training through time (OTTT, Xiao et al., NeurIPS 2022): memory flat in ``T``.

The network runs forward one step at a time, carrying its state with no graph across steps. At
each step ``t`` the instantaneous loss ``L[t] = objective(output at step t) / T`` is
back-propagated through the layers at that step only, and the gradient of a weight ``W`` feeding
a LIF layer of decay ``beta`` is ``dL[t]/du[t] * a[t]``, with the presynaptic eligibility trace
``a[t] = beta * a[t-1] + s_in[t]`` (the input spikes low-pass filtered with the membrane's own
decay). This is the gradient of BPTT on ``sum_t L[t]`` when the membrane's dependence on earlier
spikes through the reset and the spikes' dependence on earlier membranes are ignored (the
approximation of the paper); the sum over ``t`` is accumulated into ``.grad`` and the caller
makes one optimiser step per batch (OTTT_A in the paper). Memory held: the state and one trace per
weight layer, whatever ``T`` is.

Weight layers: ``Linear`` and ``ConvNd`` (wrapped in :class:`~spikeflow.nn.TimeDistributed`)
followed, through stateless layers only, by a LIF or IF layer with one scalar decay. Any other
parameter (batch norm in eval mode, a learnt decay) gets its instantaneous gradient. Batch norm in
training mode and recurrent layers are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor, nn
from torch.func import functional_call

from spikeflow.errors import UserError
from spikeflow.models.classifier import ClassifierOutput, SpikingClassifier
from spikeflow.nn import IF, LIF, Neuron, Recurrent, Sequential, TimeDistributed
from spikeflow.nn.segments import detach_state, refuse_time_coupled

#: Layers whose weight gradient is taken through the presynaptic trace.
WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _decay(neuron: Neuron) -> float:
    if isinstance(neuron, IF):
        return 1.0
    if isinstance(neuron, LIF):
        beta = neuron.params().beta.detach()
        if beta.numel() == 1:
            return float(beta)
    raise UserError(
        f"online training cannot trace the input of {type(neuron).__name__} layers; expected "
        "LIF or IF neurons with one scalar decay (neuron='lif' or 'if')"
    )


def trace_decays(model: SpikingClassifier) -> dict[int, float]:
    """The decay of the eligibility trace of each weight layer of ``model.body``.

    Arguments:
        model: the classifier.

    Returns:
        ``{body layer index: beta}``, beta being that of the next neuron layer (body or head).
    """
    decays: dict[int, float] = {}
    waiting: list[int] = []
    for i, layer in enumerate([*model.body.layers, model.head]):
        if isinstance(layer, Recurrent | Sequential):
            raise UserError(
                f"online training does not support {type(layer).__name__} layers (layer {i}); "
                "expected a feedforward model (mlp or cnn)"
            )
        if isinstance(layer, Neuron):
            decays.update(dict.fromkeys(waiting, _decay(layer)))
            waiting = []
        elif isinstance(layer, TimeDistributed) and isinstance(layer.layer, WEIGHT_LAYERS):
            waiting.append(i)
    return decays


def online_step(
    model: SpikingClassifier,
    x: Tensor,
    objective: Callable[[ClassifierOutput], Tensor],
    *,
    weight: float = 1.0,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
) -> tuple[Tensor, ClassifierOutput]:
    """Accumulate the OTTT gradient of ``sum_t objective(out[t]) / T * weight`` into ``.grad``.

    Arguments:
        model: the classifier (feedforward, LIF/IF neurons, in training mode).
        x: the input ``[T, B, ...]``.
        objective: the loss of an output (applied to each single step ``[1, B, C]``).
        weight: factor on the loss for the gradient (e.g. a data-parallel share).
        autocast: context for the forward steps (e.g. ``torch.autocast``).

    Returns:
        ``(loss, output)``, detached: ``objective`` of the whole output ``[T, B, C]`` (the same
        quantity the other modes report) and the output.
    """
    refuse_time_coupled(model, "online")
    decays = trace_decays(model)
    steps = x.shape[0]
    traces: dict[int, Tensor] = {}

    def apply(i: int, layer: nn.Module, inp: Tensor) -> Tensor:
        if i not in decays:
            return layer(inp)
        spikes_in = inp.detach()
        trace = spikes_in if i not in traces else decays[i] * traces[i] + spikes_in
        traces[i] = trace
        frozen = {name: p.detach() for name, p in layer.named_parameters()}
        value = functional_call(layer, frozen, (inp,))  # input gradient, no weight gradient
        through_trace = layer(trace)  # weight gradient dL/du * trace, no value
        return value + (through_trace - through_trace.detach())

    state = model.initial_state()
    pieces: list[tuple[Tensor, ...]] = []
    for t in range(steps):
        with autocast():
            (spikes, v, share), state = model.segment(
                x[t : t + 1], state, total_steps=1, apply=apply
            )
        loss_t = objective(ClassifierOutput(spikes, v, tuple(share[0].unbind())))
        if loss_t.requires_grad:
            (loss_t * (weight / steps)).backward()
        state = detach_state(state)
        pieces.append((spikes.detach(), v.detach(), share.detach() / steps))
    out = model.collect(tuple(torch.cat(parts) for parts in zip(*pieces, strict=True)))
    with torch.no_grad():
        loss = objective(out)
    return loss, out
