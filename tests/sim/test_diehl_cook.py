"""Diehl & Cook style unsupervised learning on the digits (slow: training to accuracy)."""

import numpy as np
import pytest

from spikeflow.commands.simulate import load_dataset
from spikeflow.errors import UserError
from spikeflow.sim.diehl_cook import DiehlCook


def test_learning_changes_weights_and_keeps_normalisation():
    model = DiehlCook(64, 8, seed=0)
    x = np.random.default_rng(0).uniform(0, 1, (3, 64))
    before = model.weights()
    model.fit(x, 1)
    after = model.weights()
    assert not np.allclose(before, after)
    counts = model.responses(x)
    assert counts.shape == (3, 8) and np.all(counts.sum(1) >= 5)
    with pytest.raises(UserError, match="intensities"):
        model.fit(x * 2, 1)
    with pytest.raises(UserError, match="no labels"):
        model.classify(counts, 10)


@pytest.mark.slow
@pytest.mark.parametrize(("neurons", "epochs", "target"), [(100, 1, 0.75), (400, 3, 0.85)])
def test_digits_accuracy(neurons, epochs, target):
    xtr, ytr, xte, yte, _ = load_dataset("digits", None)
    model = DiehlCook(64, neurons, max_rate=255.0, w_total=12.0, seed=0)
    model.fit(xtr, epochs)
    model.assign_labels(model.responses(xtr), ytr, 10)
    acc = (model.classify(model.responses(xte), 10) == yte).mean()
    assert acc >= target
