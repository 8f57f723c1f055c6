"""How the sweep runner books an ended trial process (finished, without a value, interrupted,
crashed) and waits for one, with stand-in processes: no training subprocess is started."""

import json
import textwrap
from types import SimpleNamespace

import optuna
import pytest

from spikeflow.sweep import load
from spikeflow.sweep.runner import _collect, _Launched, _open_study, _wait_any

SWEEP = """
[sweep]
n_trials = 2

[space]
lr = { low = 1e-3, high = 1e-1, log = true }
"""


@pytest.fixture
def setup(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(SWEEP))
    cfg = load(path, {"out": str(tmp_path / "out"), "storage": "sqlite:///:memory:"})
    study = _open_study(optuna, cfg)
    return cfg, study


def _ended(study, cfg, tmp_path, rc, *, metrics=None, log_text=""):
    trial = study.ask()
    trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    run_dir = tmp_path / f"trial-{trial.number}"
    run_dir.mkdir()
    if metrics is not None:
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "train.log").write_text(log_text)
    handle = open(run_dir / "train.log", "ab")  # noqa: SIM115 (closed by _collect)
    return _Launched(trial, SimpleNamespace(returncode=rc), run_dir, handle)


def test_a_finished_trial_is_told_its_test_accuracy(setup, tmp_path):
    cfg, study = setup
    lines = []
    launched = _ended(study, cfg, tmp_path, 0, metrics={"test": {"accuracy": 0.75}})
    _collect(optuna, study, cfg, launched, False, lines.append)
    assert launched.log.closed
    assert study.trials[0].state.name == "COMPLETE" and study.trials[0].value == 0.75
    assert lines == ["trial 0 finished: test_accuracy 0.75"]


def test_a_run_without_a_finite_metric_fails_the_trial(setup, tmp_path):
    cfg, study = setup
    lines = []
    launched = _ended(study, cfg, tmp_path, 0, metrics={"test": {"accuracy": float("nan")}})
    _collect(optuna, study, cfg, launched, False, lines.append)
    assert study.trials[0].state.name == "FAIL"
    assert study.trials[0].user_attrs["error"] == "the run has no finite test_accuracy"
    assert lines == ["trial 0 failed: the run has no finite test_accuracy"]


def test_a_crashed_run_fails_the_trial_with_its_last_log_line(setup, tmp_path):
    cfg, study = setup
    lines = []
    launched = _ended(study, cfg, tmp_path, 1, log_text="epoch 1\nerror: out of memory\n\n")
    _collect(optuna, study, cfg, launched, False, lines.append)
    assert study.trials[0].user_attrs["error"] == "train exited with 1: error: out of memory"
    assert lines == ["trial 0 failed: train exited with 1: error: out of memory"]


@pytest.mark.parametrize(("rc", "stopped"), [(130, False), (-15, False), (1, True)])
def test_an_interrupted_run_is_queued_again_with_its_parameters(setup, tmp_path, rc, stopped):
    cfg, study = setup
    lines = []
    launched = _ended(study, cfg, tmp_path, rc)
    (launched.run_dir / "checkpoint.pt").write_bytes(b"x")
    launched.trial.set_user_attr("run_dir", str(launched.run_dir))
    _collect(optuna, study, cfg, launched, stopped, lines.append)
    assert lines == ["trial 0 interrupted: queued again"]
    assert "error" not in study.trials[0].user_attrs
    retry = study.ask()
    assert retry.user_attrs == {"retry_of": 0, "resume": str(launched.run_dir)}
    assert retry.suggest_float("lr", 1e-3, 1e-1, log=True) == study.trials[0].params["lr"]


class _Process:
    def __init__(self, polls):
        self.polls, self.terminated = list(polls), False

    def poll(self):
        return self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]

    def terminate(self):
        self.terminated = True


def test_waiting_returns_the_first_ended_process_and_a_stop_terminates_the_rest(monkeypatch):
    monkeypatch.setattr("spikeflow.sweep.runner._POLL_S", 0.0)
    slots = {3: SimpleNamespace(process=_Process([None, None, 0])),
             5: SimpleNamespace(process=_Process([None, 0]))}  # fmt: skip
    assert _wait_any(slots, []) == 5
    assert not any(s.process.terminated for s in slots.values())
    running = {7: SimpleNamespace(process=_Process([None, None, -15]))}
    assert _wait_any(running, [True]) == 7
    assert running[7].process.terminated
