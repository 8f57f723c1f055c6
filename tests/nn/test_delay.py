"""Delay and DelayedLinear: gradients of the delay positions by finite differences, exact integer
shifts, causality, the max-delay bound, sharpening, rounding and argument checks."""

import itertools

import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.functional.delay import delay_kernel, shift

F64 = torch.float64


def manual_shift(x, delays):
    """``y[t, :, i] = x[t - delays[i], :, i]``, written with a loop."""
    y = torch.zeros_like(x)
    for i, d in enumerate(delays):
        if d < x.shape[0]:
            y[d:, :, i] = x[: x.shape[0] - d, :, i]
    return y


@pytest.mark.parametrize("kernel", ["gaussian", "linear"])
def test_gradcheck_positions_and_weights(kernel):
    torch.manual_seed(0)
    layer = sf.nn.DelayedLinear(3, 2, max_delay=5, kernel=kernel).double()
    with torch.no_grad():  # away from integers (the linear kernel's kinks) and from the ends
        layer.positions.copy_(torch.tensor([[0.3, 1.6, 2.2], [3.7, 4.4, 1.25]]))
        layer.sigma.fill_(0.9)
    x = torch.rand(9, 2, 3, dtype=F64)

    def out(positions, weight):
        layer.positions.data, layer.weight.data = positions, weight
        return sf.functional.delay.delay_conv(
            x, weight.unsqueeze(-1) * delay_kernel(positions, 5, layer.sigma, kernel), bias=None
        )

    pos = layer.positions.detach().clone().requires_grad_(True)
    w = layer.weight.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(out, (pos, w), eps=1e-7, atol=1e-7)


def test_module_gradient_of_positions_matches_finite_differences():
    torch.manual_seed(1)
    layer = sf.nn.Delay(4, max_delay=6).double()
    x = torch.rand(10, 3, 4, dtype=F64)
    target = torch.rand(10, 3, 4, dtype=F64)

    def loss():
        return ((layer(x) - target) ** 2).sum()

    loss().backward()
    eps = 1e-6
    for i in range(4):
        with torch.no_grad():
            layer.positions[i] += eps
            up = loss()
            layer.positions[i] -= 2 * eps
            down = loss()
            layer.positions[i] += eps
        assert float(layer.positions.grad[i]) == pytest.approx(
            float((up - down) / (2 * eps)), rel=1e-5
        )


def test_fixed_integer_delays_shift_spikes_exactly():
    torch.manual_seed(2)
    x = (torch.rand(12, 3, 4) < 0.3).float()
    delays = [0, 1, 5, 11]
    layer = sf.nn.Delay(
        4, max_delay=11, delays=torch.tensor(delays, dtype=torch.float32), learn=False
    )
    assert torch.equal(layer(x), manual_shift(x, delays))
    assert list(layer.parameters()) == []


def test_rounded_delayed_linear_shifts_exactly():
    torch.manual_seed(3)
    layer = sf.nn.DelayedLinear(3, 3, max_delay=4, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(3))
        layer.positions.copy_(torch.tensor([[0.4, 9.0, 9.0], [9.0, 2.6, 9.0], [9.0, 9.0, 3.5]]))
    fixed = layer.rounded()
    assert fixed.delays().diagonal().tolist() == [0, 3, 4]  # 3.5 rounds to 4 (half to even)
    x = (torch.rand(10, 2, 3) < 0.5).float()
    assert torch.equal(fixed(x), manual_shift(x, [0, 3, 4]))
    assert layer.learn and isinstance(layer.positions, nn.Parameter)  # the original is unchanged
    assert not fixed.learn and "positions" not in dict(fixed.named_parameters())


def test_a_sharp_gaussian_equals_its_rounded_delays():
    torch.manual_seed(4)
    layer = sf.nn.DelayedLinear(5, 4, max_delay=7).double()
    with torch.no_grad():
        layer.positions.copy_(torch.randint(0, 8, (4, 5)).double())
        layer.sigma.fill_(0.05)
    x = torch.rand(15, 2, 5, dtype=F64)
    torch.testing.assert_close(layer(x), layer.rounded()(x))


@pytest.mark.parametrize("learn", [True, False])
def test_causal_and_bounded_by_max_delay(learn):
    torch.manual_seed(5)
    layer = sf.nn.DelayedLinear(3, 2, max_delay=4, learn=learn, delays=2.0 if not learn else None)
    if learn:
        with torch.no_grad():
            layer.positions.fill_(50.0)  # past the bound: acts as max_delay
            layer.sigma.fill_(1.5)
    x = torch.zeros(12, 1, 3)
    x[5] = 1.0  # one impulse at t = 5
    with torch.no_grad():
        y = layer(x) - (layer.bias if layer.bias is not None else 0)
    assert torch.all(y[:5] == 0)  # nothing before the impulse: causal
    assert torch.all(y[5 + 5 :] == 0)  # nothing later than max_delay after it
    if learn:
        assert layer.delays().max() == 4


def test_shift_function_matches_loop():
    x = torch.rand(7, 2, 3)
    assert torch.equal(shift(x, torch.tensor([0, 3, 9])), manual_shift(x, [0, 3, 9]))


def test_sharpen_falls_from_half_max_delay_to_sigma_end():
    layer = sf.nn.Delay(2, max_delay=20, sigma_end=0.5)
    sigmas = [layer.sharpen(e, 10) for e in range(10)]
    assert sigmas[0] == pytest.approx(10.0) and sigmas[-1] == pytest.approx(0.5)
    assert all(a > b for a, b in itertools.pairwise(sigmas))
    assert float(layer.sigma) == pytest.approx(0.5)
    assert layer.sharpen(12, 10) == pytest.approx(0.5)  # past the last epoch: stays sharp
    assert "sigma" in layer.state_dict()  # saved with checkpoints, so a resumed run keeps it


def test_sharpen_delays_finds_learnt_gaussian_layers_only():
    net = sf.nn.Sequential(
        sf.nn.DelayedLinear(4, 4, max_delay=6),
        sf.nn.LIF(),
        sf.nn.Delay(4, max_delay=6, kernel="linear"),
        sf.nn.Delay(4, max_delay=6, learn=False),
    )
    assert sf.nn.sharpen_delays(net, 3, 4) == 1
    assert float(net[0].sigma) == pytest.approx(0.5)


def test_in_sequential_with_gradients_to_positions():
    torch.manual_seed(6)
    net = sf.nn.Sequential(sf.nn.DelayedLinear(6, 8, max_delay=5), sf.nn.LIF(), nn.Linear(8, 2))
    out, state = net(torch.rand(10, 3, 6))
    assert out.shape == (10, 3, 2) and state[0] is None
    out.sum().backward()
    assert net[0].positions.grad is not None and bool(net[0].positions.grad.abs().sum() > 0)


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda: sf.nn.Delay(3, max_delay=0), "max_delay=0"),
        (lambda: sf.nn.Delay(3, max_delay=2.5), "max_delay=2.5"),
        (lambda: sf.nn.Delay(0, max_delay=3), "features=0"),
        (lambda: sf.nn.Delay(3, max_delay=3, kernel="cubic"), "kernel"),
        (lambda: sf.nn.Delay(3, max_delay=3, delays=4.0), r"delays has values from 4 to 4"),
        (lambda: sf.nn.Delay(3, max_delay=3, delays=-1.0), "delays has values"),
        (lambda: sf.nn.Delay(3, max_delay=3, delays=1.5, learn=False), "non-integer"),
        (lambda: sf.nn.Delay(3, max_delay=3, delays=torch.ones(4)), r"expected a scalar or \(3,\)"),
        (lambda: sf.nn.Delay(3, max_delay=3, sigma_end=0.0), "sigma_end=0.0"),
        (lambda: sf.nn.Delay(3, max_delay=3, sigma_end=2.0), "sigma_end=2.0"),
        (lambda: sf.nn.DelayedLinear(3, 0, max_delay=3), "out_features=0"),
        (lambda: sf.nn.Delay(3, max_delay=3, delays=float("nan")), "delays=nan"),
    ],
)
def test_bad_arguments_are_user_errors(build, needle):
    with pytest.raises(UserError, match=needle):
        build()


def test_bad_input_and_schedule_are_user_errors():
    layer = sf.nn.DelayedLinear(3, 2, max_delay=3)
    with pytest.raises(UserError, match=r"expected \[T, B, 3\]"):
        layer(torch.rand(4, 2, 5))
    with pytest.raises(UserError, match=r"expected \[T, B, 3\]"):
        layer(torch.rand(4, 2, 3, 1))
    with pytest.raises(UserError, match="x"):
        layer(torch.ones(4, 2, 3, dtype=torch.long))
    with pytest.raises(UserError, match="epochs=0"):
        layer.sharpen(0, 0)
