"""``energy.estimate`` refuses NaN, infinite and ill-typed settings with one line naming them."""

import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.energy import estimate
from spikeflow.errors import UserError


def _model() -> sf.nn.Sequential:
    return sf.nn.Sequential(nn.Linear(3, 2), sf.nn.IF())


CASES = [
    (
        {"pj_per_ac": float("nan")},
        "pj_per_ac=nan is not valid; expected a finite number in [0, inf)",
    ),
    ({"pj_per_ac": float("inf")}, "pj_per_ac=inf is not valid; expected a finite number"),
    ({"pj_per_mac": float("nan")}, "pj_per_mac=nan is not valid"),
    ({"pj_per_mac": float("inf")}, "pj_per_mac=inf is not valid"),
    ({"pj_per_mac": float("-inf")}, "pj_per_mac=-inf is not valid"),
    ({"pj_per_ac": "0.9"}, "pj_per_ac='0.9' is not valid"),
    ({"ann_passes": 1.5}, "ann_passes=1.5 is not valid; expected a positive integer"),
    ({"ann_passes": True}, "ann_passes=True is not valid"),
    ({"model": sf.nn.IF()}, "model=IF is not valid; expected a spikeflow.nn.Sequential"),
    ({"x": torch.ones(2, 1, 3, dtype=torch.long)}, "has dtype torch.int64"),
]


@pytest.mark.parametrize(("kwargs", "words"), CASES)
def test_estimate_refuses(kwargs, words):
    args = {"model": _model(), "x": torch.ones(2, 1, 3), **kwargs}
    with pytest.raises(UserError) as err:
        estimate(**args)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_zero_energies_are_valid_and_give_zero():
    report = estimate(_model(), torch.ones(2, 1, 3), pj_per_ac=0.0, pj_per_mac=0.0)
    assert report.energy_pj == 0.0 and report.ann_energy_pj == 0.0
    assert report.ann_macs == 6.0  # 3 inputs x 2 outputs, one pass
