"""Run a stateful function over a sequence in time segments, optionally recomputed in backward.

A segment function ``fn(x_seg, state) -> (outputs, state)`` takes ``x_seg`` ``[K, B, ...]`` and
returns a tuple of time-major tensors (``[K, ...]`` each, concatenated over the segments) and the
state to carry into the next segment. With ``checkpointed=True`` each segment runs under
:func:`torch.utils.checkpoint.checkpoint` (non-reentrant, RNG state preserved): only the carried
states and the outputs are kept, and a segment's activations are recomputed during backward, so
the memory held for backward is that of one segment plus the boundary states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from spikeflow.errors import UserError

SegmentFn = Callable[[Tensor, Any], tuple[tuple[Tensor, ...], Any]]


def check_segment_length(name: str, value: object) -> int | None:
    """``value`` as a segment length in steps (``None``: no segments).

    Arguments:
        name: the argument's name, for the error. value: ``None`` or a positive int.

    Returns:
        ``value``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UserError(f"{name}={value!r} is not valid; expected a positive number of time steps")
    return value


def refuse_time_coupled(module: nn.Module, mode: str) -> None:
    """Raise a :class:`UserError` if ``module`` holds a layer whose output at one step depends on
    the other steps (batch norm in training mode normalises over ``T * B``), which a run split in
    time cannot reproduce.

    Arguments:
        module: the network. mode: what splits time, for the message (e.g. ``"checkpoint_every"``).
    """
    for name, sub in module.named_modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.training:
            raise UserError(
                f"{mode} cannot be used with {type(sub).__name__} ({name}) in training mode: it "
                "normalises over all time steps at once; use a model without batch norm or put "
                "the batch-norm layers in eval mode"
            )


def run_segments(
    fn: SegmentFn, x: Tensor, state: Any, every: int, *, checkpointed: bool
) -> tuple[tuple[Tensor, ...], Any]:
    """Apply ``fn`` to ``x[0:K]``, ``x[K:2K]``, ... carrying the state.

    Arguments:
        fn: the segment function (see the module docstring).
        x: the whole input ``[T, B, ...]``.
        state: the state before the first step (``None`` entries start from rest).
        every: ``K``, steps per segment (the last one may be shorter; ``K >= T``: one segment).
        checkpointed: recompute each segment's activations in backward instead of keeping them.

    Returns:
        ``(outputs concatenated over time, final state)``.
    """
    pieces = []
    for lo in range(0, x.shape[0], every):
        chunk = x[lo : lo + every]
        if checkpointed:
            outputs, state = checkpoint(fn, chunk, state, use_reentrant=False)
        else:
            outputs, state = fn(chunk, state)
        pieces.append(outputs)
    if len(pieces) == 1:
        return tuple(pieces[0]), state
    return tuple(torch.cat(parts) for parts in zip(*pieces, strict=True)), state


def detach_state(state: Any) -> Any:
    """``state`` (nested tuples, named tuples, lists, ``None``) with every tensor detached.

    Arguments:
        state: a network state, e.g. :meth:`SpikingClassifier.initial_state`'s structure.

    Returns:
        The same structure, cut from the graph.
    """
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, list):
        return [detach_state(s) for s in state]
    if isinstance(state, tuple):
        items = [detach_state(s) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    return state
