"""A run directory belongs to one run: refused when used, locked against a second writer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from spikeflow.errors import UserError
from spikeflow.train.rundir import claim

HOLD = """
import sys, time
from spikeflow.train.rundir import claim
run = claim(sys.argv[1], resume=True, overwrite=False)  # kept: the lock lives with it
print("held", flush=True)
time.sleep(60)
"""


def test_a_non_empty_directory_needs_resume_or_overwrite(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"x")
    with pytest.raises(UserError, match=r"already holds a run \(checkpoint\.pt\)"):
        claim(tmp_path, resume=False, overwrite=False)
    with claim(tmp_path, resume=True, overwrite=False):
        pass
    with claim(tmp_path, resume=False, overwrite=True):
        pass


def test_a_new_or_empty_directory_is_claimed_and_a_file_refused(tmp_path):
    with claim(tmp_path / "new" / "run", resume=False, overwrite=False) as run:
        assert run.path.is_dir()
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="is a file"):
        claim(tmp_path / "f", resume=False, overwrite=False)


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"held"
    return proc


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path):
    proc = _holder(tmp_path)
    try:
        with pytest.raises(UserError, match="in use by another running spikeflow process"):
            claim(tmp_path, resume=True, overwrite=True)
    finally:
        proc.terminate()
        proc.wait(10)
    with claim(tmp_path, resume=True, overwrite=False):
        pass


def test_a_killed_holder_releases_the_lock(tmp_path):
    proc = _holder(tmp_path)
    with pytest.raises(UserError, match="in use"):
        claim(tmp_path, resume=True, overwrite=False)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    deadline = time.monotonic() + 5
    with claim(tmp_path, resume=True, overwrite=False) as run:
        assert run.path == tmp_path and time.monotonic() < deadline


def test_two_claims_in_one_process_conflict(tmp_path):
    with claim(tmp_path, resume=False, overwrite=False), pytest.raises(UserError, match="in use"):
        claim(tmp_path, resume=True, overwrite=False)
