"""The triton kernels equal the reference scan.

On a machine with CUDA the tests run on the GPU. Without one they run on CPU tensors in triton's
interpreter: ``TRITON_INTERPRET=1`` is set for this module and the kernels are (re)built under it
(triton decides at decoration time). The interpreter is slow, so the cases here are small.
Skipped when triton is not importable.
"""

from __future__ import annotations

import itertools

import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError

from .interpreted import triton_device
from .kernel_cases import (
    EXTENDED,
    NON_FINITE,
    compare,
    drive,
    extended_case,
    make_model,
    non_finite_input,
    random_state,
)

ENGINE = "spikeflow.kernels.triton_engine"


@pytest.fixture(scope="module")
def device():
    """``"cuda"`` when available, else ``"cpu"`` under the triton interpreter."""
    yield from triton_device((ENGINE,), "_forward_kernel")


def _case(kind, device, dtype=torch.float32, shape=(6, 2, 5), **kwargs):
    model = make_model(kind, v_reset=0.1, **kwargs).to(device=device, dtype=dtype)
    x = drive(shape, dtype).to(device).requires_grad_()
    state = random_state(model, x[0])
    return model, x, state


@pytest.mark.parametrize(
    ("kind", "reset", "refractory"),
    [
        ("lif", "subtract", 0),
        ("lif", "zero", 2),
        ("if", "none", 1),
        ("synaptic", "subtract", 1),
        ("synaptic", "zero", 0),
        ("alif", "subtract", 2),
        ("alif", "none", 0),
    ],
)
def test_matches_reference(device, kind, reset, refractory):
    model, x, state = _case(kind, device, reset=reset, refractory=refractory)
    compare(kind, model, x, state, "triton", rtol=1e-4)


@pytest.mark.parametrize("detach", [True, False])
def test_reset_gradient_modes(device, detach):
    model, x, state = _case("alif", device, reset="zero", detach_reset=detach)
    compare("alif", model, x, state, "triton", rtol=1e-4)


@pytest.mark.parametrize(
    "surrogate", ["atan", "sigmoid", "fast_sigmoid", "triangle", "straight_through", "erfc"]
)
def test_surrogates(device, surrogate):
    model, x, state = _case("lif", device, shape=(4, 2, 3), surrogate=surrogate)
    compare("lif", model, x, state, "triton", rtol=1e-4)


def test_float64_single_step_and_strided_time(device):
    model, x, state = _case("synaptic", device, torch.float64, shape=(1, 3, 4))
    compare("synaptic", model, x, state, "triton", rtol=1e-5)
    base = drive((10, 2, 3), torch.float64).to(device)
    x = base[::3].detach().requires_grad_()
    compare("synaptic", model, x, random_state(model, x[0]), "triton", rtol=1e-5)


def test_more_neurons_than_one_block(device):
    model, x, state = _case("lif", device, shape=(3, 2, 150), refractory=1)
    compare("lif", model, x, state, "triton", rtol=1e-4)


def test_module_runs_triton_backend(device):
    lif = sf.nn.LIF(beta=0.8, backend="triton").to(device)
    x = drive((5, 2, 4)).to(device)
    s, _ = lif(x.requires_grad_())
    assert "FusedNeuron" in type(s.grad_fn).__name__
    ref, _ = sf.nn.LIF(beta=0.8, backend="reference").to(device)(x)
    assert torch.equal(s, ref)


def test_cpu_backend_refuses_cuda_tensors(device):
    if device != "cuda":
        pytest.skip("needs a CUDA device")
    with pytest.raises(UserError, match="not the CPU"):
        sf.nn.LIF(backend="cpu").cuda()(torch.ones(2, 1, 1, device="cuda"))


def test_grid_of_float64_configs(device):
    for kind, reset in itertools.product(("lif", "alif"), ("subtract", "zero")):
        model, x, state = _case(kind, device, torch.float64, shape=(4, 1, 3), reset=reset)
        compare(kind, model, x, state, "triton", rtol=1e-5)


@pytest.mark.parametrize("value", list(NON_FINITE))
@pytest.mark.parametrize(("kind", "reset"), [("lif", "subtract"), ("synaptic", "zero")])
def test_non_finite_input_is_refused(device, kind, reset, value):
    model = make_model(kind, reset=reset, backend="triton").to(device)
    with pytest.raises(UserError, match=r"^state\.\w+ became NaN or infinite"):
        model(non_finite_input(NON_FINITE[value]).to(device))


def test_non_finite_input_ignored_while_refractory_matches_exactly(device):
    model = make_model("lif", refractory=3).to(device)
    x = torch.zeros(5, 1, 2)
    x[0] = 5.0
    x[2, 0, 1] = float("inf")
    x = x.to(device).requires_grad_()
    compare("lif", model, x, model.initial_state(x[0]), "triton", rtol=1e-4)


TRITON_BUGS = {
    "float64_refractory_straight_through": "triton's float64 input gradient with the "
    "straight-through surrogate and refractory=2 differs from the reference scan (found by this "
    "test; the CPU kernel agrees)",
}


@pytest.mark.parametrize(
    ("kind", "t", "dtype", "options"),
    [
        pytest.param(
            *c[1:], id=c[0], marks=[pytest.mark.xfail(strict=True, reason=TRITON_BUGS[c[0]])]
        )
        if c[0] in TRITON_BUGS
        else pytest.param(*c[1:], id=c[0])
        for c in EXTENDED
    ],
)
def test_extended_cases_match_reference(device, kind, t, dtype, options):
    """The cases tests/kernels/test_kernels_extended.py runs on the CPU kernels, every one of them
    (small enough for the interpreter on CPU)."""
    model, x, state = extended_case(kind, t, dtype, options, device)
    # the engine evaluates the surrogate's exp in float32 (module docstring): float32 tolerance
    exp_based = options.get("surrogate") in ("sigmoid", "erfc")
    compare(kind, model, x, state, "triton", rtol=1e-6 if exp_based else None)
