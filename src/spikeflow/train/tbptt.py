"""Truncated backpropagation through time in bounded memory.

The loss is that of the whole sequence (the classifier's objective on all ``T`` steps), and the
gradient is truncated: no gradient flows from one segment of ``K`` steps into the state carried
from the previous one. It runs in two passes so that only one segment's activations are held:

1. without gradients, the whole sequence in segments (carrying the state), giving the outputs;
   the loss and its gradient with respect to the outputs come from these;
2. per segment, from the carried state detached, the forward is recomputed with gradients and
   back-propagated with the output gradients of pass 1, accumulating the parameter gradients.

One optimiser step per batch (the caller's). Pass 2 replays the global RNG of pass 1, so dropout
masks are the same in both and the RNG ends where a plain forward would leave it. With
``K >= T`` this is plain backpropagation through time.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial

import torch
from torch import Tensor

from spikeflow.models.classifier import ClassifierOutput, SpikingClassifier
from spikeflow.nn.segments import check_segment_length, detach_state, refuse_time_coupled


def tbptt_step(
    model: SpikingClassifier,
    x: Tensor,
    objective: Callable[[ClassifierOutput], Tensor],
    every: int,
    *,
    weight: float = 1.0,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
) -> tuple[Tensor, ClassifierOutput]:
    """Accumulate the truncated gradient of ``objective(model(x)) * weight`` into ``.grad``.

    Arguments:
        model: the classifier (in training mode; batch norm over time is refused).
        x: the input ``[T, B, ...]``.
        objective: the loss of a whole-sequence output, a scalar tensor.
        every: ``K``, steps per segment (no gradient crosses a segment boundary).
        weight: factor on the loss for the gradient (e.g. a data-parallel share).
        autocast: context for the forward passes (e.g. ``torch.autocast``).

    Returns:
        ``(loss, output)``, both detached.
    """
    check_segment_length("tbptt", every)
    refuse_time_coupled(model, "tbptt")
    segment = partial(model.segment, total_steps=x.shape[0])
    rng = torch.get_rng_state()
    pieces, state = [], model.initial_state()
    with torch.no_grad(), autocast():
        for lo in range(0, x.shape[0], every):
            outputs, state = segment(x[lo : lo + every], state)
            pieces.append(outputs)
    leaves = [torch.cat(parts).requires_grad_() for parts in zip(*pieces, strict=True)]
    out = model.collect(tuple(leaves))
    loss = objective(out)
    grads = torch.autograd.grad(loss * weight, leaves, allow_unused=True)
    split = [
        g.split([p[i].shape[0] for p in pieces]) if g is not None else [None] * len(pieces)
        for i, g in enumerate(grads)
    ]
    after = torch.get_rng_state()
    torch.set_rng_state(rng)
    state = model.initial_state()
    for k, lo in enumerate(range(0, x.shape[0], every)):
        with autocast():
            outputs, state = segment(x[lo : lo + every], state)
        pairs = [
            (o, g[k])
            for o, g in zip(outputs, split, strict=True)
            if g[k] is not None and o.requires_grad
        ]
        if pairs:
            torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        state = detach_state(state)
    torch.set_rng_state(after)
    return loss.detach(), model.collect(tuple(leaf.detach() for leaf in leaves))
