"""The memory a process may still take, and the refusal of an estimate that exceeds it.

Estimates are checked before the large allocations they describe (a simulated network, the
weights and activations of a training run), so that a size too large for the machine is refused
at once, naming the arguments that set it, instead of failing late with a traceback or swapping.
Memory that is only swap does not count: a run that fits only in swap would not finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn

from spikeflow.errors import UserError

GIB = 2**30


def available_bytes() -> int:
    """Memory this process can still take: ``MemAvailable`` of ``/proc/meminfo`` (Linux, swap
    excluded), else the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def device_bytes(device: torch.device) -> int:
    """Memory free on ``device``: the GPU's free memory for CUDA, else :func:`available_bytes`.

    Arguments:
        device: where the allocations will go.
    """
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return available_bytes()


def check_fits(
    what: str,
    needed: float,
    available: int | None = None,
    expected: str = "a smaller network",
) -> None:
    """Raise :class:`UserError` when ``needed`` bytes exceed the available memory.

    Arguments:
        what: what needs the memory, naming the arguments that set its size.
        needed: the estimate in bytes.
        available: the memory to compare with in bytes (default :func:`available_bytes`).
        expected: what to ask for instead, for the message.
    """
    have = available_bytes() if available is None else available
    if needed > have:
        raise UserError(
            f"{what} need about {gib(needed)}, but this machine has {gib(have)} of memory "
            f"available; expected {expected}"
        )


def gib(size: float) -> str:
    """``size`` bytes in GiB for a message: one decimal, or three digits beyond 1000 GiB.

    Arguments:
        size: bytes.
    """
    value = size / GIB
    return f"{value:.1f} GiB" if value < 1000 else f"{value:.3g} GiB"


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an allocation failure (Python's, or torch's on the CPU or a GPU).

    Arguments:
        err: the exception raised.
    """
    text = str(err).lower()
    return isinstance(err, MemoryError) or any(
        words in text
        for words in (
            "out of memory",
            "allocate memory",
            "size calculation overflowed",
            "multiplication overflow",
        )
    )


def parameter_count(build: Callable[[], nn.Module]) -> int | None:
    """The number of parameters of the model ``build()`` makes, counted without allocating them
    (built on the ``meta`` device).

    Arguments:
        build: makes the model.

    Returns:
        The count, or ``None`` for a model that cannot be built on the ``meta`` device (e.g. one
        that reads its tensors' values while it is built).
    """
    try:
        with torch.device("meta"):
            model = build()
    except (RuntimeError, NotImplementedError):
        return None
    return sum(p.numel() for p in model.parameters())
