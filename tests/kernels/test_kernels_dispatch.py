"""Backend selection: when the fused kernel runs, when it falls back, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

import spikeflow as sf
from spikeflow import kernels
from spikeflow.errors import UserError
from spikeflow.functional import LIFState
from spikeflow.surrogate import ATan

from .kernel_cases import drive, make_model


@dataclass(frozen=True)
class _CustomATan(ATan):
    """Same primitive, but a class the kernels do not know: must not run fused."""


def _call(model, x, backend):
    return kernels.multi_step(model.kind, x, model.initial_state(x[0]), model.params(), backend)


def test_reference_backend_returns_none():
    assert _call(make_model("lif"), drive((3, 2, 2)), "reference") is None


@pytest.mark.parametrize("kind", ["lif", "if", "synaptic", "alif"])
def test_auto_runs_fused_on_cpu(kind):
    out = _call(make_model(kind), drive((3, 2, 2)), "auto")
    assert out is not None
    assert "FusedNeuron" in type(out[0].grad_fn).__name__


def test_auto_runs_fused_for_bfloat16_and_float16():
    for dtype in (torch.bfloat16, torch.float16):
        model = make_model("lif").to(dtype)
        x = drive((3, 2, 2)).to(dtype)
        out = _call(model, x, "auto")
        assert out is not None and out[0].dtype == dtype
        assert "FusedNeuron" in type(out[0].grad_fn).__name__


def test_autocast_linear_then_lif_runs_the_fused_kernel():
    """What ``--amp`` training does: under bfloat16 autocast the layer feeds the neuron bfloat16
    (its parameters stay float32) and the neuron runs fused, not the reference scan."""
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 4)
    lif = sf.nn.LIF(beta=0.9, learn_beta=True)
    x = torch.rand(5, 2, 3)
    with torch.autocast("cpu", torch.bfloat16):
        s, _ = lif(net(x))
    assert s.dtype == torch.bfloat16
    assert "FusedNeuron" in type(s.grad_fn).__name__
    s.float().sum().backward()
    assert net.weight.grad is not None and lif.beta.grad is not None


def test_custom_surrogate_class_falls_back():
    model = make_model("lif", surrogate=_CustomATan())
    x = drive((3, 2, 2))
    assert _call(model, x, "auto") is None
    with pytest.raises(UserError, match="surrogate"):
        _call(model, x, "cpu")


def test_parameter_gradients_the_kernel_does_not_compute_fall_back():
    model = make_model("alif")
    model.rho = torch.nn.Parameter(model.rho.clone())
    x = drive((3, 2, 2))
    assert _call(model, x, "auto") is None
    with pytest.raises(UserError, match="rho requires grad"):
        _call(model, x, "cpu")


def test_parameter_that_promotes_the_input_falls_back():
    model = make_model("lif").double()
    assert _call(model, drive((3, 2, 2)), "auto") is None


def test_state_on_wrong_shape_of_parameter_is_reported():
    model = sf.nn.LIF(beta=torch.full((3,), 0.9))
    x = drive((2, 2, 4))
    state = LIFState(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(UserError, match="does not broadcast"):
        kernels.multi_step("lif", x, state, model.params(), "cpu")


def test_triton_on_cpu_without_interpreter_is_refused(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(UserError, match="triton needs a CUDA device"):
        _call(make_model("lif"), drive((3, 2, 2)), "triton")


def test_unknown_backend_and_kind():
    model = make_model("lif")
    x = drive((3, 2, 2))
    with pytest.raises(UserError, match="backend='gpu'"):
        _call(model, x, "gpu")
    with pytest.raises(UserError, match="kind='izhikevich'"):
        kernels.multi_step("izhikevich", x, model.initial_state(x[0]), model.params(), "cpu")
    with pytest.raises(UserError, match="backend='fast'"):
        sf.nn.LIF(backend="fast")


def test_compiled_module_uses_reference_path():
    lif = sf.nn.LIF(beta=0.9)
    x = drive((4, 2, 3))

    def run(inp):
        assert _call(make_model("lif"), inp, "auto") is None  # inside tracing: fall back
        return lif(inp)[0]

    compiled = torch.compile(run, backend="eager", fullgraph=False)
    assert torch.equal(compiled(x), lif(x)[0])
