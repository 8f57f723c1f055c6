"""Decays given as ``tau`` and ``dt``: NaN, inf and missing values refused with one line naming
the argument, for every neuron that takes them; the exact ``exp(-dt / tau)`` otherwise."""

import math

import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.nn.neuron import decay

NAN, INF = float("nan"), float("inf")

CASES = [
    (lambda: sf.nn.LIF(tau=NAN, dt=1.0), "tau=nan is not valid"),
    (lambda: sf.nn.LIF(tau=INF, dt=1.0), "tau=inf is not valid"),
    (lambda: sf.nn.LIF(tau=10.0, dt=NAN), "dt=nan is not valid"),
    (lambda: sf.nn.LIF(tau=10.0, dt=INF), "dt=inf is not valid"),
    (lambda: sf.nn.LIF(tau=10.0), "tau=10.0 needs dt"),
    (lambda: sf.nn.LIF(beta=0.9, tau=10.0, dt=1.0), "give either beta or tau, not both"),
    (lambda: sf.nn.ALIF(tau_adapt=NAN, dt=1.0), "tau=nan is not valid"),
    (lambda: sf.nn.Synaptic(tau_syn=INF, beta=0.9, dt=1.0), "tau=inf is not valid"),
    (lambda: sf.nn.Synaptic(alpha=0.5, tau_mem=10.0, dt=-1.0), "dt=-1.0 is out of range"),
    (lambda: decay("beta", None, None, None), "beta is required (or tau and dt)"),
    (lambda: decay("beta", NAN, None, None), "beta=nan is not valid; expected finite number(s)"),
]


@pytest.mark.parametrize(("call", "words"), CASES)
def test_bad_decays_are_refused(call, words):
    with pytest.raises(UserError) as err:
        call()
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_tau_and_dt_give_the_exact_decay():
    lif = sf.nn.LIF(tau=20.0, dt=0.5)
    assert float(lif.beta) == pytest.approx(math.exp(-0.025), rel=1e-7)
    syn = sf.nn.Synaptic(tau_syn=5.0, tau_mem=10.0, dt=1.0)
    assert torch.allclose(syn.alpha, torch.tensor(math.exp(-0.2)))
    assert torch.allclose(syn.beta, torch.tensor(math.exp(-0.1)))
