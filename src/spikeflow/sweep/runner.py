"""Run a sweep: an Optuna study whose trials are ``spikeflow train`` runs in separate processes.

One coordinator process asks the study for trials, starts each as ``python -m spikeflow.cli
train`` in its own run directory ``OUT/trials/trial-NNNN`` (at most ``processes`` at once), reads
the objective from the run's ``metrics.json`` and tells the study; the table and figure are
rewritten after every trial. The study lives in the storage (SQLite in ``OUT`` by default; any
Optuna storage URL, so coordinators on several machines can share one study, each with its own
``OUT``).

Counting and resuming: ``n_trials`` is the number of finished trials the study should hold,
complete or failed by an error (a failed train run, a non-finite objective); the sweep starts
trials until that many are finished or running. Running it again with the same storage continues
the study: complete trials are kept and never rerun. A trial that was running when its sweep was
stopped (Ctrl-C or SIGTERM: the trials save checkpoints) or killed (any trial still ``RUNNING``
that this host and ``OUT`` started) is marked failed, does not count, and is queued again with
the same parameters; the retry continues the trial's checkpoint when there is one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from spikeflow.errors import UserError
from spikeflow.optional import require
from spikeflow.sweep import results
from spikeflow.sweep.config import SweepConfig
from spikeflow.sweep.results import TrialRow
from spikeflow.train import rundir
from spikeflow.train.config import to_toml, with_overrides
from spikeflow.train.signals import stop_on_signals

#: Exit code of a train run stopped by a signal (it saved a checkpoint).
INTERRUPTED = 130
_POLL_S = 0.2


@dataclass
class Outcome:
    """What :func:`run` did.

    Arguments:
        rows: every trial of the study (waiting ones left out). files: the table and figure
        written. interrupted: the sweep was stopped by a signal before its end.
    """

    rows: list[TrialRow]
    files: list[Path]
    interrupted: bool


@dataclass
class _Launched:
    trial: Any
    process: subprocess.Popen[bytes]
    run_dir: Path
    log: IO[bytes]


def objective_value(metrics: dict[str, Any], metric: str, direction: str) -> float | None:
    """The objective of one finished run.

    Arguments:
        metrics: the run's ``metrics.json``.
        metric: a name in :data:`spikeflow.sweep.config.METRICS`.
        direction: ``"maximize"`` or ``"minimize"``.

    Returns:
        ``test_*``: the run's test value; ``val_*`` / ``train_*``: the best epoch value in the
        direction. ``None`` when there is no finite value.
    """
    split, what = metric.split("_", 1)
    if split == "test":
        values = [metrics["test"].get(what)]
    else:
        values = [e.get(f"{split}_{what}") for e in metrics.get("epochs", [])]
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return None
    return max(finite) if direction == "maximize" else min(finite)


def run(sweep: SweepConfig, *, log: Any = print) -> Outcome:
    """Run (or continue) the sweep until ``n_trials`` trials are finished or a stop signal.

    Arguments:
        sweep: the parsed sweep file.
        log: called with one line per event (trial started, finished, failed).

    Returns:
        The :class:`Outcome`. A second sweep on the same ``out`` while this one runs, a bad
        storage URL or a study created with another space or objective raise :class:`UserError`.
    """
    optuna = require("optuna", extra="sweep", feature="spikeflow sweep")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with rundir.claim(sweep.out, resume=True, overwrite=False):
        study = _open_study(optuna, sweep)
        for line in _recover(optuna, study, sweep):
            log(line)
        interrupted = _loop(optuna, study, sweep, log)
        rows = trial_rows(optuna, study, sweep)
        files = results.write(rows, sweep.space, sweep.metric, sweep.direction, sweep.out)
    return Outcome(rows, files, interrupted)


def _open_study(optuna: Any, sweep: SweepConfig) -> Any:
    sweep.out.mkdir(parents=True, exist_ok=True)  # the default SQLite file lives there
    try:
        storage = optuna.storages.RDBStorage(sweep.storage)
    except Exception as err:  # SQLAlchemy and Optuna raise many kinds for a bad URL
        detail = (str(err).splitlines() or [type(err).__name__])[0]
        raise UserError(
            f"{sweep.source}: [sweep] storage={sweep.storage!r} is not a usable Optuna storage "
            f"URL ({detail}); expected e.g. sqlite:///PATH.db or postgresql://USER@HOST/DB"
        ) from None
    sampler = (
        optuna.samplers.TPESampler(seed=sweep.seed)
        if sweep.sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=sweep.seed)
    )
    study = optuna.create_study(
        storage=storage,
        sampler=sampler,
        study_name=sweep.study_name,
        direction=sweep.direction,
        load_if_exists=True,
    )
    signature = {  # through JSON, as the storage keeps it (tuples become lists)
        "space": [{"type": type(p).__name__, **dataclasses.asdict(p)} for p in sweep.space],
        "metric": sweep.metric,
        "direction": sweep.direction,
    }
    signature = json.loads(json.dumps(signature))
    saved = study.user_attrs.get("signature")
    if saved is None:
        trials_dir = sweep.out / "trials"
        if trials_dir.is_dir() and any(trials_dir.iterdir()):
            raise UserError(
                f"{sweep.source}: [sweep] out={str(sweep.out)!r} holds the trials of another "
                f"study than {sweep.study_name!r} in {sweep.storage!r}; expected a new out"
            )
        study.set_user_attr("signature", signature)
    elif saved != signature:
        raise UserError(
            f"{sweep.source}: the study {sweep.study_name!r} in {sweep.storage!r} was created "
            "with another [space] or [objective]; expected the same ones (or a new study_name)"
        )
    return study


def _recover(optuna: Any, study: Any, sweep: SweepConfig) -> list[str]:
    """Fail and queue again the trials this host and ``out`` left running (their sweep died)."""
    lines = []
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for t in running:
        if t.user_attrs.get("host") == socket.gethostname() and t.user_attrs.get("out") == str(
            sweep.out.resolve()
        ):
            _retry(study, study.tell(t.number, state=optuna.trial.TrialState.FAIL))
            lines.append(f"trial {t.number} was left running by a stopped sweep: queued again")
    return lines


def _retry(study: Any, t: Any) -> None:
    attrs: dict[str, Any] = {"retry_of": t.number}
    run_dir = t.user_attrs.get("run_dir")
    if run_dir and (Path(run_dir) / "checkpoint.pt").is_file():
        attrs["resume"] = run_dir
    study.enqueue_trial(t.params, user_attrs=attrs)


def _counts(optuna: Any, study: Any) -> int:
    """Trials finished (complete, or failed by an error) plus trials running, in the study."""
    state = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.FAIL, state.RUNNING))
    return sum(t.state != state.FAIL or "error" in t.user_attrs for t in trials)


def _loop(optuna: Any, study: Any, sweep: SweepConfig, log: Any) -> bool:
    slots: dict[int, _Launched] = {}
    stop: list[bool] = []
    with stop_on_signals(lambda: stop.append(True)):
        while True:
            while (
                not stop
                and len(slots) < sweep.processes
                and _counts(optuna, study) < sweep.n_trials
            ):
                launched = _launch(optuna, study, sweep, log)
                if launched is not None:
                    slots[launched.trial.number] = launched
            if not slots:
                break
            number = _wait_any(slots, stop)
            _collect(optuna, study, sweep, slots.pop(number), bool(stop), log)
            results.write(
                trial_rows(optuna, study, sweep),
                sweep.space,
                sweep.metric,
                sweep.direction,
                sweep.out,
            )
    return bool(stop)


def _launch(optuna: Any, study: Any, sweep: SweepConfig, log: Any) -> _Launched | None:
    trial = study.ask()
    run_dir = sweep.out / "trials" / f"trial-{trial.number:04d}"
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("out", str(sweep.out.resolve()))
    trial.set_user_attr("run_dir", str(run_dir))
    values = {p.name: p.suggest(trial) for p in sweep.space}
    if sweep.base.threads == 0 and "threads" not in values:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        values["threads"] = max(cpus // sweep.processes, 1)
    try:
        cfg = with_overrides(sweep.base, values)
    except UserError as err:  # each value is valid alone, the combination is not
        trial.set_user_attr("error", str(err))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log(f"trial {trial.number} failed: {err}")
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    to_toml(cfg, run_dir / "config.toml")
    # The trial directory belongs to this trial: it holds the config written above (and a retried
    # trial's earlier files), which --overwrite replaces; resuming in place keeps the checkpoint.
    cmd = [
        sys.executable, "-m", "spikeflow.cli", "train", "--out", str(run_dir), "--quiet",
        "--overwrite",
    ]  # fmt: skip
    resume = trial.user_attrs.get("resume")
    if resume and (Path(resume) / "checkpoint.pt").is_file():
        cmd += ["--resume", resume]
    else:
        cmd += ["--config", str(run_dir / "config.toml")]
    threads = str(cfg.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads}
    handle = open(run_dir / "train.log", "ab")  # noqa: SIM115 (closed in _collect)
    process = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env)
    shown = ", ".join(f"{k}={v}" for k, v in values.items() if k != "threads")
    log(f"trial {trial.number} started ({shown}) in {run_dir}")
    return _Launched(trial, process, run_dir, handle)


def _wait_any(slots: dict[int, _Launched], stop: list[bool]) -> int:
    """The number of a trial whose process ended; once ``stop`` is set, the running trials are
    sent SIGTERM (they save a checkpoint and exit)."""
    terminated = False
    while True:
        if stop and not terminated:
            for s in slots.values():
                if s.process.poll() is None:
                    s.process.terminate()
            terminated = True
        for number, s in slots.items():
            if s.process.poll() is not None:
                return number
        time.sleep(_POLL_S)


def _last_line(path: Path) -> str:
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1].strip()[-300:] if lines else "no output"


def _collect(
    optuna: Any, study: Any, sweep: SweepConfig, s: _Launched, stopped: bool, log: Any
) -> None:
    s.log.close()
    state, number, rc = optuna.trial.TrialState, s.trial.number, s.process.returncode
    if rc == 0:
        metrics = json.loads((s.run_dir / "metrics.json").read_text())
        value = objective_value(metrics, sweep.metric, sweep.direction)
        if value is not None:
            study.tell(s.trial, value)
            log(f"trial {number} finished: {sweep.metric} {value:.6g}")
            return
        error = f"the run has no finite {sweep.metric}"
    elif stopped or rc in (INTERRUPTED, -2, -15):
        _retry(study, study.tell(s.trial, state=state.FAIL))
        log(f"trial {number} interrupted: queued again")
        return
    else:
        error = f"train exited with {rc}: {_last_line(s.run_dir / 'train.log')}"
    s.trial.set_user_attr("error", error)
    study.tell(s.trial, state=state.FAIL)
    log(f"trial {number} failed: {error}")


def trial_rows(optuna: Any, study: Any, sweep: SweepConfig) -> list[TrialRow]:
    """The trials of ``study`` as table rows (waiting ones left out).

    Arguments:
        optuna: the optuna module. study: the study. sweep: its sweep file.

    Returns:
        One :class:`TrialRow` per trial, parameters as train values.
    """
    rows = []
    retried = {
        t.user_attrs["retry_of"]
        for t in study.get_trials(deepcopy=False)
        if "retry_of" in t.user_attrs
    }
    for t in study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.WAITING:
            continue
        params = {p.name: p.decode(t.params[p.name]) for p in sweep.space if p.name in t.params}
        note = t.user_attrs.get("error", "")
        if t.state == optuna.trial.TrialState.FAIL and not note:
            note = "interrupted" + ("; queued again" if t.number in retried else "")
        if "retry_of" in t.user_attrs:
            note = f"retry of trial {t.user_attrs['retry_of']}" + (f"; {note}" if note else "")
        duration = t.duration.total_seconds() if t.duration is not None else None
        rows.append(
            TrialRow(
                t.number,
                t.state.name,
                t.value,
                params,
                duration,
                t.user_attrs.get("run_dir", ""),
                note,
            )
        )
    return rows
