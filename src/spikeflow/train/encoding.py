"""Turn a batch of static samples ``[B, ...]`` into the network input ``[T, B, ...]``.

- ``rate``: Bernoulli spikes, probability ``gain * x`` per step (as :func:`spikeflow.encode.rate`).
- ``latency``: one spike per value, earlier for larger values (:func:`spikeflow.encode.latency`).
- ``direct``: the analog value ``gain * x`` as an input current at every step (no sampling); the
  first layer's neurons do the encoding.

The random spikes of a sample depend only on a ``key`` (e.g. mixed from the run's seed and the
epoch) and on the sample's index in its dataset, never on which other samples share its batch:
a counter-based hash of ``(key, sample index, step, element)`` gives each spike's uniform number.
So a data-parallel run, whose ranks each see a part of every batch, feeds the network exactly the
spikes of a single-process run, on any device.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from spikeflow import encode
from spikeflow.errors import UserError, check_choice, check_positive_int

ENCODERS = ("rate", "latency", "direct")

_MASK32 = 0xFFFFFFFF


def _mul32(x: Tensor, c: int) -> Tensor:
    """``(x * c) mod 2**32`` for int64 ``x`` in ``[0, 2**32)``, without int64 overflow."""
    lo, hi = x & 0xFFFF, x >> 16
    return (lo * c + (((hi * c) & 0xFFFF) << 16)) & _MASK32


def _mix32(x: Tensor) -> Tensor:
    """A bijective 32-bit integer hash (xor-shift-multiply, "lowbias32" constants)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def sample_uniform(key: int, index: Tensor, steps: int, shape: tuple[int, ...]) -> Tensor:
    """Uniform numbers in ``[0, 1)``, ``[T, B, *shape]`` float32, a pure function of
    ``(key, index[b], t, element)``.

    Arguments:
        key: a non-negative integer (63 bits are used), e.g. from
            :func:`spikeflow.train.batches.derive_seed`.
        index: ``[B]`` integer sample indices (the position of each sample in its dataset).
        steps: ``T``. shape: the shape of one sample.

    Each value has 24 random bits (the resolution of float32 in ``[0, 1)``).
    """
    check_positive_int("steps", steps)
    if key < 0:
        raise UserError(f"key={key!r} is not valid; expected a non-negative integer")
    index = index.to(torch.int64)
    k0, k1 = key & _MASK32, (key >> 32) & _MASK32
    per_sample = _mix32(_mix32((index & _MASK32) ^ k0) ^ k1)  # [B]
    size = math.prod(shape)
    counter = torch.arange(steps * size, dtype=torch.int64, device=index.device)
    h = _mix32(_mix32(per_sample.view(1, -1, 1) ^ counter.view(steps, 1, size)) ^ k0)
    u = (h >> 8).to(torch.float32) * 2.0**-24
    return u.view(steps, len(index), *shape)


def encode_batch(
    x: Tensor,
    encoder: str,
    steps: int,
    *,
    gain: float = 1.0,
    key: int = 0,
    index: Tensor | None = None,
) -> Tensor:
    """Encode ``x`` ``[B, ...]`` (values in [0, 1]) as ``[T, B, ...]`` with ``T = steps``.

    ``index`` ``[B]`` names the samples (default ``0..B-1``); with ``key`` it fixes the random
    spikes of ``rate`` (see :func:`sample_uniform`). ``latency`` and ``direct`` are deterministic.
    """
    check_choice("encoder", encoder, ENCODERS)
    check_positive_int("timesteps", steps)
    if encoder == "direct":
        return (gain * x).unsqueeze(0).expand(steps, *x.shape)
    if encoder == "latency":
        return encode.latency(x.clamp(0, 1), steps, normalize=True)
    prob = gain * x.clamp(0, 1)
    top = float(prob.max()) if prob.numel() else 0.0
    if gain < 0 or top > 1:
        raise UserError(
            f"gain={gain!r} is not valid for rate coding: gain * x reaches {top:g}; expected "
            "a spike probability in [0, 1] (a gain in [0, 1] always works)"
        )
    if index is None:
        index = torch.arange(x.shape[0], device=x.device)
    u = sample_uniform(key, index.to(x.device), steps, tuple(x.shape[1:]))
    return (u < prob.unsqueeze(0)).to(x.dtype)
