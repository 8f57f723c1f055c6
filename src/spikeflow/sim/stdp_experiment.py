"""The unsupervised digit-learning experiment of Diehl & Cook (2015) on a registered image
dataset: train without labels, label the neurons, classify the test set, report and draw."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from spikeflow import data
from spikeflow.atomic import write_json
from spikeflow.errors import check_positive_int, check_range
from spikeflow.sim.diehl_cook import DiehlCook
from spikeflow.sim.report import weights_png

DATASETS = ("digits", "fashion_mnist", "mnist")
# Diehl & Cook used 63.75 Hz for a white MNIST pixel and input weights summing to 78 (784 inputs);
# the 64 pixels of the 8x8 digits get four times the rate and a total of 12 for a similar drive.
DEFAULT_RATE = {"digits": 255.0, "fashion_mnist": 63.75, "mnist": 63.75}
DEFAULT_W_TOTAL = {"digits": 12.0, "fashion_mnist": 78.0, "mnist": 78.0}
N_CLASSES = 10


def _arrays(dataset) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(dataset, "tensors"):
        x, y = dataset.tensors[:2]
    else:
        pairs = [dataset[k] for k in range(len(dataset))]
        x = torch.stack([torch.as_tensor(p[0]) for p in pairs])
        y = torch.as_tensor([int(p[1]) for p in pairs])
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return np.clip(x, 0.0, 1.0), np.asarray(y, dtype=np.int64)


def load_images(name: str, data_dir: str | None):
    """(x_train, y_train, x_test, y_test, image side) of a registered image dataset (through
    :func:`spikeflow.data.load`), intensities in [0, 1], images flattened ``[samples, side^2]``."""
    bundle = data.load(name, data_dir=data_dir)
    xtr, ytr = _arrays(bundle.train)
    xte, yte = _arrays(bundle.test)
    return xtr, ytr, xte, yte, round(float(np.sqrt(xtr.shape[1])))


@dataclass(frozen=True)
class StdpResult:
    """The experiment's model and figures (``summary()`` is what ``result.json`` holds)."""

    model: DiehlCook
    side: int
    figures: dict

    def summary(self) -> dict:
        return dict(self.figures)


def run_stdp_experiment(
    dataset: str = "digits",
    neurons: int = 100,
    *,
    epochs: int = 1,
    train_limit: int | None = None,
    test_limit: int | None = None,
    max_rate: float | None = None,
    w_total: float | None = None,
    seed: int = 0,
    data_dir: str | None = None,
) -> StdpResult:
    """Train a :class:`DiehlCook` network on ``dataset``, label its neurons on the training set
    and classify the test set (progress on stderr).

    Arguments:
        dataset: one of :data:`DATASETS`.
        neurons: number of excitatory neurons.
        epochs: passes over the training set.
        train_limit: use only the first N training samples.
        test_limit: use only the first N test samples.
        max_rate: input rate (Hz) of a white pixel (default per dataset).
        w_total: sum of each neuron's input weights (default per dataset).
        seed: seed of the network and the presentation order.
        data_dir: the dataset's folder.

    Returns:
        The :class:`StdpResult`.
    """
    check_positive_int("neurons", neurons)
    check_positive_int("epochs", epochs)
    xtr, ytr, xte, yte, side = load_images(dataset, data_dir)
    if train_limit is not None:
        check_positive_int("train_limit", train_limit)
        xtr, ytr = xtr[:train_limit], ytr[:train_limit]
    if test_limit is not None:
        check_positive_int("test_limit", test_limit)
        xte, yte = xte[:test_limit], yte[:test_limit]
    max_rate = DEFAULT_RATE[dataset] if max_rate is None else max_rate
    w_total = DEFAULT_W_TOTAL[dataset] if w_total is None else w_total
    check_range("max_rate", max_rate, 0.0, low_open=True)
    check_range("w_total", w_total, 0.0, low_open=True)
    model = DiehlCook(xtr.shape[1], neurons, max_rate=max_rate, w_total=w_total, seed=seed)
    t0 = time.perf_counter()
    with tqdm(total=epochs * len(xtr), desc="stdp train", file=sys.stderr, mininterval=1.0) as bar:
        model.fit(xtr, epochs, progress=lambda done, total: bar.update(done - bar.n))
    t1 = time.perf_counter()
    counts = {}
    for name, x in (("label", xtr), ("test", xte)):
        with tqdm(total=len(x), desc=f"stdp {name}", file=sys.stderr, mininterval=1.0) as bar:
            counts[name] = model.responses(x, progress=lambda done, _: bar.update(done - bar.n))
    labels = model.assign_labels(counts["label"], ytr, N_CLASSES)
    acc = float((model.classify(counts["test"], N_CLASSES) == yte).mean())
    t2 = time.perf_counter()
    figures = {
        "dataset": dataset, "neurons": neurons, "epochs": epochs, "train_samples": len(xtr),
        "test_samples": len(xte), "test_accuracy": acc, "max_rate_hz": max_rate,
        "w_total": w_total, "seed": seed,
        "neurons_per_label": np.bincount(labels, minlength=N_CLASSES).tolist(),
        "wall_s": {"train": t1 - t0, "label_and_test": t2 - t1},
    }  # fmt: skip
    return StdpResult(model, side, figures)


def write_stdp(result: StdpResult, out: str | Path) -> tuple[Path, Path]:
    """Write ``result.json`` and ``weights.png`` into the folder ``out`` (atomically)."""
    out = Path(out)
    fig = out / "weights.png"
    title = f"{result.figures['dataset']}: {result.figures['neurons']} neurons"
    weights_png(result.model.weights(), result.side, fig, title=title)
    return write_json(out / "result.json", result.summary()), fig
