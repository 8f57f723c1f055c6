"""Synaptic delays over time-major spike trains: interpolation kernels, causal delay convolution
and exact integer shifts.

A delay ``d`` in ``[0, max_delay]`` steps acts through a kernel over the taps ``k = 0 ..
max_delay`` (``y[t] = sum_k K[k] x[t - k]``), so a delay never reads the future. A learnable
(real) ``d`` is the centre of a Gaussian of width ``sigma`` (normalised over the taps) or of the
linear interpolation between its two neighbouring taps (Hammouamri et al. 2023); an integer
``d`` is a one-hot kernel, i.e. an exact shift.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

KERNELS = ("gaussian", "linear")


def delay_kernel(positions: Tensor, max_delay: int, sigma: float | Tensor, kind: str) -> Tensor:
    """Interpolation weights over the taps ``0 .. max_delay`` for every delay.

    Arguments:
        positions: delays in steps, any shape ``[...]``; clamped to ``[0, max_delay]``.
        max_delay: the largest delay, in steps (the kernel has ``max_delay + 1`` taps).
        sigma: width of the Gaussian, in steps (unused by ``"linear"``).
        kind: ``"gaussian"`` or ``"linear"``.

    Returns:
        ``[..., max_delay + 1]``, each row summing to 1 (tap ``k`` weighs ``x[t - k]``).
    """
    d = positions.clamp(0, max_delay).unsqueeze(-1)
    k = torch.arange(max_delay + 1, dtype=positions.dtype, device=positions.device)
    if kind == "linear":
        return (1 - (k - d).abs()).clamp_min(0)
    # A softmax over the taps is the normalised Gaussian, without underflow for a small sigma.
    return torch.softmax(-0.5 * ((k - d) / sigma) ** 2, dim=-1)


def integer_kernel(delays: Tensor, max_delay: int, dtype: torch.dtype) -> Tensor:
    """One-hot kernels ``[..., max_delay + 1]`` for integer ``delays`` ``[...]`` (an exact shift)."""
    return F.one_hot(delays.long(), max_delay + 1).to(dtype)


def delay_conv(x: Tensor, kernel: Tensor, *, groups: int = 1, bias: Tensor | None = None) -> Tensor:
    """Causal convolution over time: ``y[t, b, o] = sum_i sum_k kernel[o, i, k] x[t - k, b, i]``
    (``x`` is zero before ``t = 0``), plus ``bias[o]``.

    Arguments:
        x: input ``[T, B, I]``.
        kernel: ``[O, I / groups, K]``; tap ``k`` weighs the input ``k`` steps back.
        groups: as ``torch.nn.functional.conv1d`` (``groups = I = O``: one delay per feature).
        bias: ``[O]`` or ``None``.

    Returns:
        ``[T, B, O]``.
    """
    taps = kernel.shape[-1]
    xc = F.pad(x.permute(1, 2, 0), (taps - 1, 0))  # [B, I, T + K - 1]
    y = F.conv1d(xc, kernel.flip(-1), bias, groups=groups)  # [B, O, T]
    return y.permute(2, 0, 1).contiguous()


def shift(x: Tensor, delays: Tensor) -> Tensor:
    """Exact integer delays per feature: ``y[t, b, i] = x[t - delays[i], b, i]`` (0 before ``t =
    0``).

    Arguments:
        x: input ``[T, B, N]``.
        delays: non-negative integer delays ``[N]`` in steps.

    Returns:
        ``[T, B, N]``.
    """
    steps, batch, n = x.shape
    src = torch.arange(steps, device=x.device)[:, None] - delays.to(x.device).long()[None, :]
    index = src.clamp_min(0)[:, None, :].expand(steps, batch, n)
    return torch.where((src >= 0)[:, None, :], x.gather(0, index), 0.0)
