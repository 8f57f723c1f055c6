"""A run directory belongs to one run: :func:`claim` refuses a used directory and a second writer.

The lock is ``fcntl.flock`` on ``DIR/.lock``: the kernel releases it when the holding process ends,
however it ends (a crash or ``kill -9`` included), so a stale lock never blocks a later run.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from spikeflow.errors import UserError

LOCK_NAME = ".lock"


class RunDir:
    """A claimed run directory; :meth:`release` (or leaving the ``with`` block) frees it.

    Arguments:
        path: the directory. handle: the open, locked lock file.
    """

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self._handle = handle

    def release(self) -> None:
        """Unlock (idempotent); the lock file stays, empty of meaning once unlocked."""
        if not self._handle.closed:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim(out_dir: str | Path, *, resume: bool, overwrite: bool) -> RunDir:
    """Create or take ``out_dir`` for one run and lock it against other writers.

    Arguments:
        out_dir: the run directory (created if missing).
        resume: continue the run already in ``out_dir`` (a non-empty directory is expected).
        overwrite: replace whatever ``out_dir`` holds (the caller then rewrites its files).

    Returns:
        the :class:`RunDir`, locked until released or the process ends.

    Raises:
        UserError: ``out_dir`` is a file or cannot be written, holds another run (neither
        ``resume`` nor ``overwrite``), or is locked by a running process.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise UserError(f"out_dir={str(path)!r} is a file; expected a directory for the run")
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle = open(path / LOCK_NAME, "a+b")  # noqa: SIM115 (held until release)
    except OSError as err:
        raise UserError(f"out_dir={str(path)!r} cannot be written ({err.strerror})") from err
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(
            f"out_dir={str(path)!r} is in use by another running spikeflow process; wait for it "
            "to finish or choose another directory"
        ) from None
    used = [p.name for p in path.iterdir() if p.name != LOCK_NAME]
    if used and not (resume or overwrite):
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
        raise UserError(
            f"out_dir={str(path)!r} already holds a run ({', '.join(sorted(used)[:3])}"
            f"{', ...' if len(used) > 3 else ''}); expected an empty or new directory (resume "
            "it with --resume, or replace it with --overwrite)"
        )
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
    except OSError as err:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
        raise UserError(f"out_dir={str(path)!r} cannot be written ({err.strerror})") from err
    return RunDir(path, handle)
