"""The configuration of a training run: one flat dataclass, written to and read from TOML sections.

Precedence: defaults < TOML file < command-line flags. ``config.toml`` in a run directory holds the
full, resolved configuration: ``spikeflow train --config config.toml`` repeats a run.
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from spikeflow import data as datasets
from spikeflow import loss as losses
from spikeflow import models
from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.train.atomic import write_text
from spikeflow.train.encoding import ENCODERS

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "step", "none")
REGULARIZERS = ("none", "l2", "upper")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; field groups map to TOML sections [data], [model], [train]."""

    # [data]
    dataset: str = "digits"
    data_dir: str | None = None
    val_fraction: float = 0.1
    limit_train: int | None = None
    limit_test: int | None = None
    encoder: str = "rate"
    timesteps: int = 16
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
    seed: int = 0
    device: str = "auto"
    threads: int = 0

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, datasets.available())
        check_choice("model", self.model, models.available())
        check_choice("encoder", self.encoder, ENCODERS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("loss", self.loss, tuple(losses.LOSSES))
        check_choice("regularizer", self.regularizer, REGULARIZERS)
        check_choice("device", self.device, DEVICES)
        for name in ("timesteps", "epochs", "batch_size", "eval_batch_size", "step_size"):
            check_positive_int(name, getattr(self, name))
        for name in ("limit_train", "limit_test"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        for name in ("patience", "threads", "seed"):
            check_positive_int(name, getattr(self, name), allow_zero=True)
        check_range("val_fraction", self.val_fraction, 0, 1, high_open=True)
        check_range("lr", self.lr, 0, low_open=True)
        check_range("gain", self.gain, 0, low_open=True)
        for name in ("weight_decay", "clip_grad", "reg_weight"):
            check_range(name, getattr(self, name), 0)
        check_range("reg_rate", self.reg_rate, 0, 1)
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

    def as_sections(self) -> dict[str, dict[str, Any]]:
        """``{"data": {...}, "model": {...}, "train": {...}}`` without ``None`` values (TOML)."""
        flat = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        return {
            section: {k: flat[k] for k in keys if flat[k] is not None}
            for section, keys in SECTIONS.items()
        }


_NAMES = [f.name for f in fields(TrainConfig)]
SECTIONS = {
    "data": _NAMES[: _NAMES.index("model")],
    "model": _NAMES[_NAMES.index("model") : _NAMES.index("epochs")],
    "train": _NAMES[_NAMES.index("epochs") :],
}
_TYPES = {f.name: f for f in fields(TrainConfig)}


def _coerce(name: str, value: Any) -> Any:
    """Check a value from TOML or flags against the field's type; tuples from lists."""
    default = _TYPES[name].default
    if default is MISSING:  # pragma: no cover - every field has a default
        return value
    if isinstance(default, tuple):
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise UserError(f"{name}={value!r} is not valid; expected a list of integers")
        return tuple(value)
    if value is None:
        return value
    if isinstance(default, bool) and not isinstance(value, bool):
        raise UserError(f"{name}={value!r} is not valid; expected true or false")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    wanted = type(default) if default is not None else (str if name == "data_dir" else int)
    if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
        raise UserError(f"{name}={value!r} is not valid; expected a {wanted.__name__}")
    return value


def with_overrides(cfg: TrainConfig, values: dict[str, Any]) -> TrainConfig:
    """``cfg`` with ``values`` (flat keys) replaced; unknown keys list the valid ones."""
    unknown = sorted(set(values) - set(_NAMES))
    if unknown:
        raise UserError(
            f"config key(s) {', '.join(unknown)} are not valid; "
            f"expected some of {', '.join(_NAMES)}"
        )
    return replace(cfg, **{k: _coerce(k, v) for k, v in values.items()})


def from_toml(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML config: keys in [data]/[model]/[train] sections or at the top level."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise UserError(f"config file {str(path)!r} does not exist") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"config file {str(path)!r} is not valid TOML: {err}") from err
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return with_overrides(base or TrainConfig(), flat)


def to_toml(cfg: TrainConfig, path: str | Path) -> None:
    """Write ``cfg`` as TOML sections, atomically."""
    write_text(path, tomli_w.dumps(cfg.as_sections()))


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The flat config as plain Python values (lists for tuples), for JSON and checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def from_dict(values: dict[str, Any]) -> TrainConfig:
    """Inverse of :func:`to_dict`."""
    return with_overrides(TrainConfig(), values)
