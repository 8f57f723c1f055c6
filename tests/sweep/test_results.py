"""The results table (CSV, markdown) and figure from made-up trials, and the objective read from a
run's metrics.json."""

import csv
import io
import math

import numpy as np
import pytest
from PIL import Image

from spikeflow.sweep.results import TrialRow, best, figure, to_csv, to_markdown, write
from spikeflow.sweep.runner import objective_value
from spikeflow.sweep.space import Choice, Range

SPACE = (Range("lr", "float", 1e-4, 1e-2, True), Choice("hidden", ([64], [128, 64])))
NAMES = ["lr", "hidden"]
ROWS = [
    TrialRow(2, "FAIL", None, {"lr": 2e-3, "hidden": [64]}, 3.0, "t/2", "train exited with 1: x|y"),
    TrialRow(0, "COMPLETE", 0.5, {"lr": 1e-3, "hidden": [64]}, 10.25, "t/0"),
    TrialRow(1, "COMPLETE", 0.75, {"lr": 5e-3, "hidden": [128, 64]}, 12.0, "t/1"),
    TrialRow(3, "COMPLETE", 0.75, {"lr": 1e-4, "hidden": [64]}, 11.0, "t/3"),
    TrialRow(4, "RUNNING", None, {"lr": 1e-2, "hidden": [64]}, None, "t/4"),
]


def test_best_follows_the_direction_and_the_first_on_ties():
    assert best(ROWS, "maximize").number == 1
    assert best(ROWS, "minimize").number == 0
    assert best([ROWS[0], ROWS[4]], "maximize") is None


def test_csv_has_one_line_per_trial_in_order():
    table = list(csv.reader(io.StringIO(to_csv(ROWS, NAMES, "test_accuracy"))))
    assert table[0] == [
        "trial",
        "state",
        "test_accuracy",
        "lr",
        "hidden",
        "duration_s",
        "run_dir",
        "note",
    ]
    assert [r[0] for r in table[1:]] == ["0", "1", "2", "3", "4"]
    assert table[2] == ["1", "COMPLETE", "0.75", "0.005", "128,64", "12", "t/1", ""]
    assert table[3][1:3] == ["FAIL", ""] and table[3][-1] == "train exited with 1: x|y"
    assert table[5][2] == "" and table[5][5] == ""  # running: no value, no duration


def test_markdown_names_and_marks_the_best():
    text = to_markdown(ROWS, NAMES, "test_accuracy", "maximize")
    lines = text.splitlines()
    assert lines[0] == "# Sweep: test_accuracy (maximize)"
    assert "5 trials: 3 complete, 1 fail, 1 running." in text
    assert "Best: trial 1, test_accuracy 0.75 (lr=0.005, hidden=128,64)." in text
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| trial")]
    assert [r.split(" | ")[0] for r in rows] == ["| 0", "| 1 *", "| 2", "| 3", "| 4"]
    assert "x\\|y" in text  # a pipe in a note does not split the cell
    minimized = to_markdown(ROWS, NAMES, "test_loss", "minimize")
    assert "Best: trial 0" in minimized and "| 0 * |" in minimized


def test_figure_and_files(tmp_path):
    fig = figure(ROWS, SPACE, "test_accuracy", "maximize")
    left, right = fig.axes[:2]
    xs, ys = left.collections[0].get_offsets().T
    assert list(xs) == [0, 1, 3] and list(ys) == [0.5, 0.75, 0.75]
    lines = right.get_lines()
    assert len(lines) == 3  # the complete trials
    # lr on a log axis: 1e-3 is halfway between 1e-4 and 1e-2; [64] is the first choice
    np.testing.assert_allclose(lines[0].get_ydata(), [0.5, 0.0])
    np.testing.assert_allclose(lines[1].get_ydata(), [math.log(50) / math.log(100), 1.0])
    files = write(ROWS, SPACE, "test_accuracy", "maximize", tmp_path)
    assert [f.name for f in files] == ["results.csv", "results.md", "sweep.png"]
    img = Image.open(files[2])
    assert img.size[0] > 500 and np.asarray(img.convert("L")).std() > 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_figure_without_complete_trials():
    fig = figure([ROWS[0]], SPACE, "test_accuracy", "maximize")
    assert fig.axes[1].get_lines() == []


METRICS = {
    "epochs": [
        {"val_accuracy": 0.5, "val_loss": 1.0, "train_loss": 2.0, "train_accuracy": 0.1},
        {"val_accuracy": 0.7, "val_loss": 1.5, "train_loss": None, "train_accuracy": 0.3},
        {"val_accuracy": 0.6, "val_loss": 0.8, "train_loss": 1.0, "train_accuracy": 0.2},
    ],
    "test": {"accuracy": 0.65, "loss": 0.9},
}


@pytest.mark.parametrize(
    ("metric", "direction", "expected"),
    [
        ("test_accuracy", "maximize", 0.65),
        ("test_loss", "minimize", 0.9),
        ("val_accuracy", "maximize", 0.7),
        ("val_accuracy", "minimize", 0.5),
        ("val_loss", "minimize", 0.8),
        ("train_loss", "minimize", 1.0),  # a null (NaN in the run) is skipped
        ("train_accuracy", "maximize", 0.3),
    ],
)
def test_objective_value(metric, direction, expected):
    assert objective_value(METRICS, metric, direction) == expected


def test_objective_without_a_finite_value_is_none():
    assert objective_value({"test": {"accuracy": None}}, "test_accuracy", "maximize") is None
    assert objective_value({"epochs": [{"val_loss": float("nan")}]}, "val_loss", "minimize") is None
    assert objective_value({"epochs": []}, "val_loss", "minimize") is None
