"""Device names shared by training and conversion, and the one resolver that turns them into devices.

``"auto"`` picks CUDA when PyTorch sees a GPU, else the CPU; ``"cuda"`` on a machine without one is
a :class:`~spikeflow.errors.UserError`, not a late CUDA error.
"""

from __future__ import annotations

import torch

from spikeflow.errors import UserError, check_choice

#: The device names a config accepts.
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """The torch device that the device name ``name`` stands for.

    Arguments:
        name: one of :data:`DEVICES`.

    Returns:
        ``torch.device("cuda")`` for ``"cuda"`` (and for ``"auto"`` when a GPU is visible), else
        ``torch.device("cpu")``.
    """
    check_choice("device", name, DEVICES)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device='cuda' is not valid here: no CUDA GPU is visible to PyTorch")
    return torch.device(name)
