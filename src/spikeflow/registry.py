"""A name registry for pluggable pieces: surrogates, datasets, models, losses, encoders, neurons.

Names are lower-cased and unique; every entry is type-checked when it is registered; an unknown
name raises :class:`~spikeflow.errors.UserError` listing the available ones::

    LOSSES = Registry("loss", Loss)
    LOSSES.register("rate_ce", Loss(...))
    LOSSES.get("rate_ce"); LOSSES.available()     # ('rate_ce', ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from spikeflow.errors import UserError

T = TypeVar("T")


class EntryTypeError(UserError, TypeError):
    """An entry of the wrong type: a :class:`UserError` (one line from the CLI) and a TypeError."""


class Registry(Generic[T]):
    """Entries of one kind, by lower-cased name.

    Arguments:
        kind: what an entry is, for messages (e.g. ``"surrogate"``, ``"dataset"``).
        check: a type an entry must be an instance of, or a predicate ``check(entry) -> bool``.
        expected: how to describe a valid entry in the message when ``check`` is a predicate.
    """

    def __init__(
        self, kind: str, check: type | Callable[[object], bool], expected: str | None = None
    ) -> None:
        self.kind = kind
        self._check = check
        self._expected = expected or (
            f"an instance of {check.__name__}" if isinstance(check, type) else "a valid entry"
        )
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name`` (lower-cased) and return it.

        Arguments:
            name: a non-empty string; a name already registered is rejected.
            entry: the object to register; must pass the registry's type check.

        Returns:
            ``entry``, so that a registration can wrap a definition.
        """
        ok = isinstance(entry, self._check) if isinstance(self._check, type) else self._check(entry)
        if not ok:
            raise EntryTypeError(
                f"{self.kind} {name!r}: {entry!r} is not valid; expected {self._expected}"
            )
        if not isinstance(name, str) or not name:
            raise UserError(f"{self.kind} name={name!r} is not valid; expected a non-empty string")
        key = name.lower()
        if key in self._entries:
            raise UserError(f"{self.kind} {key!r} is already registered")
        self._entries[key] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry registered under ``name`` (any case).

        Arguments:
            name: a registered name.

        Returns:
            The entry; an unknown name raises :class:`UserError` listing the available names.
        """
        key = name.lower() if isinstance(name, str) else name
        if key not in self._entries:
            raise UserError(
                f"{self.kind}={name!r} is not valid; expected one of {', '.join(self.available())}"
            )
        return self._entries[key]

    def unregister(self, name: str) -> T:
        """Remove the entry under ``name`` (e.g. a plug-in's, or a test's own).

        Arguments:
            name: a registered name (any case).

        Returns:
            The removed entry; an unknown name raises :class:`UserError`.
        """
        entry = self.get(name)
        del self._entries[name.lower()]
        return entry

    def available(self) -> tuple[str, ...]:
        """Returns:
        The registered names, sorted.
        """
        return tuple(sorted(self._entries))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.available())

    def __len__(self) -> int:
        return len(self._entries)
