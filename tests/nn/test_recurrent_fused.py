"""The fused recurrent layers equal the reference scan: spikes exactly, final state and gradients
(input, initial state and spikes, recurrent weight, learnable parameters) to float tolerance."""

from __future__ import annotations

import random

import numba
import pytest
import torch

import spikeflow as sf
from spikeflow.errors import UserError
from spikeflow.functional import RecurrentState, recurrent_step, scan

from ..variant_matrix import pairwise

SURROGATES = ("atan", "sigmoid", "fast_sigmoid", "triangle", "erfc")
GRAD_STATES = ("v", "i", "b")


def _model(
    kind: str, n: int, conn: str, rng: random.Random, per_neuron: bool, fixed: dict | None = None
) -> sf.nn.Recurrent:
    spike = {
        "reset": rng.choice(("subtract", "zero", "none")),
        "refractory": rng.choice((0, 0, 2)),
        "detach_reset": rng.random() < 0.5,
        "surrogate": rng.choice(SURROGATES),
        "threshold": torch.rand(n) * 0.5 + 0.75 if per_neuron else 1.0,
        "learn_threshold": True,
    }
    spike.update(fixed or {})
    beta = torch.rand(n) * 0.3 + 0.6 if per_neuron else 0.85
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


def _state(model: sf.nn.Recurrent, x_t: torch.Tensor, gen: torch.Generator) -> RecurrentState:
    inner = model.neuron.initial_state(x_t)
    inner = type(inner)(
        *[
            (torch.randn(t.shape, generator=gen, dtype=t.dtype) * 0.5).requires_grad_()
            if name in GRAD_STATES
            else t
            for name, t in zip(inner._fields, inner, strict=True)
        ]
    )
    s0 = (torch.rand(x_t.shape, generator=gen) < 0.3).to(x_t.dtype).requires_grad_()
    return RecurrentState(inner, s0)


def _loss(spikes: torch.Tensor, state: RecurrentState, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)

    def weighted(t: torch.Tensor) -> torch.Tensor:
        return (t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum()

    total = weighted(spikes) + weighted(state.s)
    for name, t in zip(state.neuron._fields, state.neuron, strict=True):
        if name in GRAD_STATES:
            total = total + weighted(t)
    return total


def _compare(model: sf.nn.Recurrent, x: torch.Tensor, state: RecurrentState, tol: float) -> None:
    model.neuron.backend = "reference"
    ref_s, ref_state = model(x, state)
    model.neuron.backend = "cpu"
    s, new_state = model(x, state)
    assert torch.equal(s, ref_s), f"spikes differ at {(s != ref_s).nonzero()[:5].tolist()}"
    ref_ref = scan(recurrent_step, x, state, model.params())[0]
    assert torch.equal(ref_s, ref_ref)  # the reference path is the plain scan
    for name, a, b in zip(
        ref_state.neuron._fields, ref_state.neuron, new_state.neuron, strict=True
    ):
        torch.testing.assert_close(b, a, rtol=tol, atol=tol, msg=f"final state {name}")
    assert torch.equal(new_state.s, ref_state.s)
    leaves = [x, state.s, *[t for t in state.neuron if t.requires_grad]]
    leaves += [p for p in model.parameters() if p.requires_grad]
    want = torch.autograd.grad(_loss(ref_s, ref_state, 1), leaves, allow_unused=True)
    got = torch.autograd.grad(_loss(s, new_state, 1), leaves, allow_unused=True)
    for k, (g_ref, g) in enumerate(zip(want, got, strict=True)):
        g_ref = torch.zeros_like(leaves[k]) if g_ref is None else g_ref
        assert g is not None, f"no gradient for leaf {k} of shape {tuple(leaves[k].shape)}"
        scale = 1.0 + float(g_ref.abs().max())
        torch.testing.assert_close(g, g_ref, rtol=tol, atol=tol * scale, msg=f"leaf {k}")


def _run_case(seed, kind, conn, dtype, per_neuron, fixed=None):
    rng = random.Random(seed)
    n = rng.choice((1, 5, 16, 33))
    t_len = rng.choice((1, 7, 16, 17, 40))
    batch = rng.choice(((1,), (3,), (2, 3)))
    model = _model(kind, n, conn, rng, per_neuron, fixed).to(dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.round((torch.randn(t_len, *batch, n, generator=gen) * 0.6 + 0.3) * 256) / 256
    x = x.to(dtype).requires_grad_()
    state = _state(model, x[0].detach(), gen)
    _compare(model, x, state, 1e-4 if dtype == torch.float32 else 1e-9)


#: model, connectivity, dtype, refractory period, detached reset, per-neuron parameters: each
#: combination is a compiled variant of the kernel; the default suite runs a pairwise cover
#: (tests/variant_matrix.py), each with its own surrogate (every surrogate appears; the surrogates'
#: code is the CPU kernel's, compared for each one in tests/kernels), random shapes and reset mode
COVER = pairwise(
    ("lif", "synaptic", "if", "alif"),
    ("dense", "one_to_one"),
    (torch.float32, torch.float64),
    (0, 2),
    (True, False),
    (False, True),
)


@pytest.mark.parametrize("case", range(len(COVER)))
def test_fused_recurrent_equals_reference_cover(case: int) -> None:
    kind, conn, dtype, refractory, detach, per_neuron = COVER[case]
    fixed = {
        "refractory": refractory,
        "detach_reset": detach,
        "surrogate": SURROGATES[case % len(SURROGATES)],
    }
    _run_case(100 + case, kind, conn, dtype, per_neuron, fixed)


@pytest.mark.matrix
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("conn", ["dense", "one_to_one"])
def test_fused_recurrent_equals_reference_random(seed: int, conn: str) -> None:
    """Random settings of every kind (each a compiled variant of its own: ``make test-matrix``)."""
    kind = ("lif", "synaptic", "if", "alif")[seed % 4]
    dtype = torch.float64 if seed % 3 else torch.float32
    _run_case(seed, kind, conn, dtype, per_neuron=seed % 2 == 1)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "dtype", [torch.float32, pytest.param(torch.float64, marks=pytest.mark.matrix)]
)
def test_fused_recurrent_blocked_rows(threads: int, dtype: torch.dtype) -> None:
    """Batches wide enough for the kernel's blocked paths: the backward's product takes eight,
    then four, then single rows of a part, the forward's recurrent input and the weight gradient
    four spikes (columns, rows) per pass; an odd width leaves a remainder in each."""
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    rng = random.Random(100)
    fixed = {"refractory": 0, "detach_reset": True, "surrogate": "atan"}  # COVER[0]'s variant
    model = _model("lif", 33, "dense", rng, per_neuron=False, fixed=fixed).to(dtype)
    gen = torch.Generator().manual_seed(100)
    x = torch.round((torch.randn(12, 29, 33, generator=gen) * 0.6 + 0.3) * 256) / 256
    x = x.to(dtype).requires_grad_()
    state = _state(model, x[0].detach(), gen)
    with torch.no_grad():
        per_step = model(x, state)[0].sum(-1)
    assert (per_step >= 5).float().mean() > 0.5  # most rows: a four-spike pass and more
    _compare(model, x, state, 1e-4 if dtype == torch.float32 else 1e-9)


def test_rlif_auto_runs_the_fused_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    from spikeflow.kernels import recurrent_fused

    calls = []
    original = recurrent_fused.FusedRecurrent.apply
    monkeypatch.setattr(
        recurrent_fused.FusedRecurrent, "apply", lambda *a: calls.append(1) or original(*a)
    )
    model = sf.nn.RLIF(8)
    spikes, state = model(torch.rand(5, 2, 8) * 2)
    assert calls == [1]
    assert spikes.shape == (5, 2, 8) and torch.equal(state.s, spikes[-1])


def test_rsynaptic_fused_trains_like_reference() -> None:
    """A few optimiser steps give the same weights with the fused and the reference path."""
    torch.manual_seed(3)
    x = torch.round(torch.rand(20, 4, 12) * 256) / 256
    weights = []
    for backend in ("reference", "cpu"):
        torch.manual_seed(4)
        model = sf.nn.RSynaptic(12, alpha=0.8, beta=0.9, backend=backend).double()
        with torch.no_grad():
            model.weight.copy_(torch.round(model.weight * 64) / 64)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            spikes, _ = model(x.double())
            ((spikes.mean(0) - 0.2) ** 2).sum().backward()
            opt.step()
        weights.append(model.weight.detach().clone())
    torch.testing.assert_close(weights[1], weights[0], rtol=1e-9, atol=1e-12)


def test_fused_recurrent_errors() -> None:
    with pytest.raises(UserError, match="triton"):
        sf.nn.RLIF(4, backend="triton")(torch.rand(3, 1, 4))
    model = sf.nn.RLIF(4, backend="cpu")
    with pytest.raises(UserError, match="weight"):
        model(torch.rand(3, 1, 4, dtype=torch.float64))
