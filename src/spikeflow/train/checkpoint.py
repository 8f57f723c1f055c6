"""Checkpoints: one dict of tensors and plain values, written atomically, read with
``torch.load(weights_only=True)`` (no arbitrary code runs when a checkpoint is opened).

Layout (``FORMAT`` version 1)::

    format, version          "spikeflow-checkpoint", 1
    config                   the flat TrainConfig (see spikeflow.train.config.to_dict)
    input_shape, num_classes the data layout the model was built for
    model                    model.state_dict()
    optimizer, scheduler     their state_dicts
    epoch, batch             position: the next batch to run is `batch` of epoch `epoch` (0-based)
    partial                  metric sums of the unfinished epoch
    history                  one dict per finished epoch
    best                     early-stopping record: {"score", "epoch", "model" (state_dict) or None}
    rng                      torch RNG states (CPU, and CUDA when used)
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from spikeflow.atomic import write_atomic
from spikeflow.errors import UserError

FORMAT = "spikeflow-checkpoint"
VERSION = 1
FILENAME = "checkpoint.pt"
#: The keys a run reads to continue or evaluate a checkpoint (see the layout above).
RUN_KEYS = (
    "config",
    "input_shape",
    "num_classes",
    "class_names",
    "model",
    "optimizer",
    "scheduler",
    "epoch",
    "batch",
    "partial",
    "history",
    "best",
)


def save(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus format and version) to ``path`` atomically."""
    full = {"format": FORMAT, "version": VERSION, **payload}
    return write_atomic(path, lambda handle: torch.save(full, handle))


def resolve(path: str | Path) -> Path:
    """A checkpoint file from a path to it or to the run directory holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / FILENAME
    if not path.is_file():
        raise UserError(f"checkpoint {str(path)!r} does not exist")
    return path


def load(
    path: str | Path, map_location: str | torch.device = "cpu", *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save`; a bad file gives a :class:`UserError`.

    Arguments:
        path: the checkpoint file, or the run directory holding it.
        map_location: device for its tensors.
        required: keys the caller reads; a checkpoint missing any is refused, naming them.

    Returns:
        the payload dict (with ``format`` and ``version``).
    """
    path = resolve(path)
    unreadable = (
        f"checkpoint {str(path)!r} cannot be read: it is not a spikeflow training checkpoint "
        "(a file written by torch.save) or it is damaged"
    )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # torch's own message advises weights_only=False: never
        if "Unsupported global" in str(err):
            raise UserError(
                f"checkpoint {str(path)!r} cannot be read: it holds objects other than tensors "
                "and plain data, which spikeflow refuses to load (loading them could run code)"
            ) from err
        raise UserError(unreadable) from err
    # a damaged pickle inside the archive fails in the unpickler with any of these
    except (
        zipfile.BadZipFile,
        RuntimeError,
        EOFError,
        OSError,
        KeyError,
        IndexError,
        ValueError,
    ) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{unreadable}; the reader said: {first}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"checkpoint {str(path)!r} is not a spikeflow training checkpoint")
    if payload.get("version") != VERSION:
        raise UserError(
            f"checkpoint {str(path)!r} has version {payload.get('version')!r}; "
            f"this spikeflow reads version {VERSION}"
        )
    missing = [key for key in required if key not in payload]
    if missing:
        raise UserError(
            f"checkpoint {str(path)!r} lacks the keys {missing}; expected a checkpoint written "
            "by spikeflow with all of " + ", ".join(required)
        )
    return payload


def load_model_state(model: torch.nn.Module, state: dict[str, Any], source: str) -> None:
    """``model.load_state_dict(state)``; a mismatch (another model's weights) is a UserError."""
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise UserError(f"checkpoint {source!r} does not fit this model ({detail[:200]})") from err
