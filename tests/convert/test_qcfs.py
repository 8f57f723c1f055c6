"""The clip-floor-shift activation: values, gradients, arguments."""

import pytest
import torch

from spikeflow.convert import QCFS
from spikeflow.errors import UserError


def test_golden_values():
    act = QCFS(levels=8, threshold=4.0)
    x = torch.tensor([-1.0, 0.2, 0.3, 1.3, 3.9, 9.0])
    # step 0.5; floor(x * 2 + 0.5) * 0.5 clipped to [0, 4]
    torch.testing.assert_close(act(x), torch.tensor([0.0, 0.0, 0.5, 1.5, 4.0, 4.0]))


def test_no_shift_floors():
    act = QCFS(levels=4, threshold=1.0, shift=0.0)
    x = torch.tensor([0.2, 0.26, 0.74, 0.99])
    torch.testing.assert_close(act(x), torch.tensor([0.0, 0.25, 0.5, 0.75]))


def test_gradients_straight_through_and_for_threshold():
    act = QCFS(levels=4, threshold=2.0)
    x = torch.tensor([-0.5, 0.3, 1.1, 3.0], requires_grad=True)
    act(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 1.0, 1.0, 0.0]))
    # d/dlam of lam * q(x / lam): q - x/lam inside the range (straight-through), 1 where clipped
    q = torch.tensor([0.0, 0.5, 1.0, 2.0]) / 2.0
    expected = float((q - torch.tensor([-0.5, 0.3, 1.1, 3.0]) / 2.0)[1:3].sum() + 1.0)
    assert float(act.threshold.grad) == pytest.approx(expected)


def test_threshold_is_a_parameter_in_state_dict():
    act = QCFS(levels=4, threshold=2.0)
    assert "threshold" in dict(act.named_parameters())
    assert "threshold" in act.state_dict()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"levels": 0}, "levels=0"),
        ({"levels": 2.5}, "levels=2.5"),
        ({"threshold": 0.0}, "threshold=0.0"),
        ({"shift": 1.5}, "shift=1.5"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(UserError, match=match):
        QCFS(**kwargs)
