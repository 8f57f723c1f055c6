"""Memory estimates checked before a large allocation, so that a network too large for this
machine is refused at once, with the argument to change, instead of failing (or swapping) later."""

from __future__ import annotations

import os

from spikeflow.errors import UserError

GIB = 2**30


def available_bytes() -> int:
    """Memory this process can still take: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else
    the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(what: str, needed: float, available: int | None = None) -> None:
    """Raise :class:`UserError` when ``needed`` bytes exceed the available memory.

    Arguments:
        what: what needs the memory, naming the argument that sets its size.
        needed: the estimate in bytes.
        available: the memory to compare with (default :func:`available_bytes`).
    """
    have = available_bytes() if available is None else available
    if needed > have:
        raise UserError(
            f"{what} need about {needed / GIB:.1f} GiB, but this machine has {have / GIB:.1f} GiB "
            "of memory available; expected a smaller network"
        )
