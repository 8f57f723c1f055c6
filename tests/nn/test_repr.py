"""``repr`` of the spiking modules names the settings they were built with."""

import pytest

from spikeflow import nn as snn

CASES = [
    (lambda: snn.LIF(beta=0.5, threshold=2.0, reset="zero", refractory=2, backend="reference"),
     "LIF(beta=0.5, threshold=2, reset='zero', surrogate=ATan(alpha=2.0), refractory=2, "
     "backend='reference')"),
    (lambda: snn.IF(threshold=0.5), "IF(threshold=0.5, reset='subtract'"),
    (lambda: snn.AdLIF(size=3), "AdLIF(size=3, reset='subtract'"),
    (lambda: snn.Izhikevich(preset="chattering"), "Izhikevich(preset='chattering', dt=0.25"),
    (lambda: snn.Dropout(p=0.3), "Dropout(p=0.3)"),
    (lambda: snn.Delay(features=3, max_delay=4), "Delay(features=3, max_delay=4, kernel="),
    (lambda: snn.Delay(features=3, max_delay=4, learn=False), "Delay(features=3, max_delay=4, fixed)"),
    (lambda: snn.DelayedLinear(2, 3, max_delay=4),
     "DelayedLinear(in_features=2, out_features=3, bias=True, max_delay=4, kernel="),
    (lambda: snn.RLIF(size=4, connectivity="one_to_one"), "size=4, connectivity='one_to_one'"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "expected"), CASES)
def test_repr_names_the_settings(build, expected):
    assert expected in repr(build())
