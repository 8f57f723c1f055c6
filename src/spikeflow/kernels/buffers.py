"""Host buffers for the CPU kernels, kept for reuse once their tensors are freed.

A training loop asks for the same large buffers every step (the spikes, the input gradient, the
checkpoints). Through ``torch.empty`` or ``malloc`` those come from glibc, which hands memory of
that size back to the kernel whenever the free space at the top of its heap passes its trim
threshold, or serves it from a fresh ``mmap``: the next step then faults in and zero-fills every
page again. On a [100, 64, 1024] LIF step that happened every few dozen steps and cost 8-15 ms of
system time, twice the step itself. A buffer taken from here goes back to a small free list when
its last tensor is freed, and the next request of the same size reuses it: no system call, no
page fault.

What is kept: freed buffers of at least ``MIN_BYTES``, newest first, up to ``limit()`` bytes in
all (oldest dropped first); smaller requests are plain ``torch.empty``. :func:`release` drops
every kept buffer; :func:`set_limit` changes the cap (0 turns keeping off). Buffers in use are never
counted or touched.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
import torch
from torch import Tensor

MIN_BYTES = 1 << 20  # below this, glibc's own bins reuse freed memory without system calls
ALIGN = 64  # bytes: a cache line, as torch aligns its CPU tensors
DEFAULT_LIMIT = 256 << 20

_NUMPY_DTYPES: dict[torch.dtype, np.dtype] = {
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
}


class _Pool:
    """Freed buffers, oldest first, at most ``limit`` bytes in all. A buffer is kept as
    ``(raw uint8 array, address)``: the address is the first 64-byte boundary in it (as torch
    aligns its own tensors: a vector load never straddles two cache lines; ``malloc`` only
    guarantees 16), and reading it back from numpy would cost more than the rest of a request.

    A buffer comes back from ``_Lease.__del__``, which may run in any thread, or in this one in the
    middle of a ``take`` (a garbage collection started by an allocation): the lock is reentrant and
    ``take`` walks a snapshot, so neither can corrupt the list.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: OrderedDict[int, tuple[np.ndarray, int]] = OrderedDict()  # id(raw) -> buffer
        self.kept_bytes = 0
        self.lock = threading.RLock()

    def take(self, nbytes: int) -> tuple[np.ndarray, int]:
        """A buffer of exactly ``nbytes``: a kept one if there is one (the newest: most likely
        still in cache), else a new one."""
        size = nbytes + ALIGN
        with self.lock:
            for key, buf in reversed(list(self.kept.items())):
                if buf[0].nbytes == size and self.kept.pop(key, None) is not None:
                    self.kept_bytes -= size
                    return buf
        raw = np.empty(size, np.uint8)
        return raw, -(-raw.ctypes.data // ALIGN) * ALIGN

    def give(self, buf: tuple[np.ndarray, int]) -> None:
        """Keep ``buf`` for reuse, dropping the oldest kept buffers beyond the limit."""
        with self.lock:
            if buf[0].nbytes <= self.limit:
                self.kept[id(buf[0])] = buf
                self.kept_bytes += buf[0].nbytes
                self.trim(self.limit)

    def trim(self, nbytes: int) -> None:
        """Drop the oldest kept buffers until at most ``nbytes`` are kept."""
        with self.lock:
            while self.kept_bytes > nbytes:
                _, (old, _) = self.kept.popitem(last=False)
                self.kept_bytes -= old.nbytes


_POOL = _Pool(DEFAULT_LIMIT)


class _Lease:
    """Owner of a numpy view of a pooled buffer: when the last array (and with it the last tensor)
    over the view is freed, the buffer goes back to the pool."""

    __slots__ = ("__array_interface__", "buf")

    def __init__(self, buf: tuple[np.ndarray, int], shape: tuple[int, ...], typestr: str) -> None:
        self.buf = buf
        self.__array_interface__ = {
            "shape": shape,
            "typestr": typestr,
            "data": (buf[1], False),
            "version": 3,
        }

    def __del__(self) -> None:
        pool = _POOL  # None once the interpreter tears this module down
        if pool is not None:
            pool.give(self.buf)


def empty(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """An uninitialised CPU tensor of ``shape`` and ``dtype`` (float32 or float64), its data
    aligned to 64 bytes. Buffers of at least ``MIN_BYTES`` come from (and return to) the pool; a
    pooled tensor is a normal CPU tensor, except that its storage cannot be resized in place (it is
    numpy's). Smaller ones are plain ``torch.empty``.
    """
    np_dtype = _NUMPY_DTYPES[dtype]
    nbytes = math.prod(shape) * np_dtype.itemsize
    if nbytes < MIN_BYTES or _POOL.limit == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.from_numpy(np.asarray(_Lease(_POOL.take(nbytes), shape, np_dtype.str)))


def limit() -> int:
    """Bytes of freed buffers kept for reuse at most."""
    return _POOL.limit


def set_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` of freed buffers (0: keep none); drops the oldest beyond it."""
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0:
        raise ValueError(f"nbytes must be an int >= 0, got {nbytes!r}")
    _POOL.limit = nbytes
    _POOL.trim(nbytes)


def kept_bytes() -> int:
    """Bytes of freed buffers held for reuse now."""
    return _POOL.kept_bytes


def release() -> None:
    """Drop every kept buffer (memory goes back to ``malloc``; buffers in use are untouched)."""
    _POOL.trim(0)
