"""The flags of the ``spikeflow`` command and a recorder of the ones a test gave.

:func:`parser_items` lists what the command accepts: every sub-command (``spikeflow plot raster``),
every flag of every (sub-)command by its longest spelling, and every choice of a positional
argument that has choices (``spikeflow simulate microcircuit``). ``--help`` is left out.

:func:`instrument` wraps every argparse action of a parser so that a call to it (argparse calls an
optional's action only when the flag is given on the command line, never for a default) adds the
item's name to :data:`CURRENT`, the list of the invocation being parsed.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

#: the items given in the invocation being parsed (a stack: one list per nested ``main``)
CURRENT: list[list[str]] = []


def _option_name(action: argparse.Action) -> str:
    return max(action.option_strings, key=lambda s: (s.startswith("--"), len(s)))


def _walk(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[argparse.ArgumentParser, argparse.Action]]:
    for action in parser._actions:
        yield parser, action
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases point at one parser
                yield from _walk(sub)


def action_items(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    """Returns:
    The item names of one action: ``"PROG --flag"``, ``"PROG SUB"`` for each sub-command,
    ``"PROG DEST=CHOICE"`` for each choice of a positional; none for ``--help``.
    """
    if isinstance(action, argparse._HelpAction):
        return []
    if isinstance(action, argparse._SubParsersAction):
        return [sub.prog for sub in dict.fromkeys(action.choices.values())]
    if action.option_strings:
        return [f"{parser.prog} {_option_name(action)}"]
    if action.choices is not None:
        return [f"{parser.prog} {action.dest}={choice}" for choice in action.choices]
    return []


def parser_items(parser: argparse.ArgumentParser) -> list[str]:
    """Returns:
    Every item of ``parser`` and its sub-parsers, in the parser's order.
    """
    return [item for p, action in _walk(parser) for item in action_items(p, action)]


def instrument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make every action of ``parser`` (and its sub-parsers) add its item to ``CURRENT[-1]``.

    Returns:
        ``parser``, changed in place.
    """
    for owner, action in list(_walk(parser)):
        if isinstance(action, argparse._HelpAction):
            continue
        action.__class__ = _recording_class(type(action), owner.prog)
    return parser


_CLASSES: dict[tuple[type, str], type] = {}


def _recording_class(cls: type, prog: str) -> type:
    if (cls, prog) in _CLASSES:
        return _CLASSES[cls, prog]

    def __call__(self, parser, namespace, values, option_string=None):
        if CURRENT:
            if isinstance(self, argparse._SubParsersAction):
                CURRENT[-1].append(self.choices[values[0]].prog)
            elif option_string is not None:
                CURRENT[-1].append(f"{prog} {_option_name(self)}")
            elif self.choices is not None and values in self.choices:
                CURRENT[-1].append(f"{prog} {self.dest}={values}")
        return cls.__call__(self, parser, namespace, values, option_string)

    recording = type(f"Recording{cls.__name__}", (cls,), {"__call__": __call__})
    _CLASSES[cls, prog] = recording
    return recording
