"""SIGINT / SIGTERM during a run: stop cleanly, say what was kept, never print a traceback.

:func:`stop_on_signals` covers training: the first signal asks the trainer to stop after the
current batch (which then writes a checkpoint); a second Ctrl-C ends the process at once with one
line on stderr (the last checkpoint written stays valid: checkpoints are written atomically).
:func:`interrupt_on_signals` covers work that cannot stop half-way, such as the final
evaluation: either signal raises :class:`KeyboardInterrupt`, for the caller to report.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: The exit code of a run ended by a signal (128 + SIGINT, as shells report Ctrl-C).
INTERRUPTED = 130


@contextmanager
def _handling(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM while active (main thread only; elsewhere nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def stop_on_signals(request_stop: Callable[[], None], last_checkpoint: str = "") -> Iterator[None]:
    """While active, the first SIGINT or SIGTERM calls ``request_stop()``; a second one ends the
    process at once (exit code 130) after one line on stderr naming ``last_checkpoint``. Previous
    handlers are restored on exit. Outside the main thread (where handlers cannot be set) this
    does nothing.

    Arguments:
        request_stop: asks the running loop to stop at its next safe point.
        last_checkpoint: the checkpoint that a second signal leaves in place, for the message.
    """
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if received:
            kept = f"; the last checkpoint is kept: {last_checkpoint}" if last_checkpoint else ""
            sys.stderr.write(f"\ninterrupted again: stopping now without a new checkpoint{kept}\n")
            sys.stderr.flush()
            os._exit(INTERRUPTED)
        received.append(signum)
        request_stop()

    with _handling(handler):
        yield


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """While active, SIGINT and SIGTERM raise :class:`KeyboardInterrupt` (for work that must be
    abandoned and reported rather than finished, e.g. the final evaluation)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with _handling(handler):
        yield
