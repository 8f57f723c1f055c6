"""A whole training run, as ``spikeflow train`` does it: load the data, train, evaluate, write files.

:func:`execute` is what the command calls (and what a script may call): it resumes a checkpoint when
given one, trains under a process group (one process, or DDP under torchrun), writes ``config.toml``,
``checkpoint.pt``, ``metrics.json`` and the plots into the run directory (and TensorBoard event
files when the config asks, see :mod:`spikeflow.train.tensorboard`), and prints progress.
:func:`resume_config` and :func:`check_layout` are the checks that make a resumed run continue the
run it claims to continue.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from spikeflow import data as datasets
from spikeflow import models
from spikeflow.data.bundle import num_samples
from spikeflow.device import resolve_device
from spikeflow.errors import UserError, check_choice
from spikeflow.train import checkpoint, distributed
from spikeflow.train.config import TrainConfig, from_dict, from_toml, to_toml, with_overrides
from spikeflow.train.parallel import SingleProcess
from spikeflow.train.report import OUTPUT_FILES, RunResult, finish
from spikeflow.train.rundir import claim
from spikeflow.train.signals import INTERRUPTED, interrupt_on_signals, stop_on_signals
from spikeflow.train.tensorboard import DEFAULT_SUBDIR as TENSORBOARD_SUBDIR
from spikeflow.train.tensorboard import from_config as tracking_callbacks
from spikeflow.train.trainer import Trainer

#: Keys a resumed run may change; every other key must match the checkpoint.
RESUMABLE_CHANGES = (
    "epochs",
    "device",
    "threads",
    "patience",
    "eval_batch_size",
    "data_dir",
    "backend",
    "download",
    "tensorboard",
    "tensorboard_dir",
    "tensorboard_every",
)


def load_data(cfg: TrainConfig) -> datasets.DataBundle:
    """The data of a run.

    Arguments:
        cfg: the run's config (``dataset``, ``data_dir``, ``seed``, ``val_fraction`` and the limits).

    Returns:
        The :class:`~spikeflow.data.DataBundle` from :func:`spikeflow.data.load`.
    """
    options = {k: v for k, v in (("transform", cfg.transform), ("download", cfg.download)) if v}
    return datasets.load(
        cfg.dataset,
        data_dir=cfg.data_dir,
        seed=cfg.seed,
        val_fraction=cfg.val_fraction,
        limit_train=cfg.limit_train,
        limit_test=cfg.limit_test,
        **options,
    )


def check_layout(payload: dict[str, Any], bundle: datasets.DataBundle, source: str) -> None:
    """Raise :class:`UserError` unless the checkpoint's model fits the data's samples and classes.

    Arguments:
        payload: a checkpoint from :func:`spikeflow.train.checkpoint.load`.
        bundle: the data the run will use.
        source: the checkpoint's path, for the message.
    """
    shape, classes = tuple(payload["input_shape"]), int(payload["num_classes"])
    if shape != tuple(bundle.input_shape) or classes != bundle.num_classes:
        raise UserError(
            f"checkpoint {source!r} expects inputs {shape} with {classes} classes; the data "
            f"gives {tuple(bundle.input_shape)} with {bundle.num_classes}"
        )


def resume_config(
    source: str, config_file: str | None, values: dict[str, Any]
) -> tuple[TrainConfig, dict[str, Any]]:
    """The config of a resumed run, and the checkpoint it continues.

    Arguments:
        source: a checkpoint file or the run directory holding ``checkpoint.pt``.
        config_file: a TOML config to apply over the checkpoint's config, or ``None``.
        values: flat config keys given explicitly (e.g. command-line flags); they win over the file.

    Returns:
        ``(config, payload)``. Only keys in :data:`RESUMABLE_CHANGES` may differ from the
        checkpoint's config; any other change raises :class:`UserError` naming the key.
    """
    payload = checkpoint.load(source, required=checkpoint.RUN_KEYS)
    saved = from_dict(payload["config"])
    if config_file:
        default = TrainConfig()
        values = {**from_toml(config_file).__dict__, **values}
        values = {k: v for k, v in values.items() if v != getattr(default, k)}
    wanted = with_overrides(saved, values)
    for key in values:
        if key not in RESUMABLE_CHANGES and getattr(wanted, key) != getattr(saved, key):
            raise UserError(
                f"checkpoint {source!r} was trained with {key}={getattr(saved, key)!r}, "
                f"not {getattr(wanted, key)!r}; start a new run with --out, or drop that option"
            )
    return wanted, payload


def execute(
    cfg: TrainConfig,
    out: Path,
    *,
    progress: bool = True,
    payload: dict[str, Any] | None = None,
    source: str | None = None,
    dist_backend: str = "auto",
    overwrite: bool = False,
    ddp_timeout_s: float = distributed.DEFAULT_TIMEOUT_S,
) -> int:
    """Train ``cfg`` into ``out`` (continuing ``payload`` when given) and write the results.

    Under torchrun (``WORLD_SIZE > 1``) every process calls this: they train together with DDP;
    only rank 0 prints and writes files.

    The run directory belongs to this run (see :func:`spikeflow.train.rundir.claim`), checked
    before the data are loaded: a directory holding another run is refused unless this run
    resumes the checkpoint in it or ``overwrite`` is set (which first deletes the files an earlier
    run wrote there: checkpoint, config, metrics and plots), and a second process writing into
    the same directory is refused while this one runs.

    Arguments:
        cfg: the run's config.
        out: the run directory (created).
        progress: show progress bars.
        payload: a checkpoint to continue (see :func:`resume_config`), or ``None``.
        source: the checkpoint's path, for messages.
        dist_backend: ``"auto"`` (nccl when training on CUDA, else gloo), ``"gloo"`` or ``"nccl"``.
        overwrite: replace the run ``out`` holds instead of refusing it.
        ddp_timeout_s: under torchrun, the longest a rank waits for the others in one collective
            (seconds) before the run ends with an error naming the stalled wait.

    Returns:
        The exit code: 0 when done, 130 when interrupted (a checkpoint is saved).
    """
    check_choice("dist_backend", dist_backend, distributed.BACKENDS)
    if dist_backend == "auto":
        dist_backend = "nccl" if resolve_device(cfg.device).type == "cuda" else "gloo"
    parallel = distributed.from_env(dist_backend, ddp_timeout_s)
    resuming_here = (
        payload is not None
        and source is not None
        and checkpoint.resolve(source).parent.resolve() == out.resolve()
    )
    try:
        with _claimed(out, parallel, resuming_here, overwrite):
            return _execute(
                cfg,
                out,
                parallel,
                progress,
                payload,
                source,
                replace=overwrite and not resuming_here,
            )
    finally:
        parallel.close()


def _claimed(
    out: Path, parallel: SingleProcess, resuming_here: bool, overwrite: bool
) -> contextlib.AbstractContextManager[Any]:
    """The main rank's claim on ``out`` (other ranks write nothing and claim nothing)."""
    if not parallel.is_main:
        return contextlib.nullcontext()
    return claim(out, resume=resuming_here, overwrite=overwrite)


def _execute(
    cfg: TrainConfig,
    out: Path,
    parallel: SingleProcess,
    progress: bool,
    payload: dict[str, Any] | None,
    source: str | None,
    *,
    replace: bool,
) -> int:
    started = time.perf_counter()
    main = parallel.is_main
    callbacks = tracking_callbacks(cfg, out)
    bundle = load_data(cfg)
    if main and replace:  # the earlier run's files go only once this run's data loaded
        for name in (checkpoint.FILENAME, "config.toml", *OUTPUT_FILES):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / TENSORBOARD_SUBDIR, ignore_errors=True)
    trainer = Trainer(cfg, bundle, out, progress=progress, parallel=parallel, callbacks=callbacks)
    if payload is not None:
        check_layout(payload, bundle, str(source))
        trainer.restore(payload, str(source))
        if main:
            print(f"resuming {source} at epoch {trainer.epoch + 1}, batch {trainer.batch}")
    if main:
        to_toml(cfg, out / "config.toml")
        where = f"{trainer.device}" + (
            f" x {parallel.world_size} processes" if parallel.world_size > 1 else ""
        )
        print(
            f"training {cfg.model} on {cfg.dataset} ({num_samples(bundle.train)} train, "
            f"{num_samples(bundle.val) if bundle.val is not None else 0} val, "
            f"{num_samples(bundle.test)} test) "
            f"for {cfg.epochs} epochs, T={cfg.num_steps}, on {where}"
        )
    saved = out / checkpoint.FILENAME
    with stop_on_signals(trainer.request_stop, str(saved) if main else ""):
        status = trainer.fit()
    if status == "interrupted":
        if main:
            print(
                f"interrupted at epoch {trainer.epoch + 1}, batch {trainer.batch}; checkpoint "
                f"{saved}; continue with: spikeflow train --resume {out}",
                file=sys.stderr,
            )
        return INTERRUPTED
    try:
        with interrupt_on_signals():
            result = finish(trainer, status, started, out)
    except KeyboardInterrupt:
        if main:
            print(
                f"interrupted during the final evaluation; training is complete and saved in "
                f"{saved}; write the test metrics and plots with: spikeflow evaluate {out}",
                file=sys.stderr,
            )
        return INTERRUPTED
    if main:
        print_result(result, out)
    return 0


def evaluate(
    source: str, out: Path | None = None, overrides: dict[str, Any] | None = None
) -> tuple[RunResult, Path]:
    """Evaluate a checkpoint on its test split and write ``metrics.json`` and plots.

    Arguments:
        source: a checkpoint file or run directory.
        out: where to write (default ``CHECKPOINT_DIR/eval``).
        overrides: config keys to change for the evaluation (``data_dir``, ``limit_test``,
            ``device``).

    Returns:
        ``(result, out)``: the results and the directory written.
    """
    started = time.perf_counter()
    payload = checkpoint.load(source, required=checkpoint.RUN_KEYS)
    cfg = with_overrides(from_dict(payload["config"]), overrides or {})
    bundle = load_data(cfg)
    check_layout(payload, bundle, source)
    out = out if out is not None else checkpoint.resolve(source).parent / "eval"
    trainer = Trainer(cfg, bundle, out, progress=False)
    trainer.restore(payload, source)
    return finish(trainer, "evaluated", started, out), out


def print_result(result: RunResult, out: Path) -> None:
    """Print the test metrics, the energy table and the files written.

    Arguments:
        result: what :func:`spikeflow.train.report.finish` returned.
        out: the run directory.
    """
    m = result.metrics
    test = m["test"]
    print(
        f"test accuracy {test['accuracy']:.4f} ({test['samples']} samples), loss {test['loss']:.4f}"
    )
    rates = ", ".join(f"{k} {v:.3f}" for k, v in test["spike_rates"].items())
    print(f"spike rates per layer (spikes/neuron/step): {rates}")
    if result.energy_table:
        print(result.energy_table)
    print(f"wall time {m['wall_time_s']:.1f} s; results in {out}/:")
    for f in result.files:
        print(f"  {f}")


def describe(payload: dict[str, Any], source: str = "checkpoint") -> dict[str, Any]:
    """A JSON-able summary of a checkpoint, after checking that its weights load into the model
    its config builds (a checkpoint whose weights do not fit is a :class:`UserError`).

    Arguments:
        payload: a checkpoint from :func:`spikeflow.train.checkpoint.load` (with
            :data:`~spikeflow.train.checkpoint.RUN_KEYS`).
        source: the checkpoint's path, for messages.

    Returns:
        Model, dataset, input shape, classes, parameter count, progress and config.
    """
    cfg = from_dict(payload["config"])
    model = models.build(
        cfg.model, tuple(payload["input_shape"]), int(payload["num_classes"]), **cfg.model_options()
    )
    checkpoint.load_model_state(model, payload["model"], source)
    params = sum(t.numel() for t in payload["model"].values() if t.is_floating_point())
    last = payload["history"][-1] if payload["history"] else {}
    return {
        "model": payload["config"]["model"],
        "dataset": payload["config"]["dataset"],
        "input_shape": payload["input_shape"],
        "classes": payload["class_names"],
        "parameters": params,
        "epochs_done": len(payload["history"]),
        "epochs": payload["config"]["epochs"],
        "position": {"epoch": payload["epoch"] + 1, "batch": payload["batch"]},
        "best_epoch": payload["best"]["epoch"],
        "last_epoch": {k: v for k, v in last.items() if not isinstance(v, dict)},
        "config": payload["config"],
    }
