"""The search space: ranges typed by the train option, choices (lists included), and one-line
errors naming the key for every mistake."""

import optuna
import pytest

from spikeflow.errors import UserError
from spikeflow.sweep.space import Choice, Range, parse_param
from spikeflow.train.config import TrainConfig

BASE = TrainConfig()


def test_ranges_take_their_kind_from_the_option():
    lr = parse_param("lr", {"low": 1e-4, "high": 1e-2, "log": True}, BASE)
    assert lr == Range("lr", "float", 1e-4, 1e-2, True, None)
    steps = parse_param("num_steps", {"low": 4, "high": 16, "step": 4}, BASE)
    assert steps == Range("num_steps", "int", 4, 16, False, 4)
    beta = parse_param("beta", {"low": 0, "high": 1}, BASE)  # integers accepted for a float
    assert beta.kind == "float" and isinstance(beta.low, float)


def test_suggest_and_decode_round_trip_through_optuna():
    space = [
        parse_param("num_steps", {"low": 4, "high": 16, "step": 4}, BASE),
        parse_param("hidden", [[64], [128, 64]], BASE),
        parse_param("neuron", ["lif", "alif"], BASE),
        parse_param("lr", {"low": 1e-4, "high": 1e-2, "log": True}, BASE),
    ]
    stored = {"num_steps": 12, "hidden": "[128, 64]", "neuron": "alif", "lr": 3e-3}
    trial = optuna.trial.FixedTrial(stored)
    assert [p.suggest(trial) for p in space] == [12, [128, 64], "alif", 3e-3]
    assert [p.decode(stored[p.name]) for p in space] == [12, [128, 64], "alif", 3e-3]
    # a study samples values inside the space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        t = study.ask()
        values = {p.name: p.suggest(t) for p in space}
        assert values["num_steps"] in (4, 8, 12, 16)
        assert values["hidden"] in ([64], [128, 64])
        assert 1e-4 <= values["lr"] <= 1e-2
        study.tell(t, 0.0)


def test_choices_keep_their_values():
    assert parse_param("hidden", [[32, 16], 64], BASE) == Choice("hidden", ([32, 16], 64))
    assert parse_param("learn_beta", [True, False], BASE).encoded() == [True, False]


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("lrr", [1e-3], r"space\.lrr is not a train option; expected one of dataset, "),
        ("timesteps", [4], r"space\.timesteps is not a train option"),
        ("lr", {"low": 1e-2, "high": 1e-3}, r"space\.lr: low=0\.01 must be below high=0\.001"),
        (
            "lr",
            {"low": 0.0, "high": 1e-3, "log": True},
            r"space\.lr: low=0\.0 must be > 0 with log",
        ),
        ("lr", {"low": 1e-4}, r"space\.lr=.* a range needs low and high"),
        ("lr", {"low": 1e-4, "high": 1.0, "scale": 2}, r"space\.lr has unknown key\(s\) scale"),
        ("lr", {"low": -1.0, "high": 1.0}, r"space\.lr: the value -1\.0 is not valid: lr=-1\.0"),
        (
            "num_steps",
            {"low": 1.5, "high": 8},
            r"space\.num_steps\.low=1\.5 .* expected an integer",
        ),
        ("num_steps", {"low": 2, "high": 8, "step": 0}, r"space\.num_steps\.step=0 is not valid"),
        ("num_steps", {"low": 2, "high": 8, "step": 2, "log": True}, r"space\.num_steps\.step=2"),
        ("lr", {"low": 1e-4, "high": 1e-2, "log": "yes"}, r"space\.lr\.log='yes' is not valid"),
        (
            "neuron",
            {"low": 1, "high": 2},
            r"space\.neuron is a range, but the option neuron is not",
        ),
        ("learn_beta", {"low": 0, "high": 1}, r"space\.learn_beta is a range"),
        ("neuron", [], r"space\.neuron=\[\] is not valid; expected at least one choice"),
        ("neuron", ["lif", "lif"], r"space\.neuron=.* expected distinct choices"),
        ("neuron", ["lif", "nope"], r"space\.neuron: the value 'nope' is not valid"),
        ("hidden", [[64], ["x"]], r"space\.hidden: the value \['x'\] is not valid"),
        ("lr", 0.01, r"space\.lr=0\.01 is not valid; expected a list of choices or a table"),
    ],
)
def test_bad_entries_are_one_line_errors_naming_the_key(name, spec, message):
    with pytest.raises(UserError, match=message) as err:
        parse_param(name, spec, BASE)
    assert "\n" not in str(err.value)
