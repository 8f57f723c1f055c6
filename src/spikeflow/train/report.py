"""The results of a run: test metrics, energy estimate, plots and ``metrics.json``."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from spikeflow.atomic import write_json
from spikeflow.data.bundle import num_samples
from spikeflow.train.batches import batches
from spikeflow.train.config import to_dict
from spikeflow.train.trainer import Trainer

#: Samples used for the energy estimate (the counts are averages per sample).
ENERGY_SAMPLES = 256
_PLOT_TAG = 0x9107


def test_results(trainer: Trainer) -> dict[str, Any]:
    """Loss, accuracy, per-layer rates and confusion matrix on the test split."""
    meter = trainer.evaluate(trainer.bundle.test)
    return {
        **meter.summary(),
        "samples": meter.count,
        "confusion_matrix": meter.confusion.tolist(),
    }


def _first_batch(trainer: Trainer, n: int, tag: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.arange(min(n, num_samples(trainer.bundle.test)))
    x, y = next(batches(trainer.bundle.test, order, n, trainer.bundle.collate))
    return trainer.inputs(x, tag, 0), y


def energy_report(trainer: Trainer) -> Any | None:
    """:func:`spikeflow.energy.estimate` on up to ``ENERGY_SAMPLES`` test samples (None if the
    energy module is not installed)."""
    if importlib.util.find_spec("spikeflow.energy") is None:
        return None
    from spikeflow import energy

    x, _ = _first_batch(trainer, ENERGY_SAMPLES, _PLOT_TAG)
    return energy.estimate(trainer.model.as_sequential(), x)


#: The files :func:`finish` writes into the run directory (beside ``config.toml`` and the checkpoint).
OUTPUT_FILES = (
    "metrics.json",
    "training_curves.png",
    "confusion_matrix.png",
    "raster.png",
    "membrane.png",
)


def write_plots(trainer: Trainer, metrics: dict[str, Any], out_dir: Path) -> list[Path]:
    """Training curves, confusion matrix, a raster of one test sample through every layer and the
    membrane of the output neuron of its true class. Returns the files written."""
    from spikeflow import plot

    written = []
    curves = [
        {k: v for k, v in row.items() if k.endswith(("_loss", "_accuracy"))}
        for row in metrics.get("epochs", [])
    ]
    if curves:
        fig = plot.training_curves(curves, title="Training")
        written.append(plot.save(fig, out_dir / "training_curves.png"))
    cm = metrics["test"]["confusion_matrix"]
    fig = plot.confusion_matrix(cm, list(trainer.bundle.class_names), title="Test confusion matrix")
    written.append(plot.save(fig, out_dir / "confusion_matrix.png"))
    raster, membrane = sample_figures(trainer)
    written.append(plot.save(raster, out_dir / "raster.png"))
    written.append(plot.save(membrane, out_dir / "membrane.png"))
    return written


@torch.no_grad()
def sample_figures(trainer: Trainer) -> tuple[Any, Any]:
    """A raster of the first test sample through every layer and the membrane of the output
    neuron of its true class, from the model in evaluation mode (its mode is restored).

    Arguments:
        trainer: the trainer whose model and test data are drawn.

    Returns:
        ``(raster, membrane)``: two matplotlib figures.
    """
    from spikeflow import plot

    x, y = _first_batch(trainer, 1, _PLOT_TAG)
    training = trainer.model.training
    trainer.model.eval()
    try:
        records = trainer.model.trace(x)
    finally:
        trainer.model.train(training)
    spikes = [x[:, 0].flatten(1)] + [r.spikes[:, 0].flatten(1) for r in records]
    names = [f"input ({trainer.cfg.encoder})", *trainer.layer_names]
    label = int(y[0])
    title = f"One test sample (class {trainer.bundle.class_names[label]}) through every layer"
    raster = plot.layer_rasters(spikes, names, title=title)
    out = records[-1]
    membrane = plot.membrane_trace(
        out.v[:, 0, label],
        out.spikes[:, 0, label],
        float(trainer.model.head.threshold),
        reset=trainer.model.head.reset,
        title=f"Output neuron {trainer.bundle.class_names[label]!r} on that sample",
    )
    return raster, membrane


@dataclass
class RunResult:
    """What :func:`finish` produced: the metrics (as in ``metrics.json``), the files written and
    the energy table (``None`` without :mod:`spikeflow.energy`)."""

    metrics: dict[str, Any]
    files: list[Path]
    energy_table: str | None


def finish(trainer: Trainer, status: str, started: float, out_dir: Path) -> RunResult:
    """Evaluate on the test split (best validation weights), estimate energy, write
    ``metrics.json`` and the plots into ``out_dir`` (main rank only)."""
    trainer.use_best()
    metrics: dict[str, Any] = {
        "status": status,
        "config": to_dict(trainer.cfg),
        "dataset": _dataset_sizes(trainer),
        "model": {
            "name": trainer.cfg.model,
            "parameters": sum(p.numel() for p in trainer.model.parameters()),
            "spiking_layers": trainer.layer_names,
        },
        "epochs": trainer.history,
        "best_epoch": trainer.best["epoch"],
        "test": test_results(trainer),
    }
    report = energy_report(trainer)
    if report is not None:
        metrics["energy"] = report.as_dict()
    metrics["wall_time_s"] = time.perf_counter() - started
    files: list[Path] = []
    if trainer.parallel.is_main:
        files.append(write_json(out_dir / "metrics.json", metrics))
        files += write_plots(trainer, metrics, out_dir)
    return RunResult(metrics, files, report.table() if report is not None else None)


def _dataset_sizes(trainer: Trainer) -> dict[str, Any]:
    b = trainer.bundle
    return {
        "name": trainer.cfg.dataset,
        "train": num_samples(b.train),
        "val": num_samples(b.val) if b.val is not None else 0,
        "test": num_samples(b.test),
        "input_shape": list(b.input_shape),
        "classes": list(b.class_names),
    }
