import pickle

import pytest
import torch

import spikeflow as sf
from spikeflow import surrogate as sg

#: One name per built-in surrogate class, read from the registry: a surrogate added to
#: spikeflow.surrogate gets the finite-difference and contract tests below without editing them.
NAMES = tuple(
    {
        cls: name
        for name, cls in ((n, sg.SURROGATES.get(n)) for n in reversed(sg.available()))
        if cls.__module__ == "spikeflow.surrogate"
    }.values()
)


def test_registry_lists_required_surrogates():
    required = {"atan", "sigmoid", "fast_sigmoid", "triangle", "straight_through", "erfc"}
    assert required <= set(NAMES) <= set(sg.available())
    assert sg.get("gaussian") == sg.Erfc()
    assert sg.get("superspike") == sg.FastSigmoid()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_grad_is_finite_difference_of_primitive(name, alpha):
    s = sg.get(name, alpha=alpha)
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    # keep away from the kinks of the piecewise surrogates, where the derivative jumps
    kinks = torch.tensor([0.0, 1 / alpha, -1 / alpha, 0.5 / alpha, -0.5 / alpha], dtype=x.dtype)
    x = x[(x[:, None] - kinks).abs().min(dim=1).values > 1e-3]
    h = 1e-6
    fd = (s.primitive(x + h) - s.primitive(x - h)) / (2 * h)
    torch.testing.assert_close(s.grad(x), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_primitive_rises_from_zero_to_one(name):
    s = sg.get(name)
    x = torch.tensor([-1e3, 0.0, 1e3], dtype=torch.float64)
    p = s.primitive(x)
    torch.testing.assert_close(
        p, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), atol=1e-3, rtol=0
    )
    # normalised: the surrogate derivative integrates to one
    xs = torch.linspace(-200, 200, 400001, dtype=torch.float64)
    assert torch.trapezoid(s.grad(xs), xs).item() == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("name", NAMES)
def test_forward_is_heaviside_backward_is_grad(name):
    s = sg.get(name, alpha=3.0)
    x = torch.tensor([-1.0, -0.1, 0.0, 0.1, 1.0], dtype=torch.float64, requires_grad=True)
    out = s(x)
    assert out.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    out.sum().backward()
    torch.testing.assert_close(x.grad, s.grad(x.detach()))


@pytest.mark.parametrize("name", NAMES)
def test_frozen_picklable_with_repr(name):
    s = sg.get(name, alpha=1.5)
    assert pickle.loads(pickle.dumps(s)) == s
    assert repr(s).endswith("(alpha=1.5)")
    with pytest.raises(AttributeError):
        s.alpha = 3.0  # frozen


def test_unknown_name_lists_valid_ones():
    with pytest.raises(sf.UserError, match=r"surrogate='nope'.*atan.*triangle"):
        sg.get("nope")


@pytest.mark.parametrize("alpha", [0, -1.0, float("nan"), float("inf")])
def test_bad_alpha_is_rejected(alpha):
    with pytest.raises(sf.UserError, match="alpha="):
        sg.get("atan", alpha=alpha)


def test_register_rejects_duplicates_and_non_surrogates():
    with pytest.raises(sf.UserError, match="already registered"):
        sg.register(sg.ATan)
    with pytest.raises(TypeError):
        sg.register(int)


def test_register_custom_surrogate():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class Linear01(sg.Surrogate):
        name: ClassVar[str] = "test_box_unique"

        def primitive(self, x):
            return (x + 0.5).clamp(0, 1)

        def grad(self, x):
            return ((x > -0.5) & (x < 0.5)).to(x.dtype)

    sg.register(Linear01)
    try:
        assert isinstance(sg.get("TEST_BOX_UNIQUE"), Linear01)
        lif = sf.nn.LIF(surrogate="test_box_unique")
        assert isinstance(lif.surrogate, Linear01)
    finally:
        sg.SURROGATES.unregister("test_box_unique")
