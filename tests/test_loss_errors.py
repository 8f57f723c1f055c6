"""The loss registry and rate regularisers, and population coding centres: NaN, inf and empty
input refused with one line naming the argument; the membrane scores and the name listing."""

import pytest
import torch

from spikeflow import loss
from spikeflow.encode.population import population_centres
from spikeflow.errors import UserError

NAN, INF = float("nan"), float("inf")

CASES = [
    (
        lambda: loss.register("rate_ce"),
        "loss='rate_ce' is not valid; expected a spikeflow.loss.Loss",
    ),
    (lambda: loss.rate_l2([torch.tensor(0.1)], NAN), "target=nan is not valid"),
    (lambda: loss.rate_l2([torch.tensor(0.1)], INF), "target=inf is not valid"),
    (lambda: loss.rate_l2([], 0.1), "rates is empty"),
    (lambda: loss.rate_upper([torch.tensor(0.1)], NAN), "max_rate=nan is not valid"),
    (lambda: loss.rate_upper([torch.tensor(0.1)], 1.5), "max_rate=1.5 is out of range"),
    (lambda: loss.rate_upper([], 0.2), "rates is empty"),
    (lambda: population_centres(3, NAN, 1.0), "low=nan is not valid"),
    (lambda: population_centres(3, 0.0, INF), "high=inf is not valid"),
    (
        lambda: population_centres(3, 1.0, 1.0),
        "low=1.0, high=1.0 are not valid; expected low < high",
    ),
    (lambda: population_centres(0, 0.0, 1.0), "num_neurons=0 is not valid"),
]


@pytest.mark.parametrize(("call", "words"), CASES)
def test_refused(call, words):
    with pytest.raises(UserError) as err:
        call()
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_rate_upper_penalises_only_the_excess():
    rates = [torch.tensor(0.3), torch.tensor(0.1)]
    assert float(loss.rate_upper(rates, 0.2)) == pytest.approx(0.1**2)


def test_membrane_scores_are_the_peak_membrane():
    v = torch.tensor([[[0.1, 0.5]], [[0.7, 0.2]]])  # [T=2, B=1, C=2]
    assert torch.equal(loss.membrane_scores(torch.zeros_like(v), v), torch.tensor([[0.7, 0.5]]))


def test_available_lists_the_registered_names_sorted():
    names = loss.available()
    assert list(names) == sorted(names) and {"rate_ce", "membrane_ce"} <= set(names)


def test_one_population_neuron_sits_at_the_midpoint():
    assert population_centres(1, -1.0, 3.0).tolist() == [1.0]
