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

from collections.abc import Callable

import torch
from torch import Tensor

from spikeflow import encode
from spikeflow.deprecation import renamed_kwargs
from spikeflow.errors import UserError, check_positive_int
from spikeflow.registry import Registry
from spikeflow.train.batches import derive_seed

BatchEncoder = Callable[[Tensor, int, float, int, "Tensor | None"], Tensor]


@renamed_kwargs(steps="num_steps")
def sample_uniform(
    key: int,
    index: Tensor,
    num_steps: int,
    shape: tuple[int, ...],
    device: torch.device | str = "cpu",
) -> Tensor:
    """Uniform numbers in ``[0, 1)``: sample ``b``'s block ``[:, b]`` is drawn from a generator
    seeded by ``(key, index[b])`` alone.

    Arguments:
        key: a non-negative integer, e.g. from :func:`spikeflow.train.batches.derive_seed`.
        index: ``[B]`` integer sample indices (the position of each sample in its dataset).
        num_steps: ``T``, the number of time steps.
        shape: the shape of one sample.
        device: where to draw them.

    Returns:
        ``[T, B, *shape]`` float32 on ``device``.
    """
    check_positive_int("num_steps", num_steps)
    if not isinstance(key, int) or key < 0:
        raise UserError(f"key={key!r} is not valid; expected a non-negative integer")
    ids = [int(i) for i in index.tolist()]
    out = torch.empty(len(ids), num_steps, *shape, device=device)
    g = torch.Generator(device=device)
    for row, i in zip(out, ids, strict=True):
        g.manual_seed(derive_seed(key, i))
        torch.rand(row.shape, generator=g, device=device, out=row)
    return out.transpose(0, 1)


def _direct(x: Tensor, num_steps: int, gain: float, key: int, index: Tensor | None) -> Tensor:
    """``gain * x`` as an input current at every step."""
    return (gain * x).unsqueeze(0).expand(num_steps, *x.shape)


def _latency(x: Tensor, num_steps: int, gain: float, key: int, index: Tensor | None) -> Tensor:
    """One spike per value, earlier for larger values (normalised linear latency)."""
    return encode.latency(x.clamp(0, 1), num_steps, normalize=True)


def _rate(x: Tensor, num_steps: int, gain: float, key: int, index: Tensor | None) -> Tensor:
    """Bernoulli spikes with probability ``gain * x``, seeded per sample by ``(key, index)``."""
    prob = gain * x.clamp(0, 1)
    top = float(prob.max()) if prob.numel() else 0.0
    if gain < 0 or top > 1:
        raise UserError(
            f"gain={gain!r} is not valid for rate coding: gain * x reaches {top:g}; expected "
            "a spike probability in [0, 1] (a gain in [0, 1] always works)"
        )
    if index is None:
        index = torch.arange(x.shape[0], device=x.device)
    u = sample_uniform(key, index, num_steps, tuple(x.shape[1:]), x.device)
    # the comparison made contiguous while it is one byte per number, then the spikes in x's dtype
    return (u < prob.unsqueeze(0)).contiguous().to(x.dtype)


#: The encoders of static samples by name: ``fn(x, num_steps, gain, key, index) -> [T, B, ...]``.
ENCODER_REGISTRY: Registry[BatchEncoder] = Registry("encoder", callable, "a callable")
for _name, _fn in (("rate", _rate), ("latency", _latency), ("direct", _direct)):
    ENCODER_REGISTRY.register(_name, _fn)
#: Names of the built-in encoders (the ``encoder`` choices of training).
ENCODERS = ENCODER_REGISTRY.available()


@renamed_kwargs(steps="num_steps")
def encode_batch(
    x: Tensor,
    encoder: str,
    num_steps: int,
    *,
    gain: float = 1.0,
    key: int = 0,
    index: Tensor | None = None,
) -> Tensor:
    """Encode static samples as ``T`` steps of network input.

    Arguments:
        x: samples ``[B, ...]``, values in ``[0, 1]``.
        encoder: a name in :data:`ENCODER_REGISTRY` (``"rate"``, ``"latency"``, ``"direct"``).
        num_steps: ``T``, the number of time steps.
        gain: input scale (rate: spike probability ``gain * x``; direct: current ``gain * x``).
        key: seed of the random spikes of ``rate`` (see :func:`sample_uniform`).
        index: ``[B]`` sample indices (default ``0..B-1``); with ``key`` they fix each sample's
            spikes. ``latency`` and ``direct`` are deterministic.

    Returns:
        ``[T, B, ...]`` in the dtype of ``x``.
    """
    fn = ENCODER_REGISTRY.get(encoder)
    check_positive_int("num_steps", num_steps)
    return fn(x, num_steps, gain, key, index)
