"""Command-line flags made from a config dataclass: the one place ``train`` and ``convert`` get
their experiment flags from.

Each flag is ``--field-name`` with ``dest=field`` and default ``None`` (so that only flags given
override the ``--config`` file); its help ends with the dataclass's default, read from the class,
never re-typed. Renamed flags (``--timesteps``) keep working for one release with a
``FutureWarning``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from spikeflow.config import defaults, field_names
from spikeflow.deprecation import warn_renamed


def int_list(text: str) -> list[int]:
    """Parse a comma-separated list of integers (an argparse ``type``).

    Arguments:
        text: e.g. ``"8,16,32"``.

    Returns:
        The integers (none for an empty text); bad text, an empty item included (``"8,,16"``,
        ``"8,"``), is an argparse error naming the value.
    """
    items = [v.strip() for v in text.split(",")]
    if items == [""]:
        return []
    try:
        if "" in items:
            raise ValueError("empty item")
        return [int(v) for v in items]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from err


def _show(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "off" if not value else "on"
    return str(value)


class _Renamed(argparse.Action):
    """Stores into the new ``dest`` and warns that the flag was renamed."""

    def __init__(self, *args: Any, new_flag: str, store_const: Any = None, **kwargs: Any) -> None:
        self.new_flag = new_flag
        self.store_const = store_const
        if store_const is not None:
            kwargs["nargs"] = 0
        super().__init__(*args, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        warn_renamed(option_string or "", self.new_flag, "flag")
        setattr(namespace, self.dest, self.store_const if self.store_const is not None else values)


def add_config_flags(
    parser: argparse.ArgumentParser,
    config_cls: type,
    specs: dict[str, dict[str, Any]],
    renamed: dict[str, str] | None = None,
) -> None:
    """Add one flag per entry of ``specs``, named after a field of ``config_cls``.

    Arguments:
        parser: the (sub-)command's parser.
        config_cls: the config dataclass whose fields and defaults the flags follow.
        specs: field name -> argparse keyword arguments (``type``, ``choices``, ``help``,
            ``metavar``; ``flag=True`` for a boolean switch). The help gets ``(default X)``
            appended from the dataclass.
        renamed: old flag (``"--timesteps"``) -> field name, accepted with a ``FutureWarning``.
    """
    known = defaults(config_cls)
    for name, spec in specs.items():
        if name not in known:
            raise ValueError(f"{config_cls.__name__} has no field {name!r}")
        spec = dict(spec)
        text = spec.pop("help", "")
        shown = f"(default {_show(known[name])})" if known[name] is not None else ""
        spec["help"] = f"{text} {shown}".strip()
        if spec.pop("flag", False):
            spec.update(action="store_const", const=True)
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, **spec)
    for old, name in (renamed or {}).items():
        spec = specs[name]
        extra: dict[str, Any] = {"store_const": True} if spec.get("flag") else {}
        if "type" in spec:
            extra["type"] = spec["type"]
        add_renamed_flag(parser, old, name, **extra)


def add_renamed_flag(parser: argparse.ArgumentParser, old: str, dest: str, **spec: Any) -> None:
    """Accept ``old`` as a hidden spelling of the flag of ``dest``, with a ``FutureWarning``.

    Arguments:
        parser: the (sub-)command's parser.
        old: the old flag, e.g. ``"--steps"``.
        dest: the destination of the new flag, e.g. ``"num_steps"`` (for ``--num-steps``).
        spec: ``type`` of the value, or ``store_const`` for a switch.
    """
    parser.add_argument(
        old,
        dest=dest,
        action=_Renamed,
        new_flag=f"--{dest.replace('_', '-')}",
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
        **spec,
    )


def given(args: argparse.Namespace, config_cls: type) -> dict[str, Any]:
    """The config values given on the command line.

    Arguments:
        args: the parsed arguments.
        config_cls: the config dataclass.

    Returns:
        ``{field: value}`` for every field whose flag was given (not ``None``).
    """
    names = [f for f in field_names(config_cls) if hasattr(args, f)]
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}
