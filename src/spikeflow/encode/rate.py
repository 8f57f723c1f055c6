"""Rate coding: each value sets the probability of a spike at every time step."""

from __future__ import annotations

import torch

from spikeflow.errors import (
    UserError,
    check_choice,
    check_finite,
    check_floating,
    check_min_dims,
    check_num_steps,
    check_number,
    check_values_in,
)

RATE_METHODS = ("bernoulli", "poisson")


def rate(
    x: torch.Tensor,
    num_steps: int | None = None,
    *,
    method: str = "bernoulli",
    gain: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Encode intensities as random spike trains whose rate follows the intensity.

    With ``method="bernoulli"`` each element spikes at each step independently with probability
    ``p = gain * x``, which must lie in ``[0, 1]``; the expected spike count over ``T`` steps is
    ``T * p``.

    With ``method="poisson"``, ``lam = gain * x >= 0`` is the intensity of a Poisson process in
    events per time step (for a rate ``r`` in Hz and a step ``dt`` in s, ``lam = r * dt``). A step
    holds a spike when at least one event of the process falls in it, so the spike probability
    is ``1 - exp(-lam)``: the exact binary sampling of a Poisson spike train, which never
    exceeds one spike per step and stays valid for large ``lam``.

    Arguments:
        x: intensities, a floating tensor. With ``num_steps`` given, ``x`` is static, ``[B, ...]``,
            and the same intensity is used at every step; with ``num_steps=None``, ``x`` is
            already time-major, ``[T, B, ...]``, and may vary over time.
        num_steps: number of time steps ``T`` to generate (a positive int), or ``None``.
        method: ``"bernoulli"`` or ``"poisson"``.
        gain: factor applied to ``x`` before sampling (``>= 0``).
        generator: a seeded :class:`torch.Generator` on ``x``'s device for reproducible spikes.

    Returns:
        Spikes ``[T, B, ...]`` of ``x``'s dtype and device, with values 0 or 1.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> spikes = rate(torch.full((2, 3), 0.25), num_steps=100, generator=g)
        >>> spikes.shape
        torch.Size([100, 2, 3])
    """
    check_floating("x", x)
    check_choice("method", method, RATE_METHODS)
    gain = check_number("gain", gain)
    if gain < 0:
        raise UserError(f"gain={gain!r} is not valid; expected a value >= 0")
    if num_steps is None:
        check_min_dims("x", x, 2, "[T, B, ...] (or pass num_steps for a static [B, ...] input)")
        intensity = x * gain
    else:
        steps = check_num_steps(num_steps)
        check_min_dims("x", x, 1, "[B, ...]")
        intensity = (x * gain).unsqueeze(0).expand(steps, *x.shape)
    if method == "bernoulli":
        check_values_in("gain * x (spike probability)", intensity, 0.0, 1.0)
        prob = intensity
    else:
        check_finite("gain * x (Poisson intensity)", intensity)
        if intensity.numel() and float(intensity.min()) < 0:
            raise UserError(
                f"gain * x (Poisson intensity) has minimum {float(intensity.min()):g}; "
                "expected values >= 0"
            )
        prob = -torch.expm1(-intensity)
    return torch.bernoulli(prob.contiguous(), generator=generator)
