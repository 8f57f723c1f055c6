"""bfloat16 and float16 input through the fused kernels: the recurrence runs in float32.

The fused result must equal the float32 reference scan run on the same rounded input (spikes
exactly, gradients close), on the CPU engine and on the triton engine (its interpreter here; see
``test_kernels_triton.py`` for how the module is built under it). Against the reference scan run
in the low dtype itself (the membrane rounded at every step) the spikes may differ only where the
float32 membrane lies within that rounding of the threshold, and after such a step in that neuron.
"""

from __future__ import annotations

import pytest
import torch

import spikeflow as sf
from spikeflow import kernels
from spikeflow.functional import scan

from .kernel_cases import _loss, drive, make_model, random_state
from .test_kernels_triton import device as triton_device  # noqa: F401 (fixture)

LOW = [torch.bfloat16, torch.float16]
CASES = [("lif", {}), ("synaptic", {"refractory": 1}), ("alif", {"reset": "zero"})]


def _fused_and_reference(kind, options, dtype, backend, device="cpu"):
    """``(fused spikes, fused state, reference, leaves, ref_leaves)`` of one case: the model's
    parameters rounded to ``dtype``, input and state in ``dtype``; the reference runs in float32
    on float32 copies (leaves of their own)."""
    model = make_model(kind, v_reset=0.1, **options).to(dtype).to(device)
    x = drive((7, 2, 5), dtype=torch.float32, seed=3).to(dtype).to(device).requires_grad_()
    state = random_state(model, x[0])
    fused = kernels.multi_step(kind, x, state, model.params(), backend)
    assert fused is not None, "the fused kernel did not run"
    model32 = make_model(kind, v_reset=0.1, **options).to(dtype).float().to(device)
    x32 = x.detach().float().requires_grad_()
    state32 = type(state)(*[t.detach().float().requires_grad_(t.requires_grad) for t in state])
    ref = scan(type(model32).step_fn, x32, state32, model32.params(), record_v=True)
    leaves = [x, *(t for t in state if t.requires_grad)]
    ref_leaves = [x32, *(t for t in state32 if t.requires_grad)]
    return fused, ref, leaves, ref_leaves, model


def _check_equal_to_float32(kind, options, dtype, backend, device="cpu"):
    (s, new_state), (ref_s, ref_state, _), leaves, ref_leaves, _ = _fused_and_reference(
        kind, options, dtype, backend, device
    )
    assert s.dtype == dtype
    assert torch.equal(s.float(), ref_s), f"spikes differ at {(s.float() != ref_s).nonzero()[:5]}"
    for name, got, want in zip(ref_state._fields, new_state, ref_state, strict=True):
        assert got.dtype == dtype, name  # the state comes back in the dtype it was given in
        torch.testing.assert_close(got.float(), want, rtol=1e-2, atol=1e-2, msg=name)
    as32 = type(new_state)(*[t.float() for t in new_state])
    got = torch.autograd.grad(_loss(s.float(), as32, 1), leaves)
    want = torch.autograd.grad(_loss(ref_s, ref_state, 1), ref_leaves)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == dtype, k
        scale = 1.0 + float(w.abs().max())
        torch.testing.assert_close(g.float(), w, rtol=2e-2, atol=2e-2 * scale, msg=f"leaf {k}")


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize(("kind", "options"), CASES, ids=[c[0] for c in CASES])
def test_cpu_low_precision_equals_float32_reference(kind, options, dtype):
    _check_equal_to_float32(kind, options, dtype, "cpu")


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize(("kind", "options"), CASES[:2], ids=[c[0] for c in CASES[:2]])
def test_triton_low_precision_equals_float32_reference(triton_device, kind, options, dtype):  # noqa: F811
    _check_equal_to_float32(kind, options, dtype, "triton", triton_device)


def _near_threshold_from_then_on(v32: torch.Tensor, v_low: torch.Tensor, theta) -> torch.Tensor:
    """Steps ``[T, B, N]`` at or after the first step of their neuron where the float32 membrane
    ``v32`` is no farther from ``theta`` than the low-precision membrane ``v_low`` is from it (plus
    one unit of rounding): there rounding may decide the spike, and the neuron's later steps
    follow from that decision."""
    unit = torch.finfo(v_low.dtype).eps * v32.abs().clamp_min(1.0)
    near = (v32 - theta).abs() <= (v32 - v_low.float()).abs() + unit
    return near.int().cummax(0).values.bool()


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_cpu_low_precision_against_low_precision_scan_differs_only_near_threshold(dtype):
    model = make_model("lif", learn=False).to(dtype)
    x = drive((40, 4, 16), dtype=torch.float32, seed=5).to(dtype)
    state = model.initial_state(x[0])
    s, _ = kernels.multi_step("lif", x, state, model.params(), "cpu")
    low_s, _, low_v = scan(type(model).step_fn, x, state, model.params(), record_v=True)
    model32 = make_model("lif", learn=False).to(dtype).float()
    ref_s, _, v32 = scan(type(model32).step_fn, x.float(), model32.initial_state(x[0].float()),
                         model32.params(), record_v=True)  # fmt: skip
    assert torch.equal(s.float(), ref_s)
    masked = _near_threshold_from_then_on(v32, low_v, float(model.threshold))
    assert masked.float().mean() < 0.5, "the exception must stay an exception"
    keep = ~masked
    assert torch.equal(s[keep], low_s[keep]), "spikes differ away from the threshold"


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_recurrent_low_precision_runs_fused_and_equals_float32(dtype):
    torch.manual_seed(0)
    model = sf.nn.RLIF(6, beta=0.9, backend="cpu")
    x = (torch.rand(9, 3, 6) * 0.6).to(dtype).requires_grad_()
    s, state = model(x)  # backend "cpu": the fused kernel or a UserError
    assert s.dtype == dtype and state.neuron.v.dtype == dtype
    x32 = x.detach().float().requires_grad_()
    ref = sf.nn.RLIF(6, beta=0.9, backend="reference")
    ref.load_state_dict(model.state_dict())
    ref_s, _ = ref(x32)
    assert torch.equal(s.float(), ref_s)
    (g,) = torch.autograd.grad((s.float() * torch.linspace(-1, 1, 6)).sum(), x, retain_graph=True)
    (g32,) = torch.autograd.grad((ref_s * torch.linspace(-1, 1, 6)).sum(), x32)
    assert g.dtype == dtype
    torch.testing.assert_close(g.float(), g32, rtol=2e-2, atol=2e-2)
    model.zero_grad()
    (s.float().sum()).backward()
    assert model.weight.grad is not None and model.weight.grad.dtype == torch.float32


def test_half_input_with_float64_parameter_falls_back_and_cpu_says_why():
    model = make_model("lif").double()
    x = drive((3, 2, 2)).to(torch.bfloat16)
    params, state = model.params(), model.initial_state(x[0])
    assert kernels.multi_step("lif", x, state, params, "auto") is None
    with pytest.raises(sf.errors.UserError, match=r"backend='cpu'.*float64.*bfloat16"):
        kernels.multi_step("lif", x, state, params, "cpu")
