"""The sweep runner: storage errors, recovery of trials a dead sweep left running, refusal of a
changed space and of a second sweep on one directory (fast); a real sweep through the CLI with two
processes, continued to more trials without rerunning any, and a killed sweep resumed (slow)."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.sweep import load, run
from spikeflow.sweep.runner import _counts, _open_study, _recover, trial_rows
from spikeflow.train import checkpoint, rundir

SWEEP = """
[sweep]
n_trials = 2
processes = 2
seed = 7

[data]
limit_train = 60
limit_test = 20
num_steps = 2
val_fraction = 0.0

[model]
hidden = [8]

[train]
epochs = 1
batch_size = 30
device = "cpu"
threads = 1

[space]
lr = { low = 1e-3, high = 1e-1, log = true }
hidden = [[6], [10]]
"""


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(SWEEP))
    return path


def test_a_bad_storage_url_is_a_user_error(sweep_file, tmp_path):
    for url in ("nosuchdb://x/y", "sqlite:////no/such/dir/study.db", "not a url"):
        cfg = load(sweep_file, {"out": str(tmp_path / "out"), "storage": url})
        with pytest.raises(UserError, match=r"\[sweep\] storage=.* is not a usable Optuna") as err:
            run(cfg)
        assert "\n" not in str(err.value) and str(err.value).startswith(str(sweep_file))


def test_trials_left_running_here_are_failed_and_queued_again(sweep_file, tmp_path):
    cfg = load(sweep_file, {"out": str(tmp_path / "out"), "n_trials": 3})
    study = _open_study(optuna, cfg)
    mine = study.ask()
    for key, value in {"host": socket.gethostname(), "out": str(cfg.out.resolve())}.items():
        mine.set_user_attr(key, value)
    run_dir = cfg.out / "trials" / "trial-0000"
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"x")
    mine.set_user_attr("run_dir", str(run_dir))
    params = {p.name: p.suggest(mine) for p in cfg.space}
    other = study.ask()  # another machine's coordinator, still alive
    other.set_user_attr("host", "elsewhere")
    done = study.ask()
    study.tell(done, 0.5)
    assert _counts(optuna, study) == 3

    lines = _recover(optuna, study, cfg)
    assert lines == ["trial 0 was left running by a stopped sweep: queued again"]
    states = [t.state.name for t in study.get_trials()]
    assert states == ["FAIL", "RUNNING", "COMPLETE", "WAITING"]
    assert _counts(optuna, study) == 2  # the interrupted trial does not count
    retry = study.ask()
    assert retry.number == 3 and retry.user_attrs == {"retry_of": 0, "resume": str(run_dir)}
    assert {p.name: p.suggest(retry) for p in cfg.space} == params
    rows = {r.number: r for r in trial_rows(optuna, study, cfg)}
    assert rows[0].note == "interrupted; queued again" and rows[3].note == "retry of trial 0"
    assert _recover(optuna, study, cfg) == []  # the retry is not this host's: no user attrs set


def test_a_changed_space_or_objective_is_refused(sweep_file, tmp_path):
    cfg = load(sweep_file, {"out": str(tmp_path / "out")})
    _open_study(optuna, cfg)
    sweep_file.write_text(sweep_file.read_text().replace("[[6], [10]]", "[[6], [12]]"))
    changed = load(sweep_file, {"out": str(tmp_path / "out")})
    with pytest.raises(UserError, match=r"was created with another \[space\] or \[objective\]"):
        _open_study(optuna, changed)
    _open_study(optuna, cfg)  # the same space opens the same study again


def test_trials_of_another_study_in_out_are_refused(sweep_file, tmp_path):
    cfg = load(sweep_file, {"out": str(tmp_path / "out")})
    (cfg.out / "trials" / "trial-0000").mkdir(parents=True)
    with pytest.raises(UserError, match=r"holds the trials of another study"):
        _open_study(optuna, cfg)


def test_a_second_sweep_on_the_same_out_is_refused(sweep_file, tmp_path):
    cfg = load(sweep_file, {"out": str(tmp_path / "out")})
    with (
        rundir.claim(cfg.out, resume=True, overwrite=False),
        pytest.raises(UserError, match=r"is in use by another running spikeflow process"),
    ):
        run(cfg)


def test_missing_optuna_is_a_user_error(sweep_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)
    argv = ["sweep", "--config", str(sweep_file), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "spikeflow[sweep]" in capsys.readouterr().err


def read_table(out):
    with open(out / "results.csv") as f:
        return list(csv.DictReader(f))


def check_trial(row, limit_train=60):
    """The table row of a complete trial holds its run's test accuracy and parameters."""
    run_dir = row["run_dir"]
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    assert float(row["test_accuracy"]) == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    cfg = metrics["config"]
    assert float(row["lr"]) == pytest.approx(cfg["lr"], rel=1e-5)
    assert row["hidden"] == ",".join(map(str, cfg["hidden"]))
    assert cfg["limit_train"] == limit_train  # a base option


@pytest.mark.slow  # six train runs in subprocesses: ~3 min on a loaded 2-core machine
def test_sweep_through_the_cli_then_more_trials(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", "--config", str(sweep_file), "--out", str(out)]) == 0
    first = read_table(out)
    assert [r["state"] for r in first] == ["COMPLETE", "COMPLETE"]
    for row in first:
        check_trial(row)
    printed = capsys.readouterr().out
    assert "best: trial" in printed and str(out / "sweep.png") in printed
    assert (out / "results.md").read_text().count(" * |") == 1
    stamps = {
        r["run_dir"]: os.stat(os.path.join(r["run_dir"], "metrics.json")).st_mtime_ns for r in first
    }

    assert main(["sweep", "--config", str(sweep_file), "--out", str(out), "--n-trials", "4"]) == 0
    second = read_table(out)
    assert [r["trial"] for r in second] == ["0", "1", "2", "3"]
    assert all(r["state"] == "COMPLETE" for r in second)
    assert second[:2] == first  # the first two trials are kept as they were, not rerun
    for run_dir, stamp in stamps.items():
        assert os.stat(os.path.join(run_dir, "metrics.json")).st_mtime_ns == stamp
    for row in second[2:]:
        check_trial(row)
    assert len(list((out / "trials").iterdir())) == 4


@pytest.mark.slow  # a killed sweep and its resumption: ~2 min on a loaded 2-core machine
def test_a_killed_sweep_resumes_its_running_trial(sweep_file, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "spikeflow.cli", "sweep", "--config", str(sweep_file)]
    cmd += ["--out", str(out), "--n-trials", "1", "--processes", "1"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    log = out / "trials" / "trial-0000" / "train.log"
    deadline = time.monotonic() + 300
    while not log.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.exists() and proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its trial die at once
    proc.wait()
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state.name for t in study.get_trials()] == ["RUNNING"]
    params = study.get_trials()[0].params

    assert main(["sweep", "--config", str(sweep_file), "--out", str(out), "--n-trials", "1"]) == 0
    rows = read_table(out)
    assert [(r["trial"], r["state"]) for r in rows] == [("0", "FAIL"), ("1", "COMPLETE")]
    assert rows[0]["note"] == "interrupted; queued again" and rows[1]["note"] == "retry of trial 0"
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{out / 'study.db'}")
    assert study.get_trials()[1].params == params
    check_trial(rows[1])


@pytest.mark.slow  # a sweep stopped by SIGTERM and continued: ~2 min on a loaded 2-core machine
def test_a_stopped_sweep_continues_the_checkpoint_of_its_trial(sweep_file, tmp_path):
    """SIGTERM to the sweep alone: it stops its trial (which saves a checkpoint), marks it
    interrupted and exits 130; run again, the retry continues that checkpoint."""
    text = sweep_file.read_text().replace("limit_train = 60", "limit_train = 600")
    sweep_file.write_text(
        text.replace("batch_size = 30", "batch_size = 10").replace("epochs = 1", "epochs = 3")
    )
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "spikeflow.cli", "sweep", "--config", str(sweep_file)]
    cmd += ["--out", str(out), "--n-trials", "1", "--processes", "1"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL)
    first = out / "trials" / "trial-0000"
    deadline = time.monotonic() + 300
    while not (first / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # 120 batches of 10 are left to train: it stops first
    assert proc.wait(timeout=300) == 130
    payload = checkpoint.load(first)
    assert (payload["epoch"], payload["batch"]) < (3, 0)
    rows = read_table(out)
    assert [(r["trial"], r["state"], r["note"]) for r in rows] == [
        ("0", "FAIL", "interrupted; queued again")
    ]

    assert main(["sweep", "--config", str(sweep_file), "--out", str(out), "--n-trials", "1"]) == 0
    rows = read_table(out)
    assert [(r["trial"], r["state"]) for r in rows] == [("0", "FAIL"), ("1", "COMPLETE")]
    retry = out / "trials" / "trial-0001"
    assert f"resuming {first}" in (retry / "train.log").read_text()
    metrics = json.loads((retry / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 3
    assert metrics["epochs"][: len(payload["history"])] == payload["history"]
    check_trial(rows[1], limit_train=600)
