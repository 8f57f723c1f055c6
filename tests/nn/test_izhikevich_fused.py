"""The fused Izhikevich kernel equals the reference scan: spikes and final state exactly, gradients
of the input and of the initial state to float tolerance, over random presets and settings."""

from __future__ import annotations

import random

import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.functional import IzhikevichState
from spikeflow.kernels import izhikevich_cpu
from spikeflow.nn.izhikevich import PRESETS

SURROGATES = ("atan", "sigmoid", "fast_sigmoid", "triangle", "erfc")


def _run(neuron, x, state):
    spikes, final = neuron(x, state)
    gen = torch.Generator().manual_seed(1)

    def weighted(t):
        return (t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum()

    loss = weighted(spikes) + weighted(final.v) / 30 + weighted(final.u)
    return spikes, final, torch.autograd.grad(loss, [x, state.v, state.u])


@pytest.mark.parametrize("seed", range(8))
def test_fused_izhikevich_equals_the_reference_scan(seed: int) -> None:
    rng = random.Random(seed)
    dtype = torch.float64 if seed % 2 else torch.float32
    kwargs = {
        "preset": rng.choice(sorted(PRESETS)),
        "dt": rng.choice((0.25, 0.5, 1.0)),
        "substeps": rng.choice((1, 2, 3)),
        "surrogate": rng.choice(SURROGATES),
        "detach_reset": rng.random() < 0.5,
    }
    fused = sf.nn.Izhikevich(backend="cpu", **kwargs).to(dtype)
    ref = sf.nn.Izhikevich(backend="reference", **kwargs).to(dtype)
    shape = rng.choice(((3, 5), (2, 2, 3), (1, 17)))
    t_len = rng.choice((1, 20, 60))
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(t_len, *shape, generator=gen, dtype=dtype) * 20).requires_grad_()
    v0 = (-65 + 10 * torch.rand(shape, generator=gen, dtype=dtype)).requires_grad_()
    u0 = (-13 + torch.rand(shape, generator=gen, dtype=dtype)).requires_grad_()
    s_ref, f_ref, g_ref = _run(ref, x, IzhikevichState(v0, u0))
    s_fused, f_fused, g_fused = _run(fused, x, IzhikevichState(v0, u0))
    if t_len > 1:
        assert s_ref.sum() > 0
    assert torch.equal(s_fused, s_ref), f"spikes differ at {(s_fused != s_ref).nonzero()[:5]}"
    assert torch.equal(f_fused.v, f_ref.v) and torch.equal(f_fused.u, f_ref.u)
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    for name, got, want in zip(("x", "v0", "u0"), g_fused, g_ref, strict=True):
        scale = 1.0 + float(want.abs().max())
        torch.testing.assert_close(
            got, want, rtol=tol, atol=tol * scale, msg=lambda m, name=name: f"{name}: {m}"
        )


def test_the_default_path_is_fused(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    forward = izhikevich_cpu.forward
    monkeypatch.setattr(izhikevich_cpu, "forward", lambda *a: calls.append(1) or forward(*a))
    x = torch.full((200, 2, 3), 10.0)
    spikes, _ = sf.nn.Izhikevich()(x)
    assert calls == [1]
    assert torch.equal(spikes, sf.nn.Izhikevich(backend="reference")(x)[0])


def test_what_the_kernel_cannot_run_falls_back_or_is_refused() -> None:
    x = torch.full((50, 1, 2), 10.0)
    neuron = sf.nn.Izhikevich()
    neuron.a.requires_grad_(True)
    spikes, _ = neuron(x)  # the reference scan: a needs a gradient
    assert spikes.grad_fn is not None
    neuron.backend = "cpu"
    with pytest.raises(UserError, match="requires a gradient"):
        neuron(x)
    with pytest.raises(UserError, match="triton"):
        sf.nn.Izhikevich(backend="triton")(x)
    with pytest.raises(UserError, match="float64"):
        sf.nn.Izhikevich(backend="cpu")(x.double())
