"""Experiment configs: frozen dataclasses, read from TOML sections and overridden by flat keys.

Training (:class:`spikeflow.train.TrainConfig`) and conversion
(:class:`spikeflow.convert.ConvertConfig`) share this pattern. A config class declares its fields
with defaults (the one place a default lives), validates itself in ``__post_init__``, and may name
``RENAMED`` keys (old name -> new name) that still work for one release with a ``FutureWarning``.
Precedence: defaults < TOML file < explicit values (e.g. command-line flags).
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, asdict, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from spikeflow.atomic import write_text
from spikeflow.deprecation import warn_renamed
from spikeflow.errors import UserError

C = TypeVar("C")


def field_names(cls: type) -> list[str]:
    """Returns:
    The field names of the config class ``cls``, in declaration order.
    """
    return [f.name for f in fields(cls)]


def defaults(cls: type) -> dict[str, Any]:
    """Returns:
    ``{field: default}`` of the config class ``cls`` (the one place defaults are written).
    """
    out: dict[str, Any] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            out[f.name] = f.default
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
        else:
            raise TypeError(f"{cls.__name__}.{f.name} has no default")
    return out


def renamed(cls: type, values: dict[str, Any], what: str = "config key") -> dict[str, Any]:
    """``values`` with the old key names of ``cls.RENAMED`` replaced by the new ones.

    Arguments:
        cls: a config class; ``cls.RENAMED`` maps old key -> new key (may be absent).
        values: flat keys and values.
        what: how to call a key in the warning (``"config key"``, ``"flag"``).

    Returns:
        The renamed dict; each old name found emits a ``FutureWarning`` naming the new one.
    """
    aliases: dict[str, str] = getattr(cls, "RENAMED", {})
    out = {}
    for key, value in values.items():
        if key in aliases:
            new = aliases[key]
            warn_renamed(key, new, what, stacklevel=4)
            if new in values:
                raise UserError(f"give {new!r} or its old name {key!r}, not both")
            key = new
        out[key] = value
    return out


def _coerce(cls: type, name: str, value: Any) -> Any:
    """Check a value from TOML or flags against the field's type; tuples from lists."""
    default = defaults(cls)[name]
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
    wanted = type(default) if default is not None else _optional_type(cls, name)
    if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
        raise UserError(f"{name}={value!r} is not valid; expected a {wanted.__name__}")
    return value


def _optional_type(cls: type, name: str) -> type:
    """The type of an optional field (default ``None``): ``str`` or ``int`` from its annotation."""
    annotation = str(next(f.type for f in fields(cls) if f.name == name))
    return str if annotation.startswith("str") else int


def with_overrides(cfg: C, values: dict[str, Any]) -> C:
    """``cfg`` with ``values`` replaced.

    Arguments:
        cfg: a config instance.
        values: flat keys (old names of ``RENAMED`` accepted with a ``FutureWarning``) and values.

    Returns:
        A new, validated config; an unknown key raises :class:`UserError` listing the valid ones.
    """
    cls = type(cfg)
    values = renamed(cls, values)
    names = field_names(cls)
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(
            f"config key(s) {', '.join(unknown)} are not valid; expected some of {', '.join(names)}"
        )
    return replace(cfg, **{k: _coerce(cls, k, v) for k, v in values.items()})  # type: ignore[type-var]


def read_toml(path: str | Path, sections: tuple[str, ...]) -> dict[str, Any]:
    """The flat keys of a TOML config file.

    Arguments:
        path: the file.
        sections: table names whose keys are flattened (keys may also be at the top level).

    Returns:
        ``{key: value}``; a missing or malformed file raises :class:`UserError`.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise UserError(f"config file {str(path)!r} does not exist") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"config file {str(path)!r} is not valid TOML: {err}") from err
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if key in sections and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def to_dict(cfg: Any) -> dict[str, Any]:
    """The flat config as plain Python values, for JSON and TOML.

    Arguments:
        cfg: a config instance.

    Returns:
        ``{field: value}`` with lists for tuples.
    """
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


def write_toml(cfg: Any, path: str | Path, sections: dict[str, list[str]]) -> Path:
    """Write ``cfg`` as TOML tables, atomically, leaving out ``None`` values.

    Arguments:
        cfg: a config instance.
        path: the file to write.
        sections: table name -> the keys it holds.

    Returns:
        ``path``.
    """
    flat = to_dict(cfg)
    doc = {
        section: {k: flat[k] for k in keys if flat[k] is not None}
        for section, keys in sections.items()
    }
    return write_text(path, tomli_w.dumps(doc))


def split_sections(cls: type, starts: dict[str, str]) -> dict[str, list[str]]:
    """Group the fields of ``cls`` into TOML tables by the field each table starts with.

    Arguments:
        cls: a config class.
        starts: table name -> its first field, in field order (the first table starts at 0).

    Returns:
        Table name -> its keys.
    """
    names = field_names(cls)
    bounds = [names.index(first) for first in starts.values()] + [len(names)]
    return {section: names[bounds[i] : bounds[i + 1]] for i, section in enumerate(starts)}
