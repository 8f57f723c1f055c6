"""A sweep file (``sweep.toml``): the base train options, the space, the objective and the runner.

::

    [sweep]
    n_trials = 20            # trials the study should hold, finished (see runner), > 0
    processes = 2            # trials run at once, each in its own process
    out = "sweeps/lr"        # default sweeps/FILE_STEM; trials in OUT/trials/trial-NNNN
    storage = ""             # an Optuna storage URL; default sqlite:///OUT/study.db
    study_name = "lr"        # default FILE_STEM
    sampler = "tpe"          # tpe | random
    seed = 0                 # sampler seed
    base_config = "run.toml" # optional train config file (relative to this file)

    [objective]
    metric = "test_accuracy"  # test_/val_/train_ + accuracy | loss
    direction = "maximize"    # default: maximize accuracy, minimize loss

    [data]                    # the base train options: as in a train config, in [data],
    dataset = "digits"        # [model] and [train] (or at the top level), over base_config
    [train]
    epochs = 2

    [space]
    lr = { low = 1e-4, high = 1e-2, log = true }
    hidden = [[64], [128]]

Every mistake is one :class:`UserError` line that names the file and the key (``[space] lrr``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spikeflow.errors import UserError, check_choice
from spikeflow.sweep.space import Param, parse_param
from spikeflow.train.config import SECTIONS, TrainConfig, from_toml, with_overrides

#: Objective metrics: ``test_*`` is the run's final test (metrics.json ``test``), the others the
#: best epoch value in the objective's direction (metrics.json ``epochs``).
METRICS = ("test_accuracy", "test_loss", "val_accuracy", "val_loss", "train_accuracy", "train_loss")
DIRECTIONS = ("maximize", "minimize")
SAMPLERS = ("tpe", "random")
_SWEEP_KEYS = ("n_trials", "processes", "out", "storage", "study_name", "sampler", "seed")
_TABLES = ("sweep", "objective", "space", *SECTIONS)


@dataclass(frozen=True)
class SweepConfig:
    """A parsed, checked sweep file.

    Arguments:
        source: the TOML file (for messages). base: the train config every trial starts from.
        space: the parameters searched. metric, direction: the objective. n_trials: trials to
        finish. processes: trials at once. out: the sweep directory. storage: the Optuna
        storage URL. study_name: the study in the storage. sampler, seed: the Optuna sampler.
    """

    source: Path
    base: TrainConfig
    space: tuple[Param, ...]
    metric: str
    direction: str
    n_trials: int
    processes: int
    out: Path
    storage: str
    study_name: str
    sampler: str
    seed: int


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> SweepConfig:
    """Read and check a sweep file.

    Arguments:
        path: the TOML file.
        overrides: ``[sweep]`` keys given elsewhere (e.g. ``--n-trials`` on the command line);
            they win over the file.

    Returns:
        The :class:`SweepConfig`; any mistake raises :class:`UserError` naming the file and key.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"sweep file {str(path)!r} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"sweep file {str(path)!r} is not valid TOML: {err}") from None
    try:
        return _parse(path, doc, overrides or {})
    except UserError as err:
        raise UserError(f"{path}: {err}") from None


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise UserError(f"{name}={value!r} is not valid; expected a table [{name}]")
    return value


def _parse(path: Path, doc: dict[str, Any], overrides: dict[str, Any]) -> SweepConfig:
    sweep = {**_table(doc, "sweep"), **overrides}
    unknown = sorted(set(sweep) - {*_SWEEP_KEYS, "base_config"})
    if unknown:
        raise UserError(
            f"[sweep] key(s) {', '.join(unknown)} are not valid; expected some of "
            f"{', '.join((*_SWEEP_KEYS, 'base_config'))}"
        )
    base = _base(path, doc, sweep.get("base_config"))
    space_table = _table(doc, "space")
    if not space_table:
        raise UserError("[space] is empty; expected at least one train option to search")
    space = tuple(parse_param(k, v, base) for k, v in space_table.items())
    objective = _table(doc, "objective")
    unknown = sorted(set(objective) - {"metric", "direction"})
    if unknown:
        raise UserError(
            f"[objective] key(s) {', '.join(unknown)} are not valid; expected metric, direction"
        )
    metric = objective.get("metric", "test_accuracy")
    check_choice("objective.metric", metric, METRICS)
    direction = objective.get(
        "direction", "maximize" if metric.endswith("accuracy") else "minimize"
    )
    check_choice("objective.direction", direction, DIRECTIONS)
    if metric.startswith("val_") and base.val_fraction == 0 and "val_fraction" not in space_table:
        raise UserError(
            f"objective.metric={metric!r} needs a validation split; expected val_fraction > 0 "
            "in the base options"
        )
    n_trials = _int(sweep, "n_trials", None)
    processes = _int(sweep, "processes", 1)
    seed = _int(sweep, "seed", 0, allow_zero=True)
    sampler = _str(sweep, "sampler", "tpe")
    check_choice("sweep.sampler", sampler, SAMPLERS)
    out = Path(_str(sweep, "out", str(Path("sweeps") / path.stem)))
    storage = _str(sweep, "storage", "") or f"sqlite:///{(out / 'study.db').resolve()}"
    return SweepConfig(
        source=path, base=base, space=space, metric=metric, direction=direction,
        n_trials=n_trials, processes=processes, out=out, storage=storage,
        study_name=_str(sweep, "study_name", path.stem), sampler=sampler, seed=seed,
    )  # fmt: skip


def _base(path: Path, doc: dict[str, Any], base_config: Any) -> TrainConfig:
    """The base train config: ``base_config`` (if any), then the train keys of the file."""
    start = TrainConfig()
    if base_config is not None:
        if not isinstance(base_config, str):
            raise UserError(f"sweep.base_config={base_config!r} is not valid; expected a path")
        start = from_toml(path.parent / base_config)
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update(value)
        elif key not in _TABLES:
            flat[key] = value
    try:
        return with_overrides(start, flat)
    except UserError as err:
        raise UserError(f"train options: {err}") from None


def _int(table: dict[str, Any], key: str, default: int | None, allow_zero: bool = False) -> int:
    value = table.get(key, default)
    low = 0 if allow_zero else 1
    if value is None:
        raise UserError(f"sweep.{key} is missing; expected an integer >= {low}")
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"sweep.{key}={value!r} is not valid; expected an integer >= {low}")
    return value


def _str(table: dict[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise UserError(f"sweep.{key}={value!r} is not valid; expected a string")
    return value
