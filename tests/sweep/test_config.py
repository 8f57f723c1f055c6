"""Sweep files: the base train options, [sweep] keys and defaults, the objective, and one-line
errors naming the file and the key."""

import textwrap
from pathlib import Path

import pytest

from spikeflow.errors import UserError
from spikeflow.sweep import load
from spikeflow.sweep.space import Choice, Range

GOOD = """
[sweep]
n_trials = 6
processes = 2
seed = 3

[objective]
metric = "val_loss"

[data]
limit_train = 100
val_fraction = 0.2

[model]
hidden = [12]

[train]
epochs = 1

[space]
lr = { low = 1e-4, high = 1e-2, log = true }
neuron = ["lif", "alif"]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_file_and_its_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load(write(tmp_path, GOOD, "lr.toml"))
    assert (cfg.base.limit_train, cfg.base.hidden, cfg.base.epochs) == (100, (12,), 1)
    assert cfg.space == (
        Range("lr", "float", 1e-4, 1e-2, True, None),
        Choice("neuron", ("lif", "alif")),
    )
    assert (cfg.metric, cfg.direction) == ("val_loss", "minimize")  # a loss is minimised
    assert (cfg.n_trials, cfg.processes, cfg.seed, cfg.sampler) == (6, 2, 3, "tpe")
    assert cfg.out == Path("sweeps/lr") and cfg.study_name == "lr"
    assert cfg.storage == f"sqlite:///{tmp_path / 'sweeps' / 'lr' / 'study.db'}"


def test_overrides_and_a_base_config_file(tmp_path):
    write(tmp_path, "[train]\nepochs = 7\nlr = 0.5\n[model]\nhidden = [9]\n", "base.toml")
    text = GOOD.replace("seed = 3", 'seed = 3\nbase_config = "base.toml"').replace(
        "[model]\nhidden = [12]\n", ""
    )
    cfg = load(write(tmp_path, text), {"n_trials": 2, "out": str(tmp_path / "o")})
    assert (cfg.base.epochs, cfg.base.lr, cfg.base.hidden) == (1, 0.5, (9,))  # file wins
    assert cfg.n_trials == 2 and cfg.out == tmp_path / "o"
    assert cfg.storage == f"sqlite:///{tmp_path / 'o' / 'study.db'}"
    assert load(write(tmp_path, GOOD.replace('"val_loss"', '"test_accuracy"'))).direction == (
        "maximize"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "n_trials = 6",
            "n_trials = 0",
            r"sweep\.n_trials=0 is not valid; expected an integer >= 1",
        ),
        ("n_trials = 6", "n_trials = -2", r"sweep\.n_trials=-2 is not valid"),
        ("n_trials = 6", "", r"sweep\.n_trials is missing"),
        ("n_trials = 6", "n_trials = 2.5", r"sweep\.n_trials=2\.5 is not valid"),
        ("processes = 2", "processes = 0", r"sweep\.processes=0 is not valid"),
        ("seed = 3", "seed = 3\nsampler = 'grid'", r"sweep\.sampler='grid' is not valid"),
        ("seed = 3", "seed = 3\nworkers = 2", r"\[sweep\] key\(s\) workers are not valid"),
        ("seed = 3", "seed = 3\nstorage = 5", r"sweep\.storage=5 is not valid; expected a string"),
        (
            "[train]\nepochs = 1",
            "[train]\nepochs = 1\nlrr = 0.1",
            r"train options: config key\(s\) lrr",
        ),
        ("[train]\nepochs = 1", "[train]\nepochs = 0", r"train options: epochs=0"),
        ("neuron = [", "neurons = [", r"space\.neurons is not a train option"),
        ("log = true", "log = true, high2 = 1", r"space\.lr has unknown key\(s\) high2"),
        (
            "low = 1e-4, high = 1e-2",
            "low = 1e-2, high = 1e-4",
            r"space\.lr: low=0\.01 must be below",
        ),
        ('metric = "val_loss"', 'metric = "val_f1"', r"objective\.metric='val_f1' is not valid"),
        (
            'metric = "val_loss"',
            'metric = "val_loss"\ndirection = "up"',
            r"objective\.direction='up'",
        ),
        ('metric = "val_loss"', 'metric = "val_loss"\ngoal = 1', r"\[objective\] key\(s\) goal"),
        (
            "val_fraction = 0.2",
            "val_fraction = 0.0",
            r"objective\.metric='val_loss' needs a validation",
        ),
    ],
)
def test_mistakes_are_one_line_errors_naming_file_and_key(tmp_path, old, new, message):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(UserError, match=message) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(UserError, match=r"sweep file .*nope\.toml' does not exist"):
        load(tmp_path / "nope.toml")
    with pytest.raises(UserError, match=r"is not valid TOML"):
        load(write(tmp_path, "[sweep\n"))
    with pytest.raises(UserError, match=r"\[space\] is empty"):
        load(write(tmp_path, "[sweep]\nn_trials = 1\n"))
    with pytest.raises(UserError, match=r"space=3 is not valid; expected a table \[space\]"):
        load(write(tmp_path, "space = 3\n[sweep]\nn_trials = 1\n"))
    with pytest.raises(UserError, match=r"config file .*missing\.toml' does not exist"):
        load(write(tmp_path, GOOD.replace("seed = 3", 'base_config = "missing.toml"')))
