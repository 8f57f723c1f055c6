"""The scripts in examples/ run as documented."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_lif_neuron_example_draws_the_figure(tmp_path):
    out = run("lif_neuron.py", tmp_path)
    assert out.strip() == "6 spikes in 200 ms"  # 1 / (5 ms + 20 ms ln 3) -> one spike per 27 ms
    assert (tmp_path / "lif_neuron.png").stat().st_size > 10_000


@pytest.mark.slow
def test_train_digits_example_learns(tmp_path):
    out = run("train_digits.py", tmp_path)
    final = float(out.strip().splitlines()[-1].rsplit(" ", 1)[1].rstrip("%"))
    assert final > 93.0
