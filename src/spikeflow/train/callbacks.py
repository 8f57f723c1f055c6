"""Callbacks: code of yours that the :class:`~spikeflow.train.trainer.Trainer` calls as it trains.

Subclass :class:`Callback` and override the hooks you need (the others do nothing), then pass
instances as ``Trainer(..., callbacks=[...])``. The trainer calls, in this order::

    on_train_start(trainer)                  when fit() starts (also when it resumes a checkpoint)
    on_batch_end(trainer, epoch, batch)      after every optimiser step; batch counts from 1
    on_epoch_end(trainer, record)            after each full epoch, before its checkpoint is saved
    on_train_end(trainer, status)            when fit() returns: "finished", "early_stopped" or
                                             "interrupted"

``record`` is the epoch's entry of ``trainer.history`` (as in ``metrics.json``: ``epoch`` counted
from 1, ``train_loss``, ``train_accuracy``, ``train_spike_rates``, ``val_*`` when validation runs,
``lr``, ``epoch_time_s``). Under DDP every rank calls every hook at the same point, so a hook may
make collective calls (such as :meth:`Trainer.evaluate`); write files on ``trainer.parallel.is_main``
only. Training stays deterministic and resumable whatever a hook does with the global RNG (the
trainer seeds it per batch), as long as the hook does not change the model, the optimiser or the
data. Example, stopping a run after 100 optimiser steps (it saves a checkpoint to resume)::

    class StopAfter(Callback):
        def __init__(self, steps):
            self.steps = steps

        def on_batch_end(self, trainer, epoch, batch):
            self.steps -= 1
            if self.steps == 0:
                trainer.request_stop()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from spikeflow.errors import UserError

if TYPE_CHECKING:
    from spikeflow.train.trainer import Trainer


class Callback:
    """Base class of trainer callbacks: every hook does nothing until overridden."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Called when :meth:`Trainer.fit` starts.

        Arguments:
            trainer: the trainer; ``trainer.epoch`` / ``trainer.batch`` are where it starts
                (non-zero when it continues a checkpoint).
        """

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int) -> None:
        """Called after every training batch (optimiser step).

        Arguments:
            trainer: the trainer.
            epoch: the epoch, counted from 0.
            batch: the batches done in this epoch, counted from 1.
        """

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """Called after every full epoch, before its checkpoint is written.

        Arguments:
            trainer: the trainer (``trainer.epoch`` already counts this epoch).
            record: the epoch's metrics, the last entry of ``trainer.history``.
        """

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        """Called when :meth:`Trainer.fit` returns.

        Arguments:
            trainer: the trainer.
            status: ``"finished"``, ``"early_stopped"`` or ``"interrupted"``.
        """


def check_callbacks(callbacks: Sequence[Any]) -> list[Callback]:
    """The callbacks as a list, each checked to be a :class:`Callback`.

    Arguments:
        callbacks: what the user passed.

    Returns:
        The list; anything else raises a :class:`~spikeflow.errors.UserError` naming it.
    """
    out = list(callbacks)
    for i, cb in enumerate(out):
        if not isinstance(cb, Callback):
            raise UserError(
                f"callbacks[{i}]={cb!r} is not valid; expected a spikeflow.train.Callback "
                "(subclass it and override on_train_start / on_batch_end / on_epoch_end / "
                "on_train_end)"
            )
    return out
