"""SIGINT / SIGTERM during training: finish the current batch, write a checkpoint, exit cleanly."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """While active, the first SIGINT or SIGTERM calls ``request_stop()``; a second SIGINT raises
    :class:`KeyboardInterrupt` at once. Previous handlers are restored on exit. Outside the main
    thread (where handlers cannot be set) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def handler(signum: int, frame: object) -> None:
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signum)
        request_stop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
