"""``spikeflow train``, ``spikeflow evaluate CHECKPOINT`` and ``spikeflow info CHECKPOINT``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from spikeflow import data as datasets
from spikeflow import loss as losses
from spikeflow import models
from spikeflow.commands.flags import add_config_flags, given, int_list
from spikeflow.device import DEVICES
from spikeflow.functional import RESET_MODES
from spikeflow.kernels import BACKENDS
from spikeflow.nn.recurrent import CONNECTIVITY
from spikeflow.train import checkpoint, distributed
from spikeflow.train.config import (
    OPTIMIZERS,
    REGULARIZERS,
    SCHEDULES,
    TrainConfig,
    from_toml,
    with_overrides,
)
from spikeflow.train.encoding import ENCODER_REGISTRY
from spikeflow.train.run import describe, evaluate, execute, print_result, resume_config

#: The config flags of ``train`` (defaults: :class:`TrainConfig`'s; None = not given).
RUN_FLAGS: dict[str, dict[str, Any]] = {
    "dataset": {"choices": datasets.available()},
    "data_dir": {"metavar": "DIR", "help": "where the dataset files are"},
    "transform": {
        "metavar": "K=V,K=V",
        "help": "events to tensors (neuromorphic sets): n_time_bins | time_window (us) | "
        "event_count, downsample, denoise (us), duration (us, audio)",
    },
    "download": {"flag": True, "help": "fetch the official archives"},
    "model": {"choices": models.available()},
    "epochs": {"type": int},
    "num_steps": {"type": int, "metavar": "T", "help": "time steps per sample"},
    "encoder": {"choices": ENCODER_REGISTRY.available()},
    "gain": {"type": float, "help": "input scale before encoding"},
    "hidden": {"type": int_list, "metavar": "N,N", "help": "hidden widths"},
    "channels": {"type": int_list, "metavar": "C,C", "help": "cnn block channels"},
    "connectivity": {"choices": CONNECTIVITY, "help": "rsnn recurrent weights"},
    "neuron": {"choices": models.neurons.trainable_kinds()},
    "beta": {"type": float, "help": "membrane decay per step"},
    "threshold": {"type": float},
    "reset": {"choices": RESET_MODES},
    "surrogate": {"help": "surrogate gradient"},
    "learn_beta": {"flag": True, "help": "learn the decay"},
    "backend": {"choices": BACKENDS, "help": "neuron kernels"},
    "dropout": {"type": float, "help": "dropout after hidden layers"},
    "delays": {
        "type": int,
        "metavar": "MAX",
        "help": "learnable synaptic delays of up to MAX steps on every Linear (mlp; 0 = none)",
    },
    "loss": {"choices": losses.available()},
    "regularizer": {"choices": REGULARIZERS, "help": "spike-rate regulariser"},
    "reg_weight": {"type": float},
    "reg_rate": {"type": float, "help": "target / maximum rate"},
    "batch_size": {"type": int, "help": "samples per step, over all processes under torchrun"},
    "eval_batch_size": {"type": int},
    "optimizer": {"choices": OPTIMIZERS},
    "lr": {"type": float, "help": "learning rate"},
    "weight_decay": {"type": float},
    "schedule": {"choices": SCHEDULES, "help": "learning-rate schedule"},
    "clip_grad": {"type": float, "help": "max gradient norm, 0 = off"},
    "patience": {"type": int, "help": "early stopping after N epochs without better val (0 = off)"},
    "val_fraction": {"type": float, "help": "held-out share of train"},
    "limit_train": {"type": int, "metavar": "N", "help": "use only N training samples"},
    "limit_test": {"type": int, "metavar": "N", "help": "use only N test samples"},
    "amp": {"flag": True, "help": "bfloat16 autocast"},
    "checkpoint_every": {
        "type": int,
        "metavar": "K",
        "help": "recompute activations in backward, K steps at a time (0 = off)",
    },
    "tbptt": {"type": int, "metavar": "K", "help": "truncated BPTT every K steps (0 = off)"},
    "online": {"flag": True, "help": "online training through time (OTTT): memory flat in T"},
    "seed": {"type": int},
    "device": {"choices": DEVICES, "help": "auto: cuda if available"},
    "threads": {"type": int, "help": "CPU threads, 0 = all allowed"},
    "tensorboard_every": {
        "type": int,
        "metavar": "N",
        "help": "with --tensorboard: test metrics and images every N epochs",
    },
}


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The config flags of ``train`` (defaults None: only flags given override the config).

    Arguments:
        p: the parser to add them to.
    """
    add_config_flags(p, TrainConfig, RUN_FLAGS, renamed={"--timesteps": "num_steps"})


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the sub-commands ``train``, ``evaluate`` and ``info``.

    Arguments:
        subparsers: the ``spikeflow`` parser's sub-parsers.
    """
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
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run that --out already holds (without it such a directory is refused)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--dist-backend",
        choices=distributed.BACKENDS,
        default="auto",
        help="torch.distributed backend under torchrun (default auto: nccl when training on "
        "CUDA, else gloo)",
    )
    p.add_argument(
        "--ddp-timeout",
        type=float,
        default=distributed.DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="under torchrun, the longest a process waits for the others in one step before the "
        f"run stops with an error (default {distributed.DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        metavar="DIR",
        dest="tensorboard_flag",
        help="log losses, accuracies, spike rates, rasters and membranes to TensorBoard event "
        "files in DIR (default OUT/tensorboard); needs pip install 'spikeflow[tensorboard]'",
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


def run_train(args: argparse.Namespace) -> int:
    """Train (or resume) a run; 130 when interrupted (a checkpoint is saved).

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code (0: done).
    """
    values = given(args, TrainConfig)
    if args.tensorboard_flag is not None:
        values["tensorboard"] = True
        if args.tensorboard_flag:
            values["tensorboard_dir"] = args.tensorboard_flag
    payload = None
    if args.resume is not None:
        cfg, payload = resume_config(args.resume, args.config, values)
    else:
        cfg = with_overrides(from_toml(args.config) if args.config else TrainConfig(), values)
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
        overwrite=args.overwrite,
        ddp_timeout_s=args.ddp_timeout,
    )


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint on its test split.

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code (0: done).
    """
    overrides = {
        k: v
        for k, v in {
            "data_dir": args.data_dir,
            "limit_test": args.limit_test,
            "device": args.device,
        }.items()
        if v is not None
    }
    result, out = evaluate(args.checkpoint, Path(args.out) if args.out else None, overrides)
    print_result(result, out)
    return 0


def run_info(args: argparse.Namespace) -> int:
    """Print a summary of a checkpoint.

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code (0: done).
    """
    info = describe(
        checkpoint.load(args.checkpoint, required=checkpoint.RUN_KEYS), str(args.checkpoint)
    )
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
