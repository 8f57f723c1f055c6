"""Atomic file writes: a file appears complete or not at all, even if the process is killed.

Every artefact spikeflow writes (checkpoints, configs, metrics, plots) goes through here.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, then rename it over.

    Arguments:
        path: the file to write; parent directories are created.
        write: writes the content to a binary handle (its return value is ignored).

    Returns:
        ``path``, which holds the old content or the new, never a part.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Arguments:
        path: the file. text: its content.

    Returns:
        ``path``.
    """
    return write_atomic(path, lambda h: h.write(text.encode()))


def finite_json(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by ``None`` (JSON ``null``): JSON has no
    NaN or Infinity, and a reader of ``NaN`` fails."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_json(v) for v in obj]
    return obj


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically; NaN and infinities become ``null``.

    Arguments:
        path: the file. obj: JSON-able values (dicts, lists, numbers, strings).

    Returns:
        ``path``.
    """
    text = json.dumps(finite_json(obj), indent=2, sort_keys=False, allow_nan=False)
    return write_text(path, text + "\n")
