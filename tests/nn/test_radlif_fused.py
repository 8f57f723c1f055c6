"""The fused recurrent AdLIF layer equals the reference scan: spikes and final state exactly,
gradients (input, initial state and spikes, recurrent weight, every neuron parameter) to float
tolerance, over random shapes, connectivities and settings."""

from __future__ import annotations

import random

import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.functional import AdLIFState, RecurrentState, recurrent_step, scan
from spikeflow.kernels import adlif_cpu

SURROGATES = ("atan", "sigmoid", "fast_sigmoid", "triangle", "erfc")


def _model(seed: int, n: int, conn: str, dtype: torch.dtype) -> sf.nn.RAdLIF:
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = sf.nn.RAdLIF(
        n,
        conn,
        reset=rng.choice(("subtract", "zero", "none")),
        detach_reset=rng.random() < 0.5,
        surrogate=rng.choice(SURROGATES),
        threshold=0.3 + rng.random() * 0.5,
        v_reset=-0.1,
        learn_threshold=True,
    ).to(dtype)
    with torch.no_grad():  # dyadic weights: the recurrent sum is exact in any order
        model.weight.copy_(torch.round(model.weight * 64) / 32)
    return model


def _run(model, x, state, backend):
    model.neuron.backend = backend
    spikes, final = model(x, state)
    gen = torch.Generator().manual_seed(1)

    def weighted(t):
        return (t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum()

    loss = weighted(spikes) + weighted(final.neuron.v) + weighted(final.neuron.w)
    leaves = [x, state.s, state.neuron.v, state.neuron.w, *model.parameters()]
    return spikes, final, torch.autograd.grad(loss, leaves)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("conn", ["dense", "one_to_one"])
def test_fused_radlif_equals_the_reference_scan(seed: int, conn: str) -> None:
    rng = random.Random(100 + seed)
    dtype = torch.float64 if seed % 2 else torch.float32
    n, t_len = rng.choice((1, 5, 16, 33)), rng.choice((1, 7, 17, 30))
    batch = rng.choice(((1,), (3,), (2, 3)))
    model = _model(seed, n, conn, dtype)
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(t_len, *batch, n, generator=gen, dtype=dtype) * 2 + 1.5).requires_grad_()
    shape = x.shape[1:]
    v0, w0 = (torch.randn(shape, generator=gen, dtype=dtype).requires_grad_() for _ in range(2))
    s0 = (torch.rand(shape, generator=gen) < 0.3).to(dtype).requires_grad_()
    state = RecurrentState(AdLIFState(v0, w0, torch.zeros(shape, dtype=dtype)), s0)
    s_ref, f_ref, g_ref = _run(model, x, state, "reference")
    s_fused, f_fused, g_fused = _run(model, x, state, "cpu")
    assert s_ref.sum() > 0
    assert torch.equal(s_ref, scan(recurrent_step, x, state, model.params())[0])
    assert torch.equal(s_fused, s_ref), f"spikes differ at {(s_fused != s_ref).nonzero()[:5]}"
    assert torch.equal(f_fused.neuron.v, f_ref.neuron.v)
    assert torch.equal(f_fused.neuron.w, f_ref.neuron.w) and torch.equal(f_fused.s, f_ref.s)
    names = ["x", "s0", "v0", "w0", *(name for name, _ in model.named_parameters())]
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    for name, got, want in zip(names, g_fused, g_ref, strict=True):
        scale = 1.0 + float(want.abs().max())
        torch.testing.assert_close(
            got, want, rtol=tol, atol=tol * scale, msg=lambda m, name=name: f"{name}: {m}"
        )


def test_the_default_path_is_fused(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    forward = adlif_cpu.recurrent_forward
    monkeypatch.setattr(adlif_cpu, "recurrent_forward", lambda *a: calls.append(1) or forward(*a))
    model = sf.nn.RAdLIF(8)
    spikes, state = model(torch.rand(6, 2, 8) * 4)
    assert calls == [1] and torch.equal(state.s, spikes[-1])


def test_what_the_kernel_cannot_run_falls_back_or_is_refused() -> None:
    x = torch.rand(5, 2, 4) * 4
    spikes, _ = sf.nn.RAdLIF(4, refractory=2)(x)  # the reference scan
    assert spikes.shape == (5, 2, 4)
    with pytest.raises(UserError, match="refractory=2"):
        sf.nn.RAdLIF(4, refractory=2, backend="cpu")(x)
    with pytest.raises(UserError, match="triton"):
        sf.nn.RAdLIF(4, backend="triton")(x)
    with pytest.raises(UserError, match=r"weight has dtype torch\.float32"):
        sf.nn.RAdLIF(4, backend="cpu")(x.double())


@pytest.mark.parametrize("threads", [1, 2])
def test_split_over_threads_gives_the_same_result(threads: int) -> None:
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # conftest restores it
    model = _model(3, 24, "dense", torch.float64)
    x = (torch.randn(12, 6, 24, dtype=torch.float64) * 2 + 1.5).requires_grad_()
    grads = []
    for backend in ("reference", "cpu"):
        model.neuron.backend = backend
        spikes, _ = model(x)
        grads.append((spikes, *torch.autograd.grad(spikes.sum(), [x, model.weight])))
    assert torch.equal(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[1][1:], grads[0][1:], rtol=1e-9, atol=1e-9)
