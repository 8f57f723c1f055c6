"""AdLIF / RAdLIF: golden values, the paper's update order, finite-difference gradients and the
parameter bounds."""

import math

import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.nn.adlif import A_RANGE, B_RANGE, BETA_RANGE, RHO_RANGE

F64 = torch.float64


def test_golden_values_by_hand():
    # beta 0.9, rho 0.98, a 0.5, b 1, threshold 1, subtract reset; x = 20, 20, 0, 0.
    torch.set_default_dtype(F64)  # the parameters exactly (tests/conftest.py restores it)
    n = sf.nn.AdLIF(0.9, 0.98, 0.5, 1.0)
    x = torch.tensor([20.0, 20.0, 0.0, 0.0], dtype=F64).reshape(4, 1, 1)
    trace = n.trace(x)
    # u0 = 0.1*20 = 2 (spike, v = 1, w = 0.5*2 + 1 = 2)
    # u1 = 0.9*1 + 0.1*(20 - 2) = 2.7 (spike, v = 1.7, w = 0.98*2 + 0.5*2.7 + 1 = 4.31)
    # u2 = 0.9*1.7 + 0.1*(0 - 4.31) = 1.099 (spike, v = 0.099, w = 0.98*4.31 + 0.5495 + 1 = 5.7733)
    # u3 = 0.9*0.099 - 0.57733 = -0.48823 (no spike, w = 0.98*5.7733 - 0.244115 = 5.413719)
    torch.testing.assert_close(
        trace.v.flatten(), torch.tensor([2.0, 2.7, 1.099, -0.48823], dtype=F64)
    )
    assert trace.spikes.flatten().tolist() == [1.0, 1.0, 1.0, 0.0]
    _, state = n(x)
    torch.testing.assert_close(state.w.flatten(), torch.tensor([5.413719], dtype=F64))
    torch.testing.assert_close(state.v.flatten(), torch.tensor([-0.48823], dtype=F64))


def paper_order(x, alpha, beta, a, b, thr):
    """The paper's recurrence written in its own order: ``w`` first (from the previous ``u`` and
    spike), then ``u`` with the reset of the previous spike, then the spike."""
    u = w = s = torch.zeros_like(x[0])
    out = []
    for x_t in x:
        w = beta * w + a * u + b * s
        u = alpha * (u - thr * s) + (1 - alpha) * (x_t - w)
        s = (u >= thr).to(x.dtype)
        out.append(s)
    return torch.stack(out)


def test_same_spikes_as_the_papers_update_order():
    torch.manual_seed(0)
    size = 32
    n = sf.nn.AdLIF(size=size, threshold=0.8).double()
    x = torch.randn(60, 4, size, dtype=F64) * 6 + 2
    with torch.no_grad():
        spikes, _ = n(x)
        p = n.params()
        expected = paper_order(x, p.beta, p.rho, p.a, p.b, 0.8)
    assert spikes.sum() > 50
    assert torch.equal(spikes, expected)


def away_from_threshold(module, x, margin):
    with torch.no_grad():
        v = module.trace(x).v
    return bool(((v - module.threshold).abs() > margin).all())


@pytest.mark.parametrize("detach_reset", [True, False])
def test_gradcheck_through_spikes_where_the_surrogate_is_exact(detach_reset):
    # The triangle surrogate with alpha = 20 has zero slope beyond 0.05 from the threshold, so
    # where no membrane comes closer, autograd's gradient is the true derivative (spikes are
    # locally constant) and finite differences check every path: membrane, adaptation, reset.
    torch.manual_seed(3)
    sg = sf.surrogate.get("triangle", alpha=20.0)
    n = sf.nn.AdLIF(size=3, surrogate=sg, detach_reset=detach_reset).double()
    x = (torch.rand(12, 2, 3, dtype=F64) * 30).requires_grad_(True)
    assert away_from_threshold(n, x, 0.06)
    assert n.trace(x).spikes.sum() >= 5  # spikes, resets and spike-driven adaptation happen
    base = n.params()
    params = [t.detach().clone().requires_grad_(True) for t in base[:4]]

    def membrane(x, beta, rho, a, b):
        p = sf.functional.AdLIFParams(beta, rho, a, b, base.spike)
        return sf.functional.scan(
            sf.functional.adlif_step, x, n.initial_state(x[0]), p, record_v=True
        )[2]

    assert torch.autograd.gradcheck(membrane, (x, *params), eps=1e-7, atol=1e-6)


def test_module_gradients_reach_all_four_parameters():
    torch.manual_seed(1)
    n = sf.nn.AdLIF(size=8)
    spikes, _ = n(torch.rand(20, 3, 8) * 20)
    spikes.sum().backward()
    for name in ("beta", "rho", "a", "b"):
        g = getattr(n, name).grad
        assert g is not None and g.shape == (8,) and bool(g.abs().sum() > 0), name


def test_initialisation_draws_within_the_papers_bounds():
    torch.manual_seed(0)
    n = sf.nn.AdLIF(size=1000)
    for name, (lo, hi) in zip(
        ("beta", "rho", "a", "b"), (BETA_RANGE, RHO_RANGE, A_RANGE, B_RANGE), strict=True
    ):
        t = getattr(n, name).detach()
        assert t.shape == (1000,)
        assert lo <= float(t.min()) and float(t.max()) <= hi, name
        assert float(t.max()) - float(t.min()) > 0.9 * (hi - lo), name  # spread, not one value
    assert pytest.approx((math.exp(-1 / 5), math.exp(-1 / 25))) == BETA_RANGE
    assert pytest.approx((math.exp(-1 / 30), math.exp(-1 / 120))) == RHO_RANGE


def test_parameters_are_clamped_after_an_optimiser_step_past_the_bounds():
    n = sf.nn.AdLIF(size=4)
    with torch.no_grad():
        n.a.fill_(5.0)
        n.b.fill_(-3.0)
        n.beta.fill_(0.1)
        n.rho.fill_(1.5)
    p = n.params()
    assert torch.all(p.a == A_RANGE[1]) and torch.all(p.b == B_RANGE[0])
    assert torch.all(p.beta == BETA_RANGE[0]) and torch.all(p.rho == RHO_RANGE[1])
    spikes, _ = n(torch.rand(5, 2, 4))  # runs with the clamped values
    assert spikes.shape == (5, 2, 4)


def test_tau_gives_the_decays_and_fixed_parameters_are_buffers():
    n = sf.nn.AdLIF(tau=10.0, tau_adapt=60.0, dt=1.0, learn_beta=False, learn_adaptation=False)
    assert float(n.beta) == pytest.approx(math.exp(-0.1))
    assert float(n.rho) == pytest.approx(math.exp(-1 / 60))
    assert list(n.parameters()) == []


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"beta": 0.5}, "beta=0.5 is out of range"),
        ({"rho": 0.9}, "rho=0.9 is out of range"),
        ({"a": 2.0}, "a=2 is out of range"),
        ({"b": -0.1}, "b=-0.1 is out of range"),
        ({"beta": 1.5}, "beta"),
        ({"a": float("nan")}, "a="),
        ({"size": 0}, "size=0"),
        ({"a_range": (1.0, -1.0)}, "a_range[1]"),
        ({"beta_range": (0.5, 1.2)}, "beta_range[1]"),
        ({"rho_range": 0.9}, "rho_range=0.9"),
    ],
)
def test_bad_arguments_are_user_errors(kwargs, needle):
    with pytest.raises(UserError, match=needle.replace("[", r"\[")):
        sf.nn.AdLIF(**kwargs)


def test_wider_bounds_accept_a_value_outside_the_papers():
    n = sf.nn.AdLIF(beta=0.5, beta_range=(0.0, 1.0))
    assert float(n.params().beta.detach()) == 0.5


def test_per_neuron_parameters_refuse_another_width():
    with pytest.raises(UserError, match="beta has shape"):
        sf.nn.AdLIF(size=4)(torch.rand(3, 2, 5))


def test_radlif_feeds_back_its_spikes_and_learns_the_recurrent_weight():
    torch.manual_seed(2)
    layer = sf.nn.RAdLIF(6)
    x = torch.rand(15, 2, 6) * 20
    spikes, state = layer(x)
    assert isinstance(state, sf.functional.RecurrentState)
    assert isinstance(state.neuron, sf.functional.AdLIFState)
    spikes.sum().backward()
    assert layer.weight.grad is not None and bool(layer.weight.grad.abs().sum() > 0)
    assert layer.neuron.a.shape == (6,)


def test_radlif_with_zero_recurrent_weight_equals_the_feedforward_neuron():
    torch.manual_seed(4)
    layer = sf.nn.RAdLIF(5, connectivity="one_to_one")
    with torch.no_grad():
        layer.weight.zero_()
        x = torch.rand(12, 3, 5) * 20
        rec, _ = layer(x)
        ff, _ = layer.neuron(x)
        assert torch.equal(rec, ff)
        layer.weight.fill_(-5.0)  # strong self-inhibition changes the spikes
        inhibited, _ = layer(x)
    assert inhibited.sum() < ff.sum()
