"""A simulated sensor moving over a still image: the frames an event camera would see (N-MNIST).

Feed the frames to :func:`spikeflow.encode.delta` to get ON/OFF events.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from spikeflow.deprecation import renamed_kwargs
from spikeflow.errors import UserError, check_number, check_positive_int


@renamed_kwargs(steps="num_steps")
def sensor_motion(image: Tensor, num_steps: int, amplitude: float = 1.0) -> Tensor:
    """The image seen by a sensor moving along a triangle (three saccades).

    The offset visits (0, 0) -> (a, a) -> (2a, 0) -> (0, 0) at constant speed; each frame is
    resampled bilinearly, with zeros outside the image.

    Arguments:
        image: intensities ``[H, W]`` (a floating tensor).
        num_steps: ``T``, the number of frames (the first and the last show the image unmoved).
        amplitude: ``a``, the size of a saccade in pixels.

    Returns:
        Frames ``[T, H * W]``.
    """
    if not isinstance(image, Tensor) or image.dim() != 2 or not image.is_floating_point():
        raise UserError(
            f"image is {getattr(image, 'shape', type(image).__name__)}; expected a float [H, W] tensor"
        )
    check_positive_int("num_steps", num_steps)
    check_number("amplitude", amplitude)
    h, w = image.shape
    corners = torch.tensor([[0.0, 0.0], [amplitude, amplitude], [2 * amplitude, 0.0], [0.0, 0.0]])
    phase = torch.linspace(0.0, 3.0, num_steps)
    leg = phase.floor().clamp(max=2).long()
    frac = (phase - leg).unsqueeze(1)
    offset = corners[leg] * (1 - frac) + corners[leg + 1] * frac  # [T, 2] as (dx, dy)
    theta = torch.zeros(num_steps, 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * offset[:, 0] / w
    theta[:, 1, 2] = -2.0 * offset[:, 1] / h
    grid = F.affine_grid(theta, [num_steps, 1, h, w], align_corners=False)
    frames = F.grid_sample(image.float().expand(num_steps, 1, h, w), grid, align_corners=False)
    return frames.reshape(num_steps, h * w).to(image.dtype)
