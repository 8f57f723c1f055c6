"""The ``spikeflow`` command.

Each sub-command lives in its own module under :mod:`spikeflow.commands`; a module exposes
``add_parser(subparsers)``, which registers one or more sub-commands and sets ``func`` (a callable
taking the parsed arguments and returning an exit code). Errors that a user can fix are raised as
:class:`spikeflow.errors.UserError` and printed as one line, with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from spikeflow.errors import UserError

COMMAND_MODULES: tuple[str, ...] = (
    "spikeflow.commands.plot",
    "spikeflow.commands.train",
    "spikeflow.commands.demo",
    "spikeflow.commands.simulate",
    "spikeflow.commands.convert",
    "spikeflow.commands.sweep",
)


def build_parser() -> argparse.ArgumentParser:
    """Returns:
    The ``spikeflow`` parser with every sub-command of :data:`COMMAND_MODULES`.
    """
    parser = argparse.ArgumentParser(
        prog="spikeflow",
        description="Spiking neural networks on PyTorch: train, convert, simulate and plot.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikeflow`` command.

    Arguments:
        argv: the arguments after ``spikeflow`` (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 done, 2 a user error (printed as one line), 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"spikeflow {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spikeflow {args.command}: interrupted", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as err:
        from spikeflow.memory import is_out_of_memory  # torch loads only when needed

        if not is_out_of_memory(err):
            raise
        print(
            f"spikeflow {args.command}: error: out of memory ({_first_line(err)}); the sizes "
            "given (e.g. --num-steps, --batch-size, --hidden, --neurons) need more memory than "
            "this machine has: reduce them",
            file=sys.stderr,
        )
        return 2


def _first_line(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return (lines[0] if lines else type(err).__name__)[:200]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spikeflow")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
