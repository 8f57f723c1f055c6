"""Turn a batch of static samples ``[B, ...]`` into the network input ``[T, B, ...]``.

- ``rate``: Bernoulli spikes, probability ``gain * x`` per step (:func:`spikeflow.encode.rate`).
- ``latency``: one spike per value, earlier for larger values (:func:`spikeflow.encode.latency`).
- ``direct``: the analog value ``gain * x`` as an input current at every step (no sampling); the
  first layer's neurons do the encoding.
"""

from __future__ import annotations

import torch
from torch import Tensor

from spikeflow import encode
from spikeflow.errors import check_choice, check_positive_int

ENCODERS = ("rate", "latency", "direct")


def encode_batch(
    x: Tensor, encoder: str, steps: int, *, gain: float = 1.0, generator: torch.Generator | None
) -> Tensor:
    """Encode ``x`` ``[B, ...]`` (values in [0, 1]) as ``[T, B, ...]`` with ``T = steps``."""
    check_choice("encoder", encoder, ENCODERS)
    check_positive_int("timesteps", steps)
    if encoder == "rate":
        return encode.rate(x.clamp(0, 1), steps, gain=gain, generator=generator)
    if encoder == "latency":
        return encode.latency(x.clamp(0, 1), steps, normalize=True)
    return (gain * x).unsqueeze(0).expand(steps, *x.shape)
