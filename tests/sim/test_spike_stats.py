"""Population statistics of spike trains, against values computed by hand."""

import math

import numpy as np

from spikeflow.sim.spike_stats import isi_cv, population_stats, rate, synchrony, window


def test_isi_cv_by_hand():
    # neuron 0: ISIs 10, 30 (mean 20, sd 10 -> CV 0.5); neuron 1: ISIs 5, 5, 5 (CV 0);
    # neuron 2: two spikes only (left out with min_spikes=3)
    steps = np.array([0, 10, 40, 3, 8, 13, 18, 7, 9])
    neurons = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    assert math.isclose(isi_cv(steps, neurons), (0.5 + 0.0) / 2)
    assert math.isclose(isi_cv(steps, neurons, min_spikes=2), (0.5 + 0.0 + 0.0) / 3)
    assert math.isnan(isi_cv(steps[:2], neurons[:2]))


def test_synchrony_by_hand():
    # dt 1 ms, 3 ms bins over [0, 12): counts 3, 0, 1, 0 -> mean 1, variance 1.5
    steps = np.array([0, 1, 2, 7])
    assert math.isclose(synchrony(steps, 1.0, 0.0, 12.0), 1.5)
    # spikes evenly one per bin: variance 0
    assert synchrony(np.array([0, 3, 6, 9]), 1.0, 0.0, 12.0) == 0.0
    # window [1, 13): bins [1, 4), [4, 7), [7, 10), [10, 13) hold 2, 0, 1, 1 (step 0 is out):
    # mean 1, variance 0.5
    assert math.isclose(synchrony(np.array([0, 1, 2, 7, 12]), 1.0, 1.0, 13.0), 0.5)
    assert math.isnan(synchrony(np.array([], dtype=np.int64), 1.0, 0.0, 12.0))


def test_rate_window_and_populations():
    steps = np.array([0, 5, 10, 15, 20, 25])
    neurons = np.array([0, 1, 2, 3, 4, 0])
    assert np.array_equal(window(steps, 0.5, 2.5, 10.0), [False, True, True, True, False, False])
    assert math.isclose(rate(neurons, 0, 2, 1000.0), 3 / 2)
    stats = population_stats(
        steps, neurons, np.array([0, 2, 5]), ("a", "b"), 0.5, 2.5, 12.5, min_spikes=2
    )
    # window [2.5, 12.5) ms = steps 5..24: a has neuron 1 (step 5); b has 2, 3, 4
    assert math.isclose(stats["a"]["rate_hz"], 1 / (2 * 0.01))
    assert math.isclose(stats["b"]["rate_hz"], 3 / (3 * 0.01))
    assert math.isnan(stats["a"]["cv_isi"])
    # b: one spike each in 3 ms bins [2.5, 5.5), [5.5, 8.5), [8.5, 11.5): 1, 1, 1
    assert stats["b"]["synchrony"] == 0.0
