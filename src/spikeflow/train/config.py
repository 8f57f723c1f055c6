"""The configuration of a training run: one flat dataclass, written to and read from TOML sections.

Precedence: defaults < TOML file < command-line flags. ``config.toml`` in a run directory holds the
full, resolved configuration: ``spikeflow train --config config.toml`` repeats a run.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any, ClassVar

from spikeflow import config, models
from spikeflow import data as datasets
from spikeflow import loss as losses
from spikeflow.config import split_sections
from spikeflow.deprecation import warn_renamed
from spikeflow.device import DEVICES
from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.train.encoding import ENCODER_REGISTRY

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "step", "none")
REGULARIZERS = ("none", "l2", "upper")


#: The most intra-op threads a run may ask for (torch refuses far larger counts with a traceback).
MAX_THREADS = 4096


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; field groups map to TOML sections [data], [model], [train].

    Every field has its default here (the command's flags take theirs from it). ``num_steps`` is
    the number of time steps ``T`` per sample; ``encoder`` turns a static sample into ``T`` steps
    of input (``"direct"``: the value itself at every step).
    """

    #: Old key names that still work for one release (with a ``FutureWarning``).
    RENAMED: ClassVar[dict[str, str]] = {"timesteps": "num_steps"}

    # [data]
    dataset: str = "digits"
    data_dir: str | None = None
    val_fraction: float = 0.1
    limit_train: int | None = None
    limit_test: int | None = None
    encoder: str = "rate"
    num_steps: int = 16
    gain: float = 1.0
    transform: str = ""
    download: bool = False
    # [model]
    model: str = "mlp"
    hidden: tuple[int, ...] = (256,)
    channels: tuple[int, ...] = (32, 64)
    connectivity: str = "dense"
    neuron: str = "lif"
    beta: float = 0.9
    threshold: float = 1.0
    reset: str = "subtract"
    surrogate: str = "atan"
    learn_beta: bool = False
    dropout: float = 0.0
    delays: int = 0
    backend: str = "auto"
    # [train]
    epochs: int = 20
    batch_size: int = 64
    eval_batch_size: int = 256
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "cosine"
    step_size: int = 10
    gamma: float = 0.1
    clip_grad: float = 1.0
    loss: str = "rate_ce"
    regularizer: str = "none"
    reg_weight: float = 1.0
    reg_rate: float = 0.1
    patience: int = 0
    amp: bool = False
    #: Memory over long sequences (at most one; 0 / False: off): recompute the network in
    #: checkpointed segments of K steps (exact gradients), truncated BPTT with segments of K
    #: steps, or online training (OTTT: per-step loss and eligibility traces, no graph over time).
    checkpoint_every: int = 0
    tbptt: int = 0
    online: bool = False
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    #: Log to TensorBoard (:class:`spikeflow.train.tensorboard.TensorBoardLogger`) into
    #: ``tensorboard_dir`` (default ``RUN_DIR/tensorboard``), test metrics and images every
    #: ``tensorboard_every`` epochs.
    tensorboard: bool = False
    tensorboard_dir: str | None = None
    tensorboard_every: int = 1
    #: Deprecated spelling of ``num_steps`` (one release, with a ``FutureWarning``).
    timesteps: InitVar[int | None] = None

    def __post_init__(self, timesteps: int | None) -> None:
        if timesteps is not None:
            warn_renamed("timesteps", "num_steps")
            object.__setattr__(self, "num_steps", timesteps)
        check_choice("dataset", self.dataset, datasets.available())
        check_choice("model", self.model, models.available())
        check_choice("encoder", self.encoder, ENCODER_REGISTRY.available())
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("loss", self.loss, losses.available())
        check_choice("regularizer", self.regularizer, REGULARIZERS)
        check_choice("device", self.device, DEVICES)
        for name in ("num_steps", "epochs", "batch_size", "eval_batch_size", "step_size"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("tensorboard_every", self.tensorboard_every)
        for name in ("limit_train", "limit_test"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        for name in ("patience", "threads", "seed", "delays", "checkpoint_every", "tbptt"):
            check_positive_int(name, getattr(self, name), allow_zero=True)
        check_range("threads", self.threads, 0, MAX_THREADS)
        for name in ("hidden", "channels"):
            for width in getattr(self, name):
                check_positive_int(f"{name} (each width)", width)
        check_range("val_fraction", self.val_fraction, 0, 1, high_open=True)
        check_range("lr", self.lr, 0, low_open=True)
        check_range("gain", self.gain, 0, low_open=True)
        for name in ("weight_decay", "clip_grad", "reg_weight"):
            check_range(name, getattr(self, name), 0)
        check_range("reg_rate", self.reg_rate, 0, 1)
        if self.delays and "delays" not in models.registry.options(self.model):
            raise UserError(
                f"delays={self.delays} is not valid for model {self.model!r}; expected 0, or a "
                "model with learnable delays (mlp)"
            )
        chosen = [
            f"{k}={getattr(self, k)!r}"
            for k in ("checkpoint_every", "tbptt", "online")
            if getattr(self, k)
        ]
        if len(chosen) > 1:
            raise UserError(
                f"{' and '.join(chosen)} cannot be combined; expected at most one of "
                "checkpoint_every, tbptt and online"
            )
        # Builds the neuron options once, so a bad beta/threshold/reset/surrogate fails here.
        models.NeuronConfig(
            self.neuron,
            self.beta,
            self.threshold,
            self.reset,
            self.surrogate,
            self.learn_beta,
            self.backend,
        )

    def model_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`spikeflow.models.build` for this config's model."""
        opts = {k: getattr(self, k) for k in models.registry.options(self.model)}
        opts.update({k: getattr(self, k) for k in models.registry.NEURON_KEYS})
        return opts


SECTIONS = split_sections(TrainConfig, {"data": "dataset", "model": "model", "train": "epochs"})


def with_overrides(cfg: TrainConfig, values: dict[str, Any]) -> TrainConfig:
    """``cfg`` with ``values`` (flat keys) replaced; unknown keys list the valid ones.

    Arguments:
        cfg: the config to start from.
        values: flat keys and values (old names such as ``timesteps`` warn and still work).

    Returns:
        The new, validated config.
    """
    return config.with_overrides(cfg, values)


def from_toml(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML config: keys in [data]/[model]/[train] sections or at the top level.

    Arguments:
        path: the TOML file.
        base: the config its keys override (default :class:`TrainConfig()`).

    Returns:
        The config.
    """
    return with_overrides(base or TrainConfig(), config.read_toml(path, tuple(SECTIONS)))


def to_toml(cfg: TrainConfig, path: str | Path) -> None:
    """Write ``cfg`` as TOML sections, atomically.

    Arguments:
        cfg: the config. path: the file to write.
    """
    config.write_toml(cfg, path, SECTIONS)


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The flat config as plain Python values, for JSON and checkpoints.

    Arguments:
        cfg: the config.

    Returns:
        ``{field: value}`` with lists for tuples.
    """
    return config.to_dict(cfg)


def from_dict(values: dict[str, Any]) -> TrainConfig:
    """Inverse of :func:`to_dict`.

    Arguments:
        values: flat keys and values, e.g. a checkpoint's ``config``.

    Returns:
        The config.
    """
    return with_overrides(TrainConfig(), values)
