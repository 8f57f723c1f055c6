"""``spikeflow.cli.main`` turns what a command raises into an exit code and one line: a user
error (2), Ctrl-C (130), an allocation failure (2, naming the sizes to reduce); any other error
keeps its traceback. The command is a stand-in: nothing is trained."""

import pytest

from spikeflow import cli
from spikeflow.commands import sweep as sweep_command
from spikeflow.errors import UserError


def _main_raising(monkeypatch, err: BaseException) -> int:
    def command(args):
        raise err

    monkeypatch.setattr(sweep_command, "run_sweep", command)
    return cli.main(["sweep", "--config", "unused.toml"])


@pytest.mark.parametrize(
    ("err", "code", "words"),
    [
        (
            UserError("n_trials=0 is not valid"),
            2,
            "spikeflow sweep: error: n_trials=0 is not valid",
        ),
        (KeyboardInterrupt(), 130, "spikeflow sweep: interrupted"),
        (MemoryError(), 2, "spikeflow sweep: error: out of memory (MemoryError); the sizes given"),
        (
            RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail"),
            2,
            "error: out of memory (CUDA out of memory. Tried to allocate 2.00 GiB); the sizes",
        ),
        (
            RuntimeError(
                "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"
            ),
            2,
            "reduce them",
        ),
    ],
)
def test_errors_become_one_line_and_an_exit_code(monkeypatch, capsys, err, code, words):
    assert _main_raising(monkeypatch, err) == code
    out = capsys.readouterr()
    assert words in out.err and out.err.count("\n") == 1 and "Traceback" not in out.err


def test_other_runtime_errors_keep_their_traceback(monkeypatch):
    with pytest.raises(RuntimeError, match="a real bug"):
        _main_raising(monkeypatch, RuntimeError("a real bug"))


def test_a_command_returning_none_exits_zero(monkeypatch):
    monkeypatch.setattr(sweep_command, "run_sweep", lambda args: None)
    assert cli.main(["sweep", "--config", "unused.toml"]) == 0


def test_version_is_the_installed_one(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == version("spikeflow")


def test_version_without_package_metadata_is_unknown(monkeypatch):
    import importlib.metadata

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert cli._version() == "unknown"
