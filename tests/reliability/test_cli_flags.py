"""Every numeric flag of every command, fed NaN, infinities, zero, negatives and huge values (a
fixed table) and values hypothesis draws (any float, integers past 64 bits).

The flags are read from the parser itself, so a flag added later is covered without editing this
file. Each hostile value must be refused with exit code 2 and a message (never a traceback), or be
accepted only where :data:`ACCEPTED` documents why the value means something. Accepted runs stop
at their first expensive step (training, conversion, simulation), so the whole table runs in
seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeflow.cli import build_parser, main
from spikeflow.commands.flags import int_list

FLOATS = ("nan", "inf", "-inf", "0", "-1", "1e30")
INTS = ("0", "-1", str(10**18))

#: Cheap valid arguments per command ({tmp} is the test's directory, {ckpt} a trained run).
BASE = {
    ("train",): ["--limit-train", "32", "--limit-test", "16", "--hidden", "4", "--num-steps",
                 "2", "--epochs", "1", "--batch-size", "16", "--quiet", "--out", "{tmp}/run"],
    ("evaluate",): ["{ckpt}", "--out", "{tmp}/ev"],
    ("convert",): ["--limit-train", "32", "--limit-test", "16", "--epochs", "1", "--quiet",
                   "--out", "{tmp}/conv"],
    ("simulate",): ["cuba", "--neurons", "100", "--duration", "2ms", "--out", "{tmp}/sim"],
    ("stdp",): ["--neurons", "4", "--train-limit", "8", "--test-limit", "8", "--out", "{tmp}/s"],
    ("plot", "neuron"): ["--out", "{tmp}/n.png", "--num-steps", "20"],
    ("plot", "raster"): ["--out", "{tmp}/r.png", "--num-steps", "5"],
    ("sweep",): ["--config", "{sweep}", "--out", "{tmp}/sweep"],
}  # fmt: skip
SWEEP_FILE = """
[sweep]
n_trials = 2
[train]
epochs = 1
[space]
lr = { low = 1e-4, high = 1e-2, log = true }
"""

#: Hostile values a flag accepts, and why. Anything else must be refused.
ACCEPTED = {
    # off switches and "all"
    ("train", "--clip-grad", "0"): "0 turns clipping off",
    ("train", "--patience", "0"): "0 turns early stopping off",
    ("train", "--threads", "0"): "0 = all allowed CPUs",
    ("train", "--weight-decay", "0"): "no weight decay",
    ("train", "--reg-weight", "0"): "no regulariser",
    ("train", "--val-fraction", "0"): "no validation split",
    ("train", "--dropout", "0"): "no dropout",
    ("convert", "--v-init", "0"): "membranes start at 0",
    # seeds: any integer the RNGs take
    **{(c, "--seed", v): "a seed" for c in ("train", "convert", "simulate", "stdp", "plot raster")
       for v in ("0", str(10**18))},
    # sizes beyond the data are capped at the data
    **{(c, f, str(10**18)): "capped at the dataset's size"
       for c, f in (("train", "--limit-train"), ("train", "--limit-test"),
                    ("evaluate", "--limit-test"), ("convert", "--limit-train"),
                    ("convert", "--limit-test"), ("convert", "--calibration"),
                    ("convert", "--energy-samples"), ("stdp", "--train-limit"),
                    ("stdp", "--test-limit"))},
    # long runs are what was asked for (interruptible, resumable)
    ("train", "--epochs", str(10**18)): "a long run, stopped with Ctrl-C",
    ("train", "--patience", str(10**18)): "early stopping never triggers",
    ("convert", "--epochs", str(10**18)): "a long run",
    ("stdp", "--epochs", str(10**18)): "a long run",
    ("train", "--batch-size", str(10**18)): "one batch of the whole set",
    ("train", "--eval-batch-size", str(10**18)): "one batch of the whole set",
    ("convert", "--batch-size", str(10**18)): "one batch of the whole set",
    ("convert", "--eval-batch-size", str(10**18)): "one batch of the whole set",
    ("convert", "--eval-batch", str(10**18)): "one batch of the whole set",
    ("train", "--ddp-timeout", "1e30"): "wait (practically) forever",
    # values that are valid physics or valid training settings
    **{("plot neuron", "--current", v): "any input current" for v in ("0", "-1", "1e30")},
    **{("plot neuron", "--gain", v): "any input scale" for v in ("0", "-1", "1e30")},
    ("plot neuron", "--onset", "0"): "the current starts at step 0",
    ("plot neuron", "--dt", "1e30"): "a (coarse) step; the decay is then 0",
    ("plot neuron", "--tau", "1e30"): "no leak",
    ("plot neuron", "--beta", "0"): "no memory",
    ("train", "--beta", "0"): "no memory",
    ("plot neuron", "--threshold", "1e30"): "a neuron that never fires",
    ("train", "--threshold", "1e30"): "neurons that never fire",
    **{("plot neuron", "--refractory", v): "refractory steps" for v in ("0", str(10**18))},
    ("plot raster", "--sample", "0"): "the first sample",
    ("train", "--gain", "1e30"): "saturated input (rate: always spikes)",
    ("train", "--reg-rate", "0"): "penalise every spike",
    ("plot raster", "--threshold", "1e30"): "a delta threshold no change reaches: no events",
    **{("train", f, "1e30"): "trains as asked; a non-finite loss stops the run"
       for f in ("--weight-decay", "--reg-weight")},
    ("train", "--clip-grad", "1e30"): "a bound no gradient reaches",
    ("train", "--channels", str(10**18)): "cnn widths, unused by the base run's mlp",
    ("train", "--tensorboard-every", str(10**18)): "test metrics and images after the last epoch only",
    ("train", "--delays", "0"): "no delays",
    **{("train", f, v): "0 = off; K >= T = one segment (plain BPTT)"
       for f in ("--tbptt", "--checkpoint-every") for v in ("0", str(10**18))},
    ("sweep", "--n-trials", str(10**18)): "a long search, stopped with Ctrl-C and resumable",
    ("sweep", "--processes", str(10**18)): "at most n_trials run at once",
    ("train", "--lr", "1e30"): "trains as asked; a non-finite loss stops the run (test below)",
    ("convert", "--lr", "1e30"): "trains as asked",
    ("convert", "--levels", str(10**18)): "QCFS with fine steps (plain ReLU)",
    ("stdp", "--max-rate", "1e30"): "input neurons spike at every step",
    ("stdp", "--w-total", "1e30"): "strong input weights",
    # sizes no machine holds: refused at allocation with one line (test below)
    **{("convert", f, str(10**18)): "refused at allocation"
       for f in ("--hidden", "--channels", "--num-steps")},
    ("stdp", "--neurons", str(10**18)): "refused at allocation",
}  # fmt: skip


class Reached(Exception):
    """The command got past its checks to the expensive part."""


def _stop(*args, **kwargs):
    raise Reached


@pytest.fixture
def stopped(monkeypatch):
    """Stop every command at its first expensive step."""
    from spikeflow.sim.diehl_cook import DiehlCook
    from spikeflow.sim.network import Network
    from spikeflow.train.trainer import Trainer

    monkeypatch.setattr(Trainer, "fit", _stop)
    monkeypatch.setattr("spikeflow.train.run.finish", _stop)
    monkeypatch.setattr("spikeflow.commands.convert.run_conversion", _stop)
    monkeypatch.setattr(Network, "run", _stop)
    monkeypatch.setattr(DiehlCook, "fit", _stop)
    monkeypatch.setattr("spikeflow.sweep.run", _stop)


def _numeric_actions(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.Action]]:
    """Every numeric option of every (sub-)command, with the command's path."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _numeric_actions(sub, (*path, name))
        elif action.option_strings and action.type in (int, float, int_list):
            yield path, action


NUMERIC = list(_numeric_actions(build_parser()))
FLAGS = [
    (path, max(action.option_strings, key=len), action.type is float)
    for path, action in NUMERIC
    if action.help != argparse.SUPPRESS and path in BASE
]


def test_every_command_with_numeric_flags_has_cheap_base_arguments():
    assert {path for path, _ in NUMERIC} <= set(BASE)
    assert len(FLAGS) > 50


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "run"
    argv = [a.replace("{tmp}/run", str(out)) for a in BASE[("train",)]]
    assert main(["train", *argv]) == 0
    return out


def _run(argv: list[str]) -> tuple[str, int | None]:
    try:
        return "returned", main(argv)
    except SystemExit as exit_:  # argparse's own refusal (e.g. "nan" for an int flag)
        return "exited", int(exit_.code or 0)
    except Reached:
        return "reached", None


def _without(args: list[str], flag: str) -> list[str]:
    if flag not in args:
        return args
    i = args.index(flag)
    return args[:i] + args[i + 2 :]


@pytest.mark.parametrize(("path", "flag", "is_float"), FLAGS, ids=lambda v: str(v))
def test_hostile_numeric_values(path, flag, is_float, tmp_path, trained, stopped, capsys):
    name = " ".join(path)
    for i in range(len(FLOATS)):  # each value runs in its own folder tmp_path/i
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "sweep.toml").write_text(SWEEP_FILE)
    base = [
        a.replace("{tmp}", str(tmp_path))
        .replace("{ckpt}", str(trained))
        .replace("{sweep}", str(tmp_path / "sweep.toml"))
        for a in BASE[path]
    ]
    wrong = []
    for i, value in enumerate(FLOATS if is_float else INTS):
        args = [a.replace(str(tmp_path), str(tmp_path / str(i))) for a in _without(base, flag)]
        how, code = _run([*path, *args, f"{flag}={value}"])
        err = capsys.readouterr().err
        assert "Traceback" not in err, (name, flag, value, err)
        accepted = how == "reached" or (how == "returned" and code == 0)
        if accepted and (name, flag, value) not in ACCEPTED:
            wrong.append(f"{flag}={value} accepted")
        elif not accepted:
            if code != 2 or not err.strip():
                wrong.append(f"{flag}={value}: exit {code}, stderr {err.strip()[-200:]!r}")
            elif (name, flag, value) in ACCEPTED:
                wrong.append(f"{flag}={value} refused though documented as accepted: {err!r}")
    assert not wrong, f"{name}: " + "; ".join(wrong)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--num-steps", str(10**18)],
        ["train", "--hidden", str(10**12)],
        ["stdp", "--neurons", str(10**18), "--train-limit", "4", "--test-limit", "4"],
    ],
    ids=lambda v: " ".join(v[:3]),
)
def test_sizes_no_machine_holds_are_one_line_errors(argv, tmp_path, capsys):
    command, rest = argv[0], argv[1:]
    base = [a.replace("{tmp}", str(tmp_path)) for a in BASE[(command,)]]
    for flag in rest[::2]:
        base = _without(base, flag)
    assert main([command, *base, *rest]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and ("out of memory" in err or "memory" in err), err


def test_a_diverging_run_stops_with_an_error_naming_the_learning_rate(
    tmp_path, capsys, monkeypatch
):
    import types

    from spikeflow import loss as losses

    real_get = losses.get

    def diverging(name):
        entry = real_get(name)
        return types.SimpleNamespace(
            fn=lambda *args: entry.fn(*args) * float("nan"), scores=entry.scores
        )

    monkeypatch.setattr(losses, "get", diverging)
    base = [a.replace("{tmp}", str(tmp_path)) for a in BASE[("train",)]]
    assert main(["train", *base]) == 2
    err = capsys.readouterr().err
    assert "training diverged at epoch 1, batch 1" in err and "--lr" in err


@pytest.mark.parametrize(
    ("flag", "values"),
    [
        ("--scale", ("nan", "inf", "-inf", "0", "-1", "1e30", "2")),
        ("--k-scale", ("nan", "inf", "-inf", "0", "-1", "1e30")),
        ("--threads", ("0", "-1", str(10**18))),
    ],
)
def test_microcircuit_flags_refuse_hostile_values(flag, values, tmp_path, capsys):
    """The microcircuit's own flags (the table above runs ``simulate cuba``, which refuses them)."""
    for value in values:
        argv = ["simulate", "microcircuit", "--duration", "1ms", "--transient", "0"]
        argv += ["--out", str(tmp_path), f"{flag}={value}"]
        assert main(argv) == 2, (flag, value)
        err = capsys.readouterr().err
        assert "Traceback" not in err and flag.lstrip("-").replace("-", "_") in err, (value, err)


#: Values hypothesis draws for a flag: any float (NaN, infinities and subnormals included) or any
#: integer far past the 64-bit range, written the ways a user types them.
DRAWN = st.one_of(
    st.floats().map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{v:e}"),
)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(flag=st.sampled_from(FLAGS), value=DRAWN)
def test_drawn_values_give_a_run_or_one_line_error(flag, value, tmp_path_factory, trained, stopped):
    """Whatever value hypothesis draws for whichever flag: the command runs (up to its first
    expensive step) or exits 2 with a one-line message; a non-finite value is always refused."""
    path, name, _ = flag
    tmp = tmp_path_factory.mktemp("drawn")
    (tmp / "sweep.toml").write_text(SWEEP_FILE)
    base = [
        a.replace("{tmp}", str(tmp))
        .replace("{ckpt}", str(trained))
        .replace("{sweep}", str(tmp / "sweep.toml"))
        for a in BASE[path]
    ]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        how, code = _run([*path, *_without(base, name), f"{name}={value}"])
    text = err.getvalue()
    assert "Traceback" not in text, (path, name, value, text)
    if how == "reached" or code == 0:
        assert math.isfinite(float(value)), (path, name, value)
    else:
        assert code == 2, (path, name, value, code, text)
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert re.match(r"spikeflow [a-z ]+: error: \S", lines[-1]), (name, value, text)
        assert how == "exited" or len(lines) == 1, (name, value, text)  # argparse adds usage


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8,16,32", [8, 16, 32]), (" 8 , 16 ", [8, 16]), ("", []), ("-1", [-1])],
)
def test_int_list_reads_integers(text, expected):
    assert int_list(text) == expected


@pytest.mark.parametrize("text", ["8,,16", "8,", ",8", "8;16", "1.5", "nan"])
def test_int_list_refuses_empty_items_and_non_integers(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"{text!r} is not a comma-separated"):
        int_list(text)
