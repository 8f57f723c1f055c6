"""Online training through time (OTTT, Xiao et al., NeurIPS 2022): memory flat in ``T``.

The network runs forward one step at a time, carrying its state with no graph across steps. At
each step ``t`` the instantaneous loss ``L[t] = objective(output of step t held for all T steps)
/ T`` is back-propagated through the layers at that step only, and the gradient of a weight ``W``
feeding a LIF layer of decay ``beta`` is ``dL[t]/du[t] * a[t]``, with the presynaptic eligibility
trace ``a[t] = beta * a[t-1] + s_in[t]`` (the input spikes low-pass filtered with the membrane's
own decay); its bias, a weight on a constant input of one, gets ``dL[t]/du[t] * c[t]`` with
``c[t] = beta * c[t-1] + 1``. This is the gradient of BPTT on ``sum_t L[t]`` when the membrane's
dependence on earlier spikes through the reset and the spikes' dependence on earlier membranes
are ignored (the approximation of the paper); the sum over ``t`` is accumulated into ``.grad``
and the caller makes one optimiser step per batch (OTTT_A in the paper). Memory held: the state,
one trace per weight layer and the (detached) output, whatever ``T`` is.

The loss of a step is the paper's instantaneous loss ``l(o[t])`` on that step's output at the
scale the whole-sequence read-out decodes: the objective sees step ``t`` repeated ``T`` times, so
``rate_ce`` takes the logits ``T * s[t]`` (the count that step's rate stands for), the scale of
the spike-count logits BPTT trains on. Each ``L[t]`` is then the objective of a whole output, and
for a loss convex in the counts (``rate_ce``, ``count_mse``) ``mean_t L[t]`` bounds the
whole-sequence loss that BPTT trains from above (Jensen), with equality when every step's output
is the same. ``objective(output at step t)`` alone (``T = 1``) would be cross-entropy on logits
in ``{0, 1}``, whose softmax gives the true class at most ``e / (e + C - 1)``: a sample already
classified right keeps pulling almost as hard as a wrong one. The held view costs ``O(T)`` per
step in the loss only (``[T, B, C]``, no copy).

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


def bias_excess(layer: nn.Module, out: Tensor, bias_trace: float) -> Tensor | float:
    """What to add to ``layer(trace)`` so that the bias gets ``dL/du * bias_trace``.

    The bias is a weight on a constant input of one, whose trace ``c[t] = beta * c[t-1] + 1``
    (``1, 1 + beta, ...``) is the derivative of the membrane ``u[t]`` with respect to the bias
    (the reset ignored, as for the weights); ``layer(trace)`` holds the bias once.

    Arguments:
        layer: a weight layer (:data:`WEIGHT_LAYERS`, wrapped in ``TimeDistributed``).
        out: ``layer(trace)`` ``[1, B, features]`` or ``[1, B, channels, *spatial]``.
        bias_trace: ``c[t]``, unitless.

    Returns:
        ``(c[t] - 1) * bias`` shaped to broadcast over ``out`` (``0.0`` without a bias).
    """
    inner = layer.layer if isinstance(layer, TimeDistributed) else layer
    bias = getattr(inner, "bias", None)
    if bias is None or bias_trace == 1.0:
        return 0.0
    spatial = out.dim() - 3  # 0 for Linear ([1, B, F]); 1, 2, 3 for Conv1d/2d/3d
    return (bias_trace - 1.0) * bias.reshape(-1, *([1] * spatial))


def online_step(
    model: SpikingClassifier,
    x: Tensor,
    objective: Callable[[ClassifierOutput], Tensor],
    *,
    weight: float = 1.0,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
) -> tuple[Tensor, ClassifierOutput]:
    """Accumulate the OTTT gradient of ``sum_t objective(out[t] held T steps) / T * weight`` into
    ``.grad`` (see the module docstring).

    Arguments:
        model: the classifier (feedforward, LIF/IF neurons, in training mode).
        x: the input ``[T, B, ...]``.
        objective: the loss of an output ``[T, B, C]`` (applied at each step to that step's output
            repeated ``T`` times, and to the whole output for the loss returned).
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
    bias_traces: dict[int, float] = {}

    def apply(i: int, layer: nn.Module, inp: Tensor) -> Tensor:
        if i not in decays:
            return layer(inp)
        spikes_in = inp.detach()
        trace = spikes_in if i not in traces else decays[i] * traces[i] + spikes_in
        traces[i] = trace
        bias_traces[i] = 1.0 if i not in bias_traces else decays[i] * bias_traces[i] + 1.0
        frozen = {name: p.detach() for name, p in layer.named_parameters()}
        value = functional_call(layer, frozen, (inp,))  # input gradient, no weight gradient
        through_trace = layer(trace)  # weight gradient dL/du * trace, no value
        through_trace = through_trace + bias_excess(layer, through_trace, bias_traces[i])
        return value + (through_trace - through_trace.detach())

    state = model.initial_state()
    pieces: list[tuple[Tensor, ...]] = []
    for t in range(steps):
        with autocast():
            (spikes, v, share), state = model.segment(
                x[t : t + 1], state, total_steps=1, apply=apply
            )
        held = (steps, *spikes.shape[1:])  # step t held for all T steps (views, no copies)
        loss_t = objective(
            ClassifierOutput(spikes.expand(held), v.expand(held), tuple(share[0].unbind()))
        )
        if loss_t.requires_grad:
            (loss_t * (weight / steps)).backward()
        state = detach_state(state)
        pieces.append((spikes.detach(), v.detach(), share.detach() / steps))
    out = model.collect(tuple(torch.cat(parts) for parts in zip(*pieces, strict=True)))
    with torch.no_grad():
        loss = objective(out)
    return loss, out
