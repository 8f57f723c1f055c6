"""pytest plugin (``-p tests.audit.plugin``): records the ``spikeflow`` flags each test gave.

Active only when ``SPIKEFLOW_AUDIT_FLAGS`` names a folder. ``spikeflow.cli.main`` is then wrapped
(before the test modules import it) and ``spikeflow.cli.build_parser`` returns a parser whose
actions note each flag given (:mod:`tests.audit.cli_flags`). When a call of ``main`` returns 0
(or ``--version`` exits with 0), the flags given in it are appended, one JSON line per call, to
``flags-PID.jsonl`` in that folder: each pytest-xdist worker writes its own file, and
``tools/audit.py`` reads them all. Commands run in a subprocess are not recorded, so a flag that
only a subprocess test gives counts as not exercised (the audit can only err on the strict side).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.audit import cli_flags

ENV = "SPIKEFLOW_AUDIT_FLAGS"


def pytest_configure(config: pytest.Config) -> None:
    folder = os.environ.get(ENV)
    if not folder:
        return
    import spikeflow.cli as cli

    out = Path(folder) / f"flags-{os.getpid()}.jsonl"
    build_parser, main = cli.build_parser, cli.main

    @functools.wraps(build_parser)
    def recording_parser():
        return cli_flags.instrument(build_parser())

    @functools.wraps(main)
    def recording_main(argv: Sequence[str] | None = None) -> int:
        given: list[str] = []
        cli_flags.CURRENT.append(given)
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            if code == 0:
                _append(out, given)
            raise
        finally:
            cli_flags.CURRENT.pop()
        if code == 0:
            _append(out, given)
        return code

    cli.build_parser = recording_parser
    cli.main = recording_main


def _append(out: Path, given: list[str]) -> None:
    with out.open("a") as f:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        f.write(json.dumps({"test": test, "items": given}) + "\n")
