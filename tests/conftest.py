"""Strict, reproducible test settings shared by the whole suite, and the global settings every
test gets back as it found them (tests run in random order and in parallel workers)."""

import os
import warnings
from pathlib import Path

import numba
import pytest
import torch

pytest_plugins = ["pytester"]

# Two cores are shared by the whole suite; one intra-op thread keeps timings steady. numba's
# threads start first: starting its OpenMP pool resets the OpenMP thread count torch reads.
numba.get_num_threads()
torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")

# command-line tests run on the CPU even where a GPU is present (their figures are CPU figures)
_CPU_ONLY = ("commands", "test_cli.py")


@pytest.fixture(autouse=True)
def _seed_and_strict():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        # Silent broadcasting in torch losses and deprecated calls fail the test.
        warnings.filterwarnings("error", message=".*broadcast.*")
        warnings.filterwarnings("error", category=DeprecationWarning, module="spikeflow")
        yield


@pytest.fixture(autouse=True)
def _restore_global_settings():
    """torch's thread count (the trainer sets it), default dtype and deterministic mode, numba's
    thread count and the environment variables are put back after each test."""
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    deterministic = torch.are_deterministic_algorithms_enabled()
    numba_threads, environ = numba.get_num_threads(), dict(os.environ)
    yield
    numba.set_num_threads(numba_threads)  # first: it may set the OpenMP count torch reads
    torch.set_num_threads(threads)
    torch.set_default_dtype(dtype)
    torch.use_deterministic_algorithms(deterministic)
    if dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(autouse=True)
def _cli_on_cpu(request, monkeypatch):
    path = Path(str(request.node.path))
    if path.parent.name in _CPU_ONLY or path.name in _CPU_ONLY:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
