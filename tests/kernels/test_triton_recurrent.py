"""The triton recurrent layers (``RLIF``, ``RSynaptic`` and the other ``Recurrent`` neurons, dense and
one-to-one) equal the reference scan: spikes exactly, final state and gradients (input, initial
state and spikes, recurrent weight, learnable parameters) to float tolerance.

On a machine with CUDA the tests run on the GPU; without one on CPU tensors in triton's
interpreter (slow: the shapes are small; the larger cases are marked ``slow``).
"""

from __future__ import annotations

import pytest
import torch

import spikeflow as sf
from spikeflow.functional import RecurrentState, recurrent_step, scan

from .interpreted import triton_device

MODULES = ("spikeflow.kernels.triton_engine", "spikeflow.kernels.triton_recurrent")
GRAD_STATES = ("v", "i", "b")
EXP = ("sigmoid", "erfc")  # surrogates with an exp


@pytest.fixture(scope="module")
def device():
    yield from triton_device(MODULES, "_forward_kernel")


def _model(kind: str, n: int, conn: str, per_neuron: bool, **spike) -> sf.nn.Recurrent:
    spike = {"learn_threshold": True, "v_reset": 0.1, **spike}
    if per_neuron:
        spike["threshold"] = torch.linspace(0.75, 1.25, n)
    beta = torch.linspace(0.6, 0.9, n) if per_neuron else 0.85
    if kind == "lif":
        neuron = sf.nn.LIF(beta=beta, learn_beta=True, **spike)
    elif kind == "if":
        neuron = sf.nn.IF(**spike)
    elif kind == "synaptic":
        neuron = sf.nn.Synaptic(alpha=0.7, beta=beta, learn_alpha=True, learn_beta=True, **spike)
    else:
        neuron = sf.nn.ALIF(beta=beta, beta_a=0.2, learn_beta=True, **spike)
    model = sf.nn.Recurrent(neuron, n, conn)
    with torch.no_grad():  # dyadic weights: the recurrent sum is exact in any order
        model.weight.copy_(torch.round(model.weight * 64) / 32)
    return model


def _inputs(model, shape, dtype, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.round((torch.randn(shape, generator=gen) * 0.6 + 0.3) * 256) / 256
    x = x.to(dtype).to(device).requires_grad_()
    inner = model.neuron.initial_state(x[0].detach())
    inner = type(inner)(
        *[
            (torch.randn(t.shape, generator=gen, dtype=dtype) * 0.5).to(device).requires_grad_()
            if name in GRAD_STATES
            else t
            for name, t in zip(inner._fields, inner, strict=True)
        ]
    )
    s0 = (torch.rand(shape[1:], generator=gen) < 0.3).to(dtype).to(device).requires_grad_()
    return x, RecurrentState(inner, s0)


def _loss(spikes, state, device):
    gen = torch.Generator().manual_seed(1)

    def weighted(t):
        return (t * torch.randn(t.shape, generator=gen, dtype=t.dtype).to(device)).sum()

    total = weighted(spikes) + weighted(state.s)
    for name, t in zip(state.neuron._fields, state.neuron, strict=True):
        if name in GRAD_STATES:
            total = total + weighted(t)
    return total


def _compare(model, x, state, device, tol):
    model.neuron.backend = "reference"
    ref_s, ref_state = model(x, state)
    assert torch.equal(ref_s, scan(recurrent_step, x, state, model.params())[0])
    model.neuron.backend = "triton"
    s, new_state = model(x, state)
    assert type(s.grad_fn).__name__ == "TritonRecurrentBackward"  # the kernel ran
    assert torch.equal(s, ref_s), f"spikes differ at {(s != ref_s).nonzero()[:5].tolist()}"
    assert 0 < int(ref_s.sum()) < ref_s.numel()  # the case fires, and not everywhere
    assert torch.equal(new_state.s, ref_state.s)
    for name, a, b in zip(
        ref_state.neuron._fields, ref_state.neuron, new_state.neuron, strict=True
    ):
        torch.testing.assert_close(
            b, a, rtol=tol, atol=tol, msg=lambda m, name=name: f"final state {name}: {m}"
        )
    leaves = [x, state.s, *[t for t in state.neuron if t.requires_grad]]
    leaves += [p for p in model.parameters() if p.requires_grad]
    want = torch.autograd.grad(_loss(ref_s, ref_state, device), leaves, allow_unused=True)
    got = torch.autograd.grad(_loss(s, new_state, device), leaves, allow_unused=True)
    for k, (g_ref, g) in enumerate(zip(want, got, strict=True)):
        g_ref = torch.zeros_like(leaves[k]) if g_ref is None else g_ref
        assert g is not None, f"no gradient for leaf {k} of shape {tuple(leaves[k].shape)}"
        scale = 1.0 + float(g_ref.abs().max())
        torch.testing.assert_close(
            g, g_ref, rtol=tol, atol=tol * scale, msg=lambda m, k=k: f"leaf {k}: {m}"
        )


CASES = [  # kind, conn, shape [T, B..., N], per-neuron parameters, spike settings
    ("lif", "dense", (7, 3, 5), True, {"reset": "subtract"}),
    ("lif", "one_to_one", (7, 3, 5), False, {"reset": "zero", "refractory": 2}),
    ("synaptic", "dense", (6, 5, 6), False, {"reset": "zero", "detach_reset": True}),
    ("synaptic", "one_to_one", (6, 2, 4), True, {"reset": "subtract", "surrogate": "sigmoid"}),
    ("if", "dense", (5, 2, 3, 4), False, {"reset": "none", "surrogate": "triangle"}),
    ("alif", "dense", (6, 2, 5), True, {"reset": "subtract", "refractory": 1}),
    ("alif", "one_to_one", (6, 3, 5), False, {"reset": "zero", "surrogate": "erfc"}),
]


@pytest.mark.parametrize(("kind", "conn", "shape", "per_neuron", "spike"), CASES)
def test_triton_recurrent_equals_reference(device, kind, conn, shape, per_neuron, spike):
    model = _model(kind, shape[-1], conn, per_neuron, **spike).to(device, torch.float64)
    x, state = _inputs(model, shape, torch.float64, device)
    # the kernels evaluate the surrogate's exp in float32
    _compare(model, x, state, device, 1e-5 if spike.get("surrogate") in EXP else 1e-9)


@pytest.mark.parametrize("conn", ["dense", "one_to_one"])
def test_float32_and_a_single_step(device, conn):
    model = _model("lif", 6, conn, True).to(device)
    x, state = _inputs(model, (9, 2, 6), torch.float32, device, seed=2)
    _compare(model, x, state, device, 1e-4)
    x, state = _inputs(model, (1, 3, 6), torch.float32, device, seed=3)
    model.neuron.backend = "triton"
    s, _ = model(x, state)
    model.neuron.backend = "reference"
    assert torch.equal(s, model(x, state)[0])


def test_several_column_and_sum_blocks(device):
    """70 neurons: two blocks of 64 columns and of 64 terms; 18 rows: two programs of 16 rows."""
    model = _model("lif", 70, "dense", True).to(device, torch.float64)
    x, state = _inputs(model, (2, 18, 70), torch.float64, device, seed=4)
    _compare(model, x, state, device, 1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lif", "synaptic", "alif"])
def test_larger_layers(device, kind):
    model = _model(kind, 150, "dense", True, reset="subtract").to(device, torch.float64)
    x, state = _inputs(model, (12, 9, 150), torch.float64, device, seed=5)
    _compare(model, x, state, device, 1e-9)


def test_rsynaptic_trains_like_reference(device):
    """A few optimiser steps give the same weights with the triton and the reference path."""
    x = torch.round(torch.rand(8, 3, 6, generator=torch.Generator().manual_seed(3)) * 256) / 256
    weights = []
    for backend in ("reference", "triton"):
        torch.manual_seed(4)
        model = sf.nn.RSynaptic(6, alpha=0.8, beta=0.9, backend=backend).to(device, torch.float64)
        with torch.no_grad():
            model.weight.copy_(torch.round(model.weight * 64) / 64)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(2):
            opt.zero_grad()
            spikes, _ = model(x.to(device, torch.float64) * 2)
            ((spikes.mean(0) - 0.2) ** 2).sum().backward()
            opt.step()
        weights.append(model.weight.detach().clone())
    assert not torch.equal(weights[0], torch.round(weights[0] * 64) / 64)  # it trained
    torch.testing.assert_close(weights[1], weights[0], rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_runs_triton_on_cuda():
    model = sf.nn.RLIF(8).cuda()
    spikes, state = model(torch.rand(5, 2, 8, device="cuda").requires_grad_() * 2)
    assert type(spikes.grad_fn).__name__ == "TritonRecurrentBackward"
    assert torch.equal(state.s, spikes[-1])


def test_bfloat16_input_runs_in_float32(device):
    """bfloat16 input runs the float32 kernel: the spikes (in bfloat16) equal the float32
    reference scan's on the same rounded input, and dL/dx comes back in bfloat16."""
    model = _model("synaptic", 6, "dense", True).to(device)
    x, state = _inputs(model, (6, 2, 6), torch.float32, device, seed=6)
    x16 = x.detach().to(torch.bfloat16).requires_grad_()
    model.neuron.backend = "triton"
    s16, _ = model(x16, state)
    model.neuron.backend = "reference"
    x32 = x16.detach().float().requires_grad_()
    ref, _ = model(x32, state)
    assert s16.dtype == torch.bfloat16 and 0 < int(ref.sum()) < ref.numel()
    assert torch.equal(s16.float(), ref)
    (grad,) = torch.autograd.grad(s16.float().sum(), x16)
    (want,) = torch.autograd.grad(ref.sum(), x32)
    assert grad.dtype == torch.bfloat16 and bool(want.abs().sum() > 0)
    torch.testing.assert_close(grad, want.to(torch.bfloat16))
