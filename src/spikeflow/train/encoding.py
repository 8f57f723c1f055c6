"""Turn a batch of static samples ``[B, ...]`` into the network input ``[T, B, ...]``.

- ``rate``: Bernoulli spikes, probability ``gain * x`` per step (as :func:`spikeflow.encode.rate`).
- ``latency``: one spike per value, earlier for larger values (:func:`spikeflow.encode.latency`).
- ``direct``: the analog value ``gain * x`` as an input current at every step (no sampling); the
  first layer's neurons do the encoding.

The random spikes of a sample depend only on a ``key`` (e.g. mixed from the run's seed and the
epoch) and on the sample's index in its dataset, never on which other samples share its batch:
each sample's spikes come from its own generator, seeded by ``(key, index)``. So a data-parallel
run, whose ranks each see a part of every batch, feeds the network exactly the spikes of a
single-process run.
"""

from __future__ import annotations

import torch
from torch import Tensor

from spikeflow import encode
from spikeflow.errors import UserError, check_choice, check_positive_int
from spikeflow.train.batches import derive_seed

ENCODERS = ("rate", "latency", "direct")


def sample_uniform(
    key: int, index: Tensor, steps: int, shape: tuple[int, ...], device: torch.device | str = "cpu"
) -> Tensor:
    """Uniform numbers in ``[0, 1)``, ``[T, B, *shape]`` float32 on ``device``: sample ``b``'s
    block ``[:, b]`` is drawn from a generator seeded by ``(key, index[b])`` alone.

    Arguments:
        key: a non-negative integer, e.g. from :func:`spikeflow.train.batches.derive_seed`.
        index: ``[B]`` integer sample indices (the position of each sample in its dataset).
        steps: ``T``. shape: the shape of one sample.
    """
    check_positive_int("steps", steps)
    if not isinstance(key, int) or key < 0:
        raise UserError(f"key={key!r} is not valid; expected a non-negative integer")
    ids = [int(i) for i in index.tolist()]
    out = torch.empty(len(ids), steps, *shape, device=device)
    g = torch.Generator(device=device)
    for row, i in zip(out, ids, strict=True):
        g.manual_seed(derive_seed(key, i))
        torch.rand(row.shape, generator=g, device=device, out=row)
    return out.transpose(0, 1)


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
    u = sample_uniform(key, index, steps, tuple(x.shape[1:]), x.device)
    return (u < prob.unsqueeze(0)).to(x.dtype).contiguous()
