"""Delta (send-on-delta) coding: spikes mark threshold crossings of a changing signal."""

from __future__ import annotations

import torch

from spikeflow.errors import (
    UserError,
    check_choice,
    check_finite,
    check_floating,
    check_min_dims,
    check_number,
)

DELTA_STARTS = ("first", "zero")


def delta(
    x: torch.Tensor,
    *,
    threshold: float = 0.1,
    channels: bool = True,
    start: str = "first",
) -> torch.Tensor:
    """Encode a time-varying signal as ON/OFF events, as an event camera pixel does.

    Each element keeps a reference level ``r``. At every step ``t`` it compares the signal with
    that reference: an ON event when ``x[t] - r >= threshold``, an OFF event when
    ``r - x[t] >= threshold``; after an event the reference jumps to ``x[t]``. Because the change
    accumulates against the reference rather than against the previous sample, a slow drift
    still produces an event once it has added up to ``threshold``. At most one event per element
    and step.

    Arguments:
        x: signal ``[T, B, ...]``, floating and finite.
        threshold: change needed for an event (``> 0``), in the units of ``x``.
        channels: if true, return ON and OFF events as two channels ``[T, B, 2, ...]``
            (channel 0 ON, channel 1 OFF, like the polarity axis of event frames); if false,
            return one signed tensor ``[T, B, ...]`` with +1 for ON, -1 for OFF.
        start: initial reference: ``"first"`` uses ``x[0]`` (no event at step 0, only changes
            count), ``"zero"`` uses 0 (the onset of the signal itself produces events).

    Returns:
        Events of ``x``'s dtype, ``[T, B, 2, ...]`` or ``[T, B, ...]`` as described above.

    Example:
        >>> x = torch.tensor([0.0, 0.05, 0.12, 0.12, 0.0]).reshape(5, 1)
        >>> delta(x, threshold=0.1, channels=False).flatten()
        tensor([ 0.,  0.,  1.,  0., -1.])
    """
    check_floating("x", x)
    check_min_dims("x", x, 2, "[T, B, ...]")
    check_finite("x", x)
    threshold = check_number("threshold", threshold, positive=True)
    check_choice("start", start, DELTA_STARTS)
    if not isinstance(channels, bool):
        raise UserError(f"channels={channels!r} is not valid; expected True or False")
    reference = x[0].clone() if start == "first" else torch.zeros_like(x[0])
    on = torch.zeros_like(x)
    off = torch.zeros_like(x)
    for t in range(x.shape[0]):
        change = x[t] - reference
        on[t] = (change >= threshold).to(x.dtype)
        off[t] = (change <= -threshold).to(x.dtype)
        reference = torch.where(on[t].bool() | off[t].bool(), x[t], reference)
    if channels:
        return torch.stack((on, off), dim=2)
    return on - off
