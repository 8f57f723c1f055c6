"""``spikeflow train``, ``spikeflow evaluate CHECKPOINT`` and ``spikeflow info CHECKPOINT``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from spikeflow import data as datasets
from spikeflow import loss as losses
from spikeflow import models
from spikeflow.errors import UserError, check_choice
from spikeflow.train import checkpoint, distributed
from spikeflow.train.config import (
    DEVICES,
    OPTIMIZERS,
    REGULARIZERS,
    SCHEDULES,
    TrainConfig,
    from_dict,
    from_toml,
    to_toml,
    with_overrides,
)
from spikeflow.train.encoding import ENCODERS
from spikeflow.train.parallel import SingleProcess
from spikeflow.train.report import RunResult, finish
from spikeflow.train.signals import stop_on_signals
from spikeflow.train.trainer import Trainer, resolve_device

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
)


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from err


def _flag(parser: argparse.ArgumentParser, name: str, **kw: Any) -> None:
    parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, **kw)


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The config flags of ``train`` (defaults None: only flags given override the config)."""
    d = TrainConfig()
    _flag(p, "dataset", choices=datasets.available(), help=f"(default {d.dataset})")
    _flag(p, "data_dir", metavar="DIR", help="where the dataset files are")
    _flag(
        p,
        "transform",
        metavar="K=V,K=V",
        help="events to tensors (neuromorphic sets): n_time_bins | time_window (us) | "
        "event_count, downsample, denoise (us), duration (us, audio)",
    )
    _flag(p, "download", action="store_const", const=True, help="fetch the official archives")
    _flag(p, "model", choices=models.available(), help=f"(default {d.model})")
    _flag(p, "epochs", type=int, help=f"(default {d.epochs})")
    _flag(
        p, "timesteps", type=int, metavar="T", help=f"time steps per sample (default {d.timesteps})"
    )
    _flag(p, "encoder", choices=ENCODERS, help=f"(default {d.encoder})")
    _flag(p, "gain", type=float, help="input scale before encoding (default 1)")
    _flag(p, "hidden", type=_int_list, metavar="N,N", help="hidden widths (default 256)")
    _flag(p, "channels", type=_int_list, metavar="C,C", help="cnn block channels (default 32,64)")
    _flag(p, "connectivity", choices=("dense", "one_to_one"), help="rsnn recurrent weights")
    _flag(p, "neuron", choices=models.NEURONS, help=f"(default {d.neuron})")
    _flag(p, "beta", type=float, help=f"membrane decay per step (default {d.beta})")
    _flag(p, "threshold", type=float, help=f"(default {d.threshold})")
    _flag(p, "reset", choices=("subtract", "zero", "none"), help=f"(default {d.reset})")
    _flag(p, "surrogate", help=f"surrogate gradient (default {d.surrogate})")
    _flag(p, "learn_beta", action="store_const", const=True, help="learn the decay")
    _flag(p, "backend", choices=("auto", "reference", "cpu", "triton"), help="neuron kernels")
    _flag(p, "dropout", type=float, help="dropout after hidden layers (default 0)")
    _flag(p, "loss", choices=tuple(losses.LOSSES), help=f"(default {d.loss})")
    _flag(p, "regularizer", choices=REGULARIZERS, help="spike-rate regulariser (default none)")
    _flag(p, "reg_weight", type=float, help=f"(default {d.reg_weight})")
    _flag(p, "reg_rate", type=float, help=f"target / maximum rate (default {d.reg_rate})")
    _flag(
        p,
        "batch_size",
        type=int,
        help=f"samples per step, over all processes under torchrun (default {d.batch_size})",
    )
    _flag(p, "eval_batch_size", type=int, help=f"(default {d.eval_batch_size})")
    _flag(p, "optimizer", choices=OPTIMIZERS, help=f"(default {d.optimizer})")
    _flag(p, "lr", type=float, help=f"learning rate (default {d.lr})")
    _flag(p, "weight_decay", type=float, help="(default 0)")
    _flag(p, "schedule", choices=SCHEDULES, help=f"learning-rate schedule (default {d.schedule})")
    _flag(p, "clip_grad", type=float, help=f"max gradient norm, 0 = off (default {d.clip_grad})")
    _flag(
        p, "patience", type=int, help="early stopping after N epochs without better val (0 = off)"
    )
    _flag(p, "val_fraction", type=float, help=f"held-out share of train (default {d.val_fraction})")
    _flag(p, "limit_train", type=int, metavar="N", help="use only N training samples")
    _flag(p, "limit_test", type=int, metavar="N", help="use only N test samples")
    _flag(p, "amp", action="store_const", const=True, help="bfloat16 autocast")
    _flag(p, "seed", type=int, help="(default 0)")
    _flag(p, "device", choices=DEVICES, help="(default auto: cuda if available)")
    _flag(p, "threads", type=int, help="CPU threads, 0 = all allowed (default 0)")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a spiking network",
        description="Train a spiking classifier. Writes config.toml, metrics.json, checkpoint.pt "
        "and PNG plots into --out. Flags override --config; Ctrl-C saves a checkpoint, and "
        "--resume continues exactly where the run stopped. Under torchrun (e.g. torchrun "
        "--nproc_per_node=2 -m spikeflow.cli train ...) it trains with DDP: --batch-size is the "
        "global batch, split over the processes, and rank 0 writes the files.",
    )
    p.add_argument("--config", metavar="TOML", help="a config file ([data], [model], [train])")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/DATASET-MODEL)")
    p.add_argument("--resume", metavar="PATH", help="checkpoint (or run directory) to continue")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--dist-backend",
        choices=distributed.BACKENDS,
        default="auto",
        help="torch.distributed backend under torchrun (default auto: nccl when training on "
        "CUDA, else gloo)",
    )
    add_run_flags(p)
    p.set_defaults(func=run_train)

    p = subparsers.add_parser("evaluate", help="evaluate a checkpoint on its test set")
    p.add_argument("checkpoint", help="checkpoint file or run directory")
    p.add_argument(
        "--out", metavar="DIR", help="where to write results (default CHECKPOINT_DIR/eval)"
    )
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset files are")
    p.add_argument("--limit-test", type=int, metavar="N", help="use only N test samples")
    p.add_argument("--device", choices=DEVICES, help="(default: the checkpoint's)")
    p.set_defaults(func=run_evaluate)

    p = subparsers.add_parser("info", help="describe a checkpoint")
    p.add_argument("checkpoint", help="checkpoint file or run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_info)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    names = [f for f in TrainConfig.__dataclass_fields__ if hasattr(args, f)]
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


def resolve_config(args: argparse.Namespace) -> tuple[TrainConfig, dict[str, Any] | None]:
    """The run's config and, when resuming, the checkpoint it continues."""
    values = _given(args)
    if args.resume is None:
        base = from_toml(args.config) if args.config else TrainConfig()
        return with_overrides(base, values), None
    payload = checkpoint.load(args.resume)
    saved = from_dict(payload["config"])
    if args.config:
        values = {**from_toml(args.config).__dict__, **values}
        values = {k: v for k, v in values.items() if v != getattr(TrainConfig(), k)}
    wanted = with_overrides(saved, values)
    for key in values:
        if key not in RESUMABLE_CHANGES and getattr(wanted, key) != getattr(saved, key):
            raise UserError(
                f"checkpoint {args.resume!r} was trained with {key}={getattr(saved, key)!r}, "
                f"not {getattr(wanted, key)!r}; start a new run with --out, or drop that option"
            )
    return wanted, payload


def run_train(args: argparse.Namespace) -> int:
    cfg, payload = resolve_config(args)
    if args.out:
        out = Path(args.out)
    elif args.resume:
        out = checkpoint.resolve(args.resume).parent
    else:
        out = Path("runs") / f"{cfg.dataset}-{cfg.model}"
    return execute(
        cfg,
        out,
        progress=not args.quiet,
        payload=payload,
        source=args.resume,
        dist_backend=args.dist_backend,
    )


def execute(
    cfg: TrainConfig,
    out: Path,
    *,
    progress: bool = True,
    payload: dict[str, Any] | None = None,
    source: str | None = None,
    dist_backend: str = "auto",
) -> int:
    """Train ``cfg`` into ``out`` (continuing ``payload`` when given) and write the results.

    Under torchrun (``WORLD_SIZE > 1``) every process calls this: they train together with DDP
    over ``dist_backend`` (``"auto"``: nccl when training on CUDA, else gloo); only rank 0 prints
    and writes files. Returns the exit code: 0 when done, 130 when interrupted (a checkpoint is
    saved).
    """
    check_choice("dist_backend", dist_backend, distributed.BACKENDS)
    if dist_backend == "auto":
        dist_backend = "nccl" if resolve_device(cfg.device).type == "cuda" else "gloo"
    parallel = distributed.from_env(dist_backend)
    try:
        return _execute(cfg, out, parallel, progress, payload, source)
    finally:
        parallel.close()


def _execute(
    cfg: TrainConfig,
    out: Path,
    parallel: SingleProcess,
    progress: bool,
    payload: dict[str, Any] | None,
    source: str | None,
) -> int:
    started = time.perf_counter()
    main = parallel.is_main
    bundle = load_data(cfg)
    trainer = Trainer(cfg, bundle, out, progress=progress, parallel=parallel)
    if payload is not None:
        check_layout(payload, bundle, str(source))
        trainer.restore(payload, str(source))
        if main:
            print(f"resuming {source} at epoch {trainer.epoch + 1}, batch {trainer.batch}")
    if main:
        out.mkdir(parents=True, exist_ok=True)
        to_toml(cfg, out / "config.toml")
        where = f"{trainer.device}" + (
            f" x {parallel.world_size} processes" if parallel.world_size > 1 else ""
        )
        print(
            f"training {cfg.model} on {cfg.dataset} ({len(bundle.train)} train, "
            f"{len(bundle.val) if bundle.val is not None else 0} val, {len(bundle.test)} test) "
            f"for {cfg.epochs} epochs, T={cfg.timesteps}, on {where}"
        )
    with stop_on_signals(trainer.request_stop):
        status = trainer.fit()
    if status == "interrupted":
        if main:
            print(
                f"interrupted at epoch {trainer.epoch + 1}, batch {trainer.batch}; checkpoint "
                f"{out / checkpoint.FILENAME}; continue with: spikeflow train --resume {out}",
                file=sys.stderr,
            )
        return 130
    result = finish(trainer, status, started, out)
    if main:
        print_result(result, out)
    return 0


def load_data(cfg: TrainConfig) -> datasets.DataBundle:
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
    """The checkpoint's model must fit the data's sample shape and classes."""
    shape, classes = tuple(payload["input_shape"]), int(payload["num_classes"])
    if shape != tuple(bundle.input_shape) or classes != bundle.num_classes:
        raise UserError(
            f"checkpoint {source!r} expects inputs {shape} with {classes} classes; the data "
            f"gives {tuple(bundle.input_shape)} with {bundle.num_classes}"
        )


def print_result(result: RunResult, out: Path) -> None:
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


def run_evaluate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    payload = checkpoint.load(args.checkpoint)
    overrides = {
        k: v
        for k, v in {
            "data_dir": args.data_dir,
            "limit_test": args.limit_test,
            "device": args.device,
        }.items()
        if v is not None
    }
    cfg = with_overrides(from_dict(payload["config"]), overrides)
    bundle = load_data(cfg)
    check_layout(payload, bundle, args.checkpoint)
    out = Path(args.out) if args.out else checkpoint.resolve(args.checkpoint).parent / "eval"
    trainer = Trainer(cfg, bundle, out, progress=False)
    trainer.restore(payload, args.checkpoint)
    result = finish(trainer, "evaluated", started, out)
    print_result(result, out)
    return 0


def describe(payload: dict[str, Any]) -> dict[str, Any]:
    """A JSON-able summary of a checkpoint."""
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


def run_info(args: argparse.Namespace) -> int:
    info = describe(checkpoint.load(args.checkpoint))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"checkpoint {checkpoint.resolve(args.checkpoint)}")
    for key in ("model", "dataset", "input_shape", "parameters", "best_epoch"):
        print(f"  {key}: {info[key]}")
    print(f"  epochs: {info['epochs_done']} of {info['epochs']} done")
    for key, value in info["last_epoch"].items():
        print(
            f"  last {key}: {value:.4g}" if isinstance(value, float) else f"  last {key}: {value}"
        )
    cfg = info["config"]
    print("  config: " + ", ".join(f"{k}={v}" for k, v in cfg.items() if v is not None))
    return 0
