"""The triton AdLIF kernel equals the reference scan: spikes and states exactly, gradients of the
input, the initial state and every parameter to float tolerance.

On a machine with CUDA the tests run on the GPU; without one on CPU tensors in triton's
interpreter (small shapes).
"""

from __future__ import annotations

import pytest
import torch

import spikeflow as sf
from spikeflow.functional import AdLIFState

from .interpreted import triton_device

MODULES = ("spikeflow.kernels.triton_engine", "spikeflow.kernels.triton_adlif")

SETTINGS = [  # (seed, dtype, reset, detach_reset, surrogate, per-neuron parameters)
    (0, torch.float32, "subtract", True, "atan", True),
    (1, torch.float32, "subtract", False, "fast_sigmoid", False),
    (2, torch.float32, "zero", True, "sigmoid", True),
    (3, torch.float64, "zero", False, "triangle", True),
    (4, torch.float64, "none", True, "atan", False),
    (5, torch.float64, "subtract", False, "erfc", True),
]


@pytest.fixture(scope="module")
def device():
    yield from triton_device(MODULES, "_forward_kernel")


def _pair(seed, dtype, reset, detach, surrogate, per_neuron, n, device):
    torch.manual_seed(seed)
    kwargs = {"reset": reset, "detach_reset": detach, "surrogate": surrogate, "v_reset": -0.2,
              "learn_threshold": True, "threshold": 0.7 + seed / 10}  # fmt: skip
    if per_neuron:
        kwargs["size"] = n
    fused = sf.nn.AdLIF(backend="triton", **kwargs).to(device, dtype)
    ref = sf.nn.AdLIF(backend="reference", **kwargs).to(device, dtype)
    ref.load_state_dict(fused.state_dict())
    return fused, ref


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"seed{s[0]}")
def test_triton_adlif_equals_reference(device, setting):
    seed, dtype = setting[:2]
    g = torch.Generator().manual_seed(seed)
    steps, batch, n = (int(v) for v in torch.randint(1, 12, (3,), generator=g))
    fused, ref = _pair(*setting, n, device)

    def draw(*shape):
        return torch.randn(shape, dtype=dtype, generator=g).to(device)

    x = (draw(steps, batch, n) * 8 + 2).requires_grad_(True)
    v0, w0 = draw(batch, n).requires_grad_(True), draw(batch, n).requires_grad_(True)
    weight = draw(n).abs()
    results = []
    for module in (fused, ref):
        state = AdLIFState(v0, w0, torch.zeros(batch, n, dtype=dtype, device=device))
        spikes, final = module(x, state)
        loss = (spikes * weight).sum() + (final.v**2).sum() + (final.w * weight).sum()
        wrt = [x, v0, w0, module.beta, module.rho, module.a, module.b, module.threshold]
        results.append((spikes, final, torch.autograd.grad(loss, wrt)))
    (s1, f1, g1), (s2, f2, g2) = results
    assert type(s1.grad_fn).__name__ == "ViewBackward0"  # reshaped from the kernel's [T, M]
    assert type(s1.grad_fn.next_functions[0][0]).__name__ == "TritonAdLIFBackward"
    assert s2.sum() > 0
    assert torch.equal(s1, s2) and torch.equal(f1.v, f2.v) and torch.equal(f1.w, f2.w)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    for name, a, b in zip(["x", "v0", "w0", "beta", "rho", "a", "b", "thr"], g1, g2, strict=True):
        torch.testing.assert_close(
            a, b, rtol=tol, atol=tol, msg=lambda m, name=name: f"{name}: {m}"
        )


def test_more_neurons_than_one_block_and_no_gradient(device):
    fused, ref = _pair(6, torch.float32, "subtract", True, "atan", True, 150, device)
    x = torch.randn(4, 2, 150, generator=torch.Generator().manual_seed(6)).to(device) * 8 + 2
    with torch.no_grad():
        (s1, f1), (s2, f2) = fused(x), ref(x)
    assert s2.sum() > 0
    assert torch.equal(s1, s2) and torch.equal(f1.v, f2.v) and torch.equal(f1.w, f2.w)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_runs_triton_on_cuda():
    x = (torch.rand(6, 2, 8, device="cuda") * 20).requires_grad_()
    spikes, _ = sf.nn.AdLIF(size=8).cuda()(x)
    assert type(spikes.grad_fn.next_functions[0][0]).__name__ == "TritonAdLIFBackward"
