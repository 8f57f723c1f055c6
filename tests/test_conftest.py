"""The suite's fixtures put global settings back: a test that changes them leaves no trace in the
next one (checked in a separate pytest run with this suite's conftest, in a fixed order)."""

from pathlib import Path

INNER = """
import os

import numba
import torch

BEFORE = (torch.get_num_threads(), torch.get_default_dtype(), numba.get_num_threads())


def test_1_changes_every_global_setting():
    torch.set_num_threads(BEFORE[0] + 1)
    torch.set_default_dtype(torch.float64)
    numba.set_num_threads(1)
    os.environ["SPIKEFLOW_PROBE"] = "1"
    assert torch.get_default_dtype() == torch.float64


def test_2_finds_them_restored():
    assert (torch.get_num_threads(), torch.get_default_dtype(), numba.get_num_threads()) == BEFORE
    assert "SPIKEFLOW_PROBE" not in os.environ


def test_3_commands_see_no_gpu():
    assert not torch.cuda.is_available()
"""


def test_global_settings_are_restored_between_tests(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_settings=INNER)
    (pytester.path / "commands").mkdir()
    (pytester.path / "test_settings.py").rename(pytester.path / "commands" / "test_settings.py")
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:xdist", "-q")
    result.assert_outcomes(passed=3)
