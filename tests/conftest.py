"""Strict, reproducible test settings shared by the whole suite."""

import os
import warnings

import pytest
import torch

# Two cores are shared by the whole suite; one intra-op thread keeps timings steady.
torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _seed_and_strict():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        # Silent broadcasting in torch losses and deprecated calls fail the test.
        warnings.filterwarnings("error", message=".*broadcast.*")
        warnings.filterwarnings("error", category=DeprecationWarning, module="spikeflow")
        yield
