"""``spikeflow sweep`` through the command line: one tiny trial, every flag of the command."""

import csv
import json
import textwrap
from pathlib import Path

import pytest

from spikeflow.cli import main

pytest.importorskip("optuna")

SWEEP = """
[sweep]
n_trials = 3
processes = 2
seed = 1

[data]
limit_train = 20
limit_test = 10
num_steps = 2
val_fraction = 0.0

[model]
hidden = [4]

[train]
epochs = 1
batch_size = 20
device = "cpu"
threads = 1

[space]
lr = { low = 1e-3, high = 1e-1, log = true }
"""


def test_one_trial_in_a_storage_of_our_choosing(tmp_path, capsys):
    sweep_file = tmp_path / "tiny.toml"
    sweep_file.write_text(textwrap.dedent(SWEEP))
    out, db = tmp_path / "out", tmp_path / "elsewhere.db"
    argv = ["sweep", "--config", str(sweep_file), "--out", str(out), "--n-trials", "1",
            "--processes", "1", "--storage", f"sqlite:///{db}"]  # fmt: skip
    assert main(argv) == 0
    assert db.stat().st_size > 0 and not (out / "study.db").exists()  # the storage given
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["state"] for r in rows] == ["COMPLETE"]  # --n-trials 1 over the file's 3
    metrics = json.loads((Path(rows[0]["run_dir"]) / "metrics.json").read_text())
    assert float(rows[0]["lr"]) == pytest.approx(metrics["config"]["lr"], rel=1e-5)
    assert "best: trial 0" in capsys.readouterr().out
