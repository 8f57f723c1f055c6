"""Renamed arguments keep working for one release, with a ``FutureWarning`` naming the new name.

``FutureWarning`` (not ``DeprecationWarning``) because it is shown to users by default: the people
who call the library and the command, not only the developers running its tests.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from spikeflow.errors import UserError

P = ParamSpec("P")
R = TypeVar("R")


def warn_renamed(old: str, new: str, what: str = "argument", stacklevel: int = 3) -> None:
    """Emit the ``FutureWarning`` of a renamed name.

    Arguments:
        old: the old name. new: the name to use instead.
        what: what the name is, for the message (``"argument"``, ``"config key"``, ``"flag"``).
        stacklevel: as for :func:`warnings.warn` (3: the caller of the function that calls this).
    """
    warnings.warn(
        f"{what} {old!r} is deprecated and will be removed in the next release; use {new!r}",
        FutureWarning,
        stacklevel=stacklevel,
    )


def renamed_kwargs(**old_to_new: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function so that its old keyword names still work, with a ``FutureWarning``.

    Arguments:
        old_to_new: old keyword name -> new keyword name, e.g. ``timesteps="num_steps"``.

    Returns:
        The decorator. Passing both an old name and its new name raises :class:`UserError`.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise UserError(f"give {new!r} or its old name {old!r}, not both")
                    warn_renamed(old, new)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def renamed_value(name: str, value: Any, old_to_new: dict[str, str]) -> Any:
    """``value`` with a renamed choice replaced by its new name (and a ``FutureWarning``).

    Arguments:
        name: the argument's name, for the message. value: the value given.
        old_to_new: old choice -> new choice, e.g. ``{"analog": "direct"}``.

    Returns:
        The new choice for an old one, else ``value`` unchanged.
    """
    if isinstance(value, str) and value in old_to_new:
        warn_renamed(f"{name}={value!r}", f"{name}={old_to_new[value]!r}", "value", stacklevel=4)
        return old_to_new[value]
    return value
