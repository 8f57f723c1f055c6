"""Diehl & Cook style unsupervised learning on the digits (slow: training to accuracy)."""

import numpy as np
import pytest

from spikeflow.errors import UserError
from spikeflow.sim.diehl_cook import DiehlCook
from spikeflow.sim.stdp_experiment import load_images


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


def test_a_quiet_presentation_is_repeated_with_a_higher_maximum_rate():
    """Diehl & Cook: under 5 spikes, the maximum input rate rises by 32 Hz; blank pixels stay 0."""
    model = DiehlCook(64, 4, max_rate=10.0, seed=0)  # too weak to fire at first
    drives = []
    set_drive = model.net.set_drive
    model.net.set_drive = lambda group, value: (drives.append(value), set_drive(group, value))
    x = np.zeros(64)
    x[:8] = 1.0
    x[8:16] = 0.5
    counts = model.present(x, learn=False)
    assert 2 <= len(drives) < 20 and counts.sum() >= 5  # repeated until 5 spikes came out
    for k, drive in enumerate(drives):
        np.testing.assert_allclose(drive, x * (10.0 + 32.0 * k))


@pytest.mark.slow
@pytest.mark.parametrize(("neurons", "epochs", "target"), [(100, 1, 0.75), (400, 3, 0.85)])
def test_digits_accuracy(neurons, epochs, target):
    xtr, ytr, xte, yte, _ = load_images("digits", None)
    model = DiehlCook(64, neurons, max_rate=255.0, w_total=12.0, seed=0)
    model.fit(xtr, epochs)
    model.assign_labels(model.responses(xtr), ytr, 10)
    acc = (model.classify(model.responses(xte), 10) == yte).mean()
    assert acc >= target
