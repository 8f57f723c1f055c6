"""The search space of a sweep: ranges and choices over train options, read from ``[space]``.

A key of ``[space]`` is a train option (a field of :class:`~spikeflow.train.TrainConfig`); its
value is either a list of choices (``neuron = ["lif", "alif"]``, ``hidden = [[64], [128, 64]]``)
or a range table ``{ low = ..., high = ..., log = true, step = ... }``. A range is an integer range
for an integer option and a float range for a float option; ``log`` samples uniformly in the
logarithm (``low > 0``); ``step`` quantises (not with ``log``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from spikeflow.config import field_names
from spikeflow.errors import UserError
from spikeflow.train.config import TrainConfig, with_overrides

#: Choice values Optuna stores as they are; others (lists) are stored as their JSON text.
_SCALARS = (bool, int, float, str)


@dataclass(frozen=True)
class Range:
    """A numeric range of one train option.

    Arguments:
        name: the train option. kind: ``"int"`` or ``"float"``. low, high: the bounds (both
        included). log: sample uniformly in ``log``. step: the spacing, or ``None``.
    """

    name: str
    kind: str
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def suggest(self, trial: Any) -> float | int:
        """The value of this option for an Optuna ``trial`` (recorded as its parameter)."""
        if self.kind == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=step, log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def decode(self, stored: Any) -> Any:
        """The train value of a stored parameter value (a range stores the value itself)."""
        return stored


@dataclass(frozen=True)
class Choice:
    """A list of values of one train option.

    Arguments:
        name: the train option. choices: the values (lists for list options such as ``hidden``).
    """

    name: str
    choices: tuple[Any, ...]

    def encoded(self) -> list[Any]:
        """The choices as Optuna stores them (lists as JSON text)."""
        return [v if isinstance(v, _SCALARS) else json.dumps(v) for v in self.choices]

    def suggest(self, trial: Any) -> Any:
        """The value of this option for an Optuna ``trial`` (recorded as its parameter)."""
        return self.decode(trial.suggest_categorical(self.name, self.encoded()))

    def decode(self, stored: Any) -> Any:
        """The train value of a stored parameter value."""
        return self.choices[self.encoded().index(stored)]


Param = Range | Choice


def parse_param(name: str, spec: Any, base: TrainConfig) -> Param:
    """One ``[space]`` entry, checked against the train options.

    Arguments:
        name: the key (a train option).
        spec: its TOML value: a list of choices or a range table.
        base: the base train config; every bound and choice must make a valid config with it.

    Returns:
        The :class:`Range` or :class:`Choice`; bad input raises :class:`UserError` naming the key
        as ``space.NAME`` (the caller prefixes the file).
    """
    names = field_names(TrainConfig)
    if name not in names:
        raise UserError(f"space.{name} is not a train option; expected one of {', '.join(names)}")
    param: Param
    if isinstance(spec, list):
        choice = _choice(name, spec)
        param, values = choice, list(choice.choices)
    elif isinstance(spec, dict):
        bounds = _range(name, spec, getattr(base, name))
        param, values = bounds, [bounds.low, bounds.high]
    else:
        raise UserError(
            f"space.{name}={spec!r} is not valid; expected a list of choices or a table "
            "{ low = ..., high = ..., log = false, step = ... }"
        )
    for value in values:
        try:
            with_overrides(base, {name: value})
        except UserError as err:
            raise UserError(f"space.{name}: the value {value!r} is not valid: {err}") from None
    return param


def _choice(name: str, spec: list[Any]) -> Choice:
    if not spec:
        raise UserError(f"space.{name}=[] is not valid; expected at least one choice")
    encoded = [v if isinstance(v, _SCALARS) else json.dumps(v) for v in spec]
    if len(set(map(repr, encoded))) != len(encoded):
        raise UserError(f"space.{name}={spec!r} is not valid; expected distinct choices")
    return Choice(name, tuple(spec))


def _range(name: str, spec: dict[str, Any], default: Any) -> Range:
    unknown = sorted(set(spec) - {"low", "high", "log", "step"})
    if unknown:
        raise UserError(
            f"space.{name} has unknown key(s) {', '.join(unknown)}; expected low, high, log, step"
        )
    if "low" not in spec or "high" not in spec:
        raise UserError(f"space.{name}={spec!r} is not valid; a range needs low and high")
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise UserError(
            f"space.{name} is a range, but the option {name} is not a number "
            f"(default {default!r}); give a list of choices instead"
        )
    kind = "int" if isinstance(default, int) else "float"
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    number = int if kind == "int" else (int, float)
    for key, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, number)):
            wanted = "an integer" if kind == "int" else "a number"
            raise UserError(f"space.{name}.{key}={value!r} is not valid; expected {wanted}")
    if not isinstance(log, bool):
        raise UserError(f"space.{name}.log={log!r} is not valid; expected true or false")
    if not low < high:
        raise UserError(f"space.{name}: low={low!r} must be below high={high!r}")
    if log and low <= 0:
        raise UserError(f"space.{name}: low={low!r} must be > 0 with log = true")
    if step is not None and (step <= 0 or log):
        raise UserError(
            f"space.{name}.step={step!r} is not valid; expected a positive step without log"
        )
    if kind == "float":
        low, high = float(low), float(high)
        step = None if step is None else float(step)
    return Range(name, kind, low, high, log, step)
