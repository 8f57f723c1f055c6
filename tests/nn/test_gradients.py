"""Gradients through time: finite differences where the function is smooth, closed forms where the
surrogate replaces the step."""

import pytest
import torch

import spikeflow as sf

F64 = torch.float64


def away_from_threshold(x, module, margin=1e-3):
    """True if no pre-reset membrane of ``module`` on ``x`` is within ``margin`` of threshold."""
    with torch.no_grad():
        v = module.trace(x).v
    return bool(((v - module.threshold).abs() > margin).all())


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("refractory", [0, 2])
def test_gradcheck_membrane_wrt_input_beta_threshold(reset, refractory):
    torch.manual_seed(1)
    lif = sf.nn.LIF(beta=0.8, reset=reset, refractory=refractory).double()
    x = (torch.rand(10, 2, 2, dtype=F64) * 0.9).requires_grad_(True)
    assert away_from_threshold(x, lif)
    beta = torch.tensor(0.8, dtype=F64, requires_grad=True)
    thr = torch.tensor(1.0, dtype=F64, requires_grad=True)

    def membrane(x, beta, thr):
        p = sf.functional.LIFParams(beta, lif.spike_params(thr))
        _, _, v = sf.functional.scan(
            sf.functional.lif_step, x, lif.initial_state(x[0]), p, record_v=True
        )
        return v

    assert torch.autograd.gradcheck(membrane, (x, beta, thr), eps=1e-7, atol=1e-6)


@pytest.mark.parametrize("name", ["if", "synaptic"])
def test_gradcheck_membrane_other_models(name):
    torch.manual_seed(2)
    module = {"if": sf.nn.IF(), "synaptic": sf.nn.Synaptic(alpha=0.6, beta=0.8)}[name].double()
    x = (torch.rand(8, 2, 2, dtype=F64) * 0.5).requires_grad_(True)
    assert away_from_threshold(x, module)

    def membrane(x):
        return module.trace(x).v

    assert torch.autograd.gradcheck(membrane, (x,), eps=1e-7, atol=1e-6)


@pytest.mark.parametrize("detach_reset", [True, False])
def test_spike_gradient_through_time_matches_closed_form(detach_reset):
    beta, thr = 0.7, 1.0
    sg = sf.surrogate.get("atan", alpha=2.0)
    lif = sf.nn.LIF(beta=beta, threshold=thr, detach_reset=detach_reset).double()
    x = torch.tensor([[1.3], [0.5]], dtype=F64, requires_grad=True)
    spikes, _ = lif(x)
    spikes.sum().backward()
    v0 = torch.tensor(1.3, dtype=F64)
    v1 = beta * (v0 - thr) + 0.5  # s0 = 1: subtract reset
    g0, g1 = sg.grad(v0 - thr), sg.grad(v1 - thr)
    dv0_after = 1.0 if detach_reset else 1.0 - thr * g0
    expected_x0 = g0 + beta * dv0_after * g1
    torch.testing.assert_close(x.grad[0, 0], expected_x0)
    torch.testing.assert_close(x.grad[1, 0], g1)


def test_alif_spike_gradient_flows_through_adaptive_threshold():
    beta_a, thr = 0.3, 1.0
    sg = sf.surrogate.get("atan")
    alif = sf.nn.ALIF(beta=1.0, rho=0.5, beta_a=beta_a, threshold=thr).double()
    x = torch.tensor([[1.2], [0.9]], dtype=F64, requires_grad=True)
    spikes, _ = alif(x)
    spikes[1].sum().backward()
    v1, theta1 = (1.2 - thr) + 0.9, thr + beta_a  # s0 = 1 raised the threshold
    g0, g1 = sg.grad(torch.tensor(1.2 - thr)), sg.grad(torch.tensor(v1 - theta1))
    torch.testing.assert_close(x.grad[1, 0].float(), g1)
    # x0 moves v1 (reset detached) and, through s0, the adaptive threshold theta1
    torch.testing.assert_close(x.grad[0, 0].float(), g1 * (1 - beta_a * g0))


def test_refractory_blocks_gradient_of_ignored_input():
    lif = sf.nn.LIF(beta=0.5, refractory=2).double()
    x = torch.tensor([[1.5], [0.3], [0.3], [0.3]], dtype=F64, requires_grad=True)
    lif.trace(x).v.sum().backward()
    # steps 1 and 2 are refractory: their input never reaches the membrane
    assert x.grad[1, 0] == 0 and x.grad[2, 0] == 0
    assert x.grad[3, 0] == 1.0


@pytest.mark.parametrize("name", sf.surrogate.available())
def test_every_surrogate_trains_a_neuron(name):
    torch.manual_seed(0)
    lif = sf.nn.LIF(beta=0.9, surrogate=name)
    w = torch.zeros(5, requires_grad=True)
    x = torch.rand(20, 8, 5)
    opt = torch.optim.Adam([w], lr=0.1)
    target = 0.3  # firing rate
    for _ in range(40):
        rate = lif(x * w.exp() * 0.2)[0].mean(dim=(0, 1))  # per neuron
        loss = ((rate - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert lif(x * 0.2)[0].mean().item() < 0.2  # starts far below the target
    assert abs(lif(x * w.exp() * 0.2)[0].mean().item() - target) < 0.02
