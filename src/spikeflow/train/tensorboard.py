"""TensorBoard logging of a training run, as a trainer :class:`~spikeflow.train.callbacks.Callback`.

``spikeflow train --tensorboard [DIR]`` (config keys ``tensorboard``, ``tensorboard_dir``,
``tensorboard_every``) adds a :class:`TensorBoardLogger`. Its tags, each logged at step = the
epoch (counted from 1, as ``epoch`` in ``metrics.json``)::

    train/loss  train/accuracy  val/loss  val/accuracy     every epoch (val: when validation runs)
    lr  epoch_time_s                                        every epoch
    spike_rate/train/LAYER  spike_rate/val/LAYER            every epoch, spikes per neuron per step
    test/loss  test/accuracy  spike_rate/test/LAYER         every ``every`` epochs and the last
    images/raster  images/membrane                          every ``every`` epochs and the last

The values are those of ``metrics.json`` (``epochs`` there; the test metrics of the last epoch
equal its ``test`` when no validation split picks other weights). The images are the raster of the
first test sample through every layer and the membrane of the output neuron of its class. Under
DDP only rank 0 writes; every rank evaluates its share of the test split. A resumed run appends to
the same directory and discards the events of epochs it repeats (TensorBoard's ``purge_step``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikeflow.errors import check_positive_int
from spikeflow.optional import require
from spikeflow.train.callbacks import Callback

if TYPE_CHECKING:
    from spikeflow.train.config import TrainConfig
    from spikeflow.train.trainer import Trainer

#: The log directory inside the run directory when ``tensorboard_dir`` is not given.
DEFAULT_SUBDIR = "tensorboard"


class TensorBoardLogger(Callback):
    """Write a run's metrics and sample images to TensorBoard event files.

    Arguments:
        log_dir: the directory of the event files (created).
        every: log the test metrics and images every ``every`` epochs (and after the last).
    """

    def __init__(self, log_dir: str | Path, every: int = 1) -> None:
        check_positive_int("tensorboard_every", every)
        self._summary = require(
            "torch.utils.tensorboard",
            extra="tensorboard",
            feature="TensorBoard logging (--tensorboard)",
            package="tensorboard",
        )
        self.log_dir = Path(log_dir)
        self.every = every
        self.writer: Any = None

    def on_train_start(self, trainer: Trainer) -> None:
        if not trainer.parallel.is_main:
            return
        # Resuming after epoch k: events of epochs > k written before the stop are dropped.
        purge = trainer.epoch + 1 if trainer.epoch > 0 else None
        self.writer = self._summary.SummaryWriter(str(self.log_dir), purge_step=purge)

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        step = int(record["epoch"])
        scalars = {"lr": record["lr"], "epoch_time_s": record["epoch_time_s"]}
        for split in ("train", "val"):
            if f"{split}_loss" in record:
                scalars.update(_split_scalars(split, record, f"{split}_"))
        due = step % self.every == 0 or step == trainer.cfg.epochs
        if due:  # a collective call under DDP: every rank evaluates its share
            test = trainer.evaluate(trainer.bundle.test).summary("test_")
            scalars.update(_split_scalars("test", test, "test_"))
        if self.writer is None:
            return
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)
        if due:
            from spikeflow.train.report import sample_figures

            raster, membrane = sample_figures(trainer)
            self.writer.add_figure("images/raster", raster, step)
            self.writer.add_figure("images/membrane", membrane, step)
        self.writer.flush()

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _split_scalars(split: str, values: dict[str, Any], prefix: str) -> dict[str, float]:
    """``{split/loss, split/accuracy, spike_rate/split/LAYER}`` from ``prefix``-ed metrics."""
    out = {
        f"{split}/loss": values[f"{prefix}loss"],
        f"{split}/accuracy": values[f"{prefix}accuracy"],
    }
    for layer, rate in values[f"{prefix}spike_rates"].items():
        out[f"spike_rate/{split}/{layer}"] = rate
    return out


def from_config(cfg: TrainConfig, run_dir: str | Path) -> list[Callback]:
    """The tracking callbacks a run's config asks for.

    Arguments:
        cfg: the run's config (``tensorboard``, ``tensorboard_dir``, ``tensorboard_every``).
        run_dir: the run directory (the default log directory is ``run_dir/tensorboard``).

    Returns:
        ``[TensorBoardLogger(...)]`` when ``cfg.tensorboard``, else ``[]``.
    """
    if not cfg.tensorboard:
        return []
    log_dir = cfg.tensorboard_dir or Path(run_dir) / DEFAULT_SUBDIR
    return [TensorBoardLogger(log_dir, cfg.tensorboard_every)]
