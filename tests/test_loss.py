"""Losses, their read-outs and the spike-rate regularisers, pinned by hand-computed values."""

import math

import pytest
import torch
import torch.nn.functional as F

from spikeflow import loss
from spikeflow.errors import UserError


def spikes_from(times: list[list[int | None]], steps: int) -> torch.Tensor:
    """[T, B, C] spikes with one spike at the given step per (sample, class); None = silent."""
    s = torch.zeros(steps, len(times), len(times[0]))
    for b, row in enumerate(times):
        for c, t in enumerate(row):
            if t is not None:
                s[t, b, c] = 1.0
    return s


def test_rate_ce_is_cross_entropy_of_counts():
    s = torch.zeros(4, 1, 3)
    s[:, 0, 1] = 1  # class 1 fires 4 times
    s[0, 0, 2] = 1  # class 2 once
    got = loss.rate_ce(s, torch.zeros_like(s), torch.tensor([1]))
    want = -math.log(math.exp(4) / (1 + math.exp(4) + math.exp(1)))
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_membrane_ce_uses_peak_membrane():
    v = torch.tensor([[[0.1, 0.5]], [[0.7, 0.2]]])  # [T=2, B=1, C=2]: peaks 0.7 and 0.5
    got = loss.membrane_ce(torch.zeros_like(v), v, torch.tensor([0]))
    assert float(got) == pytest.approx(
        float(F.cross_entropy(torch.tensor([[0.7, 0.5]]), torch.tensor([0])))
    )


def test_count_mse_targets():
    s = torch.zeros(10, 1, 2)
    s[:8, 0, 0] = 1  # 8 spikes on the true class (target 8), 0 on the other (target 2)
    got = loss.count_mse(s, s, torch.tensor([0]), correct_rate=0.8, incorrect_rate=0.2)
    assert float(got) == pytest.approx((0**2 + 2**2) / 2)


def test_first_spike_times_exact_for_binary_spikes():
    s = spikes_from([[2, None, 0], [4, 1, 1]], steps=5)
    s[3, 0, 0] = 1  # a later spike does not change the first-spike time
    assert loss.first_spike_times(s).tolist() == [[2.0, 5.0, 0.0], [4.0, 1.0, 1.0]]


def test_first_spike_time_gradient_flows_to_spikes():
    s = spikes_from([[1, None]], steps=3).requires_grad_()
    t = loss.first_spike_times(s)
    t[0, 0].backward()
    # t = s1 (1 - s0) + 2 s2 (1 - s0)(1 - s1) + 3 (1 - s0)(1 - s1)(1 - s2); at s = (0, 1, 0):
    # dt/ds0 = -s1 - 2 s2 (1 - s1) - 3 (1 - s1)(1 - s2) = -1
    # dt/ds1 = (1 - s0) - 2 s2 (1 - s0) - 3 (1 - s0)(1 - s2) = -2
    # dt/ds2 = 2 (1 - s0)(1 - s1) - 3 (1 - s0)(1 - s1) = 0
    assert s.grad[:, 0, 0].tolist() == [-1.0, -2.0, 0.0]


def test_first_spike_ce_prefers_earliest():
    s = spikes_from([[0, 3]], steps=4)
    good = loss.first_spike_ce(s, s, torch.tensor([0]))
    bad = loss.first_spike_ce(s, s, torch.tensor([1]))
    assert float(good) == pytest.approx(math.log(1 + math.exp(-3)), rel=1e-6)
    assert float(bad) > float(good)


def test_scores_break_count_ties_by_membrane_only():
    s = torch.zeros(3, 1, 3)
    s[:, 0, 0] = 1
    s[:, 0, 1] = 1
    s[:2, 0, 2] = 1
    v = torch.zeros(3, 1, 3)
    v[0, 0, 1] = 5.0  # ties 0 and 1 on count: the higher membrane wins
    v[0, 0, 2] = 100.0  # fewer spikes never win, however high the membrane
    assert loss.count_scores(s, v).argmax(1).item() == 1
    assert loss.first_spike_scores(spikes_from([[2, 1, 1]], 3), torch.zeros(3, 1, 3)).shape == (
        1,
        3,
    )


def test_regularisers():
    rates = [torch.tensor(0.3), torch.tensor(0.05)]
    assert float(loss.rate_l2(rates, 0.1)) == pytest.approx(0.2**2 + 0.05**2)
    assert float(loss.rate_upper(rates, 0.1)) == pytest.approx(0.2**2)
    with pytest.raises(UserError, match="rates is empty"):
        loss.rate_l2([], 0.1)
    with pytest.raises(UserError, match="max_rate=2"):
        loss.rate_upper(rates, 2)


def test_errors():
    with pytest.raises(UserError, match=r"loss='hinge'.*rate_ce"):
        loss.get("hinge")
    s = torch.zeros(3, 2, 4)
    with pytest.raises(UserError, match=r"target has shape \(3,\)"):
        loss.rate_ce(s, s, torch.zeros(3, dtype=torch.long))
    with pytest.raises(UserError, match=r"expected \[T, B, C\]"):
        loss.rate_ce(torch.zeros(2, 4), s, torch.zeros(2, dtype=torch.long))
    with pytest.raises(UserError, match="tau=0"):
        loss.first_spike_ce(s, s, torch.zeros(2, dtype=torch.long), tau=0)
