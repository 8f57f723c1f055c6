"""The configuration of a conversion experiment: one frozen dataclass, read from TOML sections.

Precedence: defaults < TOML file (``--config``) < command-line flags, as for training
(:mod:`spikeflow.train.config`); ``OUT/config.toml`` holds the resolved config and repeats the run.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any, ClassVar

from spikeflow import config
from spikeflow import data as datasets
from spikeflow.convert.ann import ACTIVATIONS, ANN_MODELS, POOLS
from spikeflow.convert.normalize import NORMALIZATIONS
from spikeflow.convert.run import ENCODERS, RENAMED_ENCODERS
from spikeflow.deprecation import renamed_value, warn_renamed
from spikeflow.device import DEVICES
from spikeflow.errors import UserError, check_choice, check_positive_int, check_range
from spikeflow.kernels import BACKENDS

#: ANN settings an ``ann.pt`` checkpoint must share with the run that loads it.
ARCH_KEYS = ("dataset", "model", "activation", "levels", "pool", "hidden", "channels")


@dataclass(frozen=True)
class ConvertConfig:
    """Everything that defines a conversion run; groups map to TOML tables [data], [ann], [snn].

    Every field has its default here (the command's flags take theirs from it).

    Attributes:
        dataset, data_dir, limit_train, limit_test: the data (see :func:`spikeflow.data.load`).
        num_steps: the numbers of time steps ``T`` to test the SNN at, e.g. ``(8, 16, 32)``.
        encoder: ``"direct"`` (the value as a constant input current) or ``"rate"`` (Bernoulli).
        model, activation, levels, pool, hidden, channels: the ANN (see
            :func:`spikeflow.convert.ann.build_ann`); ``ann``: an ``ann.pt`` to load instead of
            training; ``epochs``, ``batch_size``, ``lr``: its training.
        normalization, percentile, channel_wise, v_init, calibration: the conversion (see
            :func:`spikeflow.convert.convert`); ``calibration`` samples for the scales.
        energy_samples: test samples for the energy estimate. eval_batch_size: test batch.
        device: ``"auto" | "cpu" | "cuda"``. backend: the IF neurons' kernels. seed: all seeds.
    """

    #: Old key names that still work for one release (with a ``FutureWarning``).
    RENAMED: ClassVar[dict[str, str]] = {
        "timesteps": "num_steps",
        "normalisation": "normalization",
        "input": "encoder",
        "eval_batch": "eval_batch_size",
    }

    # [data]
    dataset: str = "digits"
    data_dir: str | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    num_steps: tuple[int, ...] = (8, 16, 32, 64, 128)
    encoder: str = "direct"
    # [ann]
    model: str = "mlp"
    activation: str = "relu"
    levels: int = 8
    pool: str = "avg"
    hidden: tuple[int, ...] = (256, 128)
    channels: tuple[int, ...] = (32, 64)
    ann: str | None = None
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    # [snn]
    normalization: str = "percentile"
    percentile: float = 99.9
    channel_wise: bool = False
    v_init: float = 0.5
    calibration: int = 1000
    energy_samples: int = 16
    eval_batch_size: int = 256
    device: str = "cpu"
    backend: str = "auto"
    seed: int = 0
    #: Deprecated spelling of ``num_steps`` (one release, with a ``FutureWarning``).
    timesteps: InitVar[tuple[int, ...] | None] = None

    def __post_init__(self, timesteps: tuple[int, ...] | None) -> None:
        if timesteps is not None:
            warn_renamed("timesteps", "num_steps")
            object.__setattr__(self, "num_steps", tuple(timesteps))
        for name in ("num_steps", "hidden", "channels"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(
            self, "encoder", renamed_value("encoder", self.encoder, RENAMED_ENCODERS)
        )
        if not self.num_steps:
            raise UserError("num_steps=() is not valid; expected at least one number of steps")
        for t in self.num_steps:
            check_positive_int("num_steps", t)
        check_choice("dataset", self.dataset, datasets.available())
        check_choice("encoder", self.encoder, ENCODERS)
        check_choice("model", self.model, ANN_MODELS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("pool", self.pool, POOLS)
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        check_choice("device", self.device, DEVICES)
        check_choice("backend", self.backend, BACKENDS)
        for name in ("levels", "epochs", "batch_size", "calibration", "energy_samples"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("eval_batch_size", self.eval_batch_size)
        check_positive_int("seed", self.seed, allow_zero=True)
        for name in ("limit_train", "limit_test"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        for width in (*self.hidden, *self.channels):
            check_positive_int("hidden/channels", width)
        check_range("lr", self.lr, 0, low_open=True)
        check_range("percentile", self.percentile, 0, 100, low_open=True)
        check_range("v_init", self.v_init, 0, 1, high_open=True)

    def architecture(self) -> dict[str, Any]:
        """Returns:
        The ANN settings an ``ann.pt`` records (:data:`ARCH_KEYS`), as plain values.
        """
        return {k: v for k, v in config.to_dict(self).items() if k in ARCH_KEYS}


SECTIONS = config.split_sections(
    ConvertConfig, {"data": "dataset", "ann": "model", "snn": "normalization"}
)


def with_overrides(cfg: ConvertConfig, values: dict[str, Any]) -> ConvertConfig:
    """``cfg`` with ``values`` (flat keys; old names warn and still work) replaced.

    Arguments:
        cfg: the config to start from. values: flat keys and values.

    Returns:
        The new, validated config; unknown keys raise a UserError listing the valid ones.
    """
    return config.with_overrides(cfg, values)


def from_toml(path: str | Path, base: ConvertConfig | None = None) -> ConvertConfig:
    """Read a TOML config: keys in [data]/[ann]/[snn] tables or at the top level.

    Arguments:
        path: the TOML file. base: the config its keys override (default ``ConvertConfig()``).

    Returns:
        The config.
    """
    return with_overrides(base or ConvertConfig(), config.read_toml(path, tuple(SECTIONS)))


def to_toml(cfg: ConvertConfig, path: str | Path) -> Path:
    """Write ``cfg`` as TOML tables, atomically.

    Arguments:
        cfg: the config. path: the file.

    Returns:
        ``path``.
    """
    return config.write_toml(cfg, path, SECTIONS)
