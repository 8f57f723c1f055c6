"""Shared helpers: build a neuron model with random state, run it fused and by the reference scan.

A case passes when the spikes are bitwise equal, the final state matches and the gradients of a
random linear loss (with respect to the input, the initial state and every learnable parameter)
match to float tolerance.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

import spikeflow as sf
from spikeflow import kernels
from spikeflow.functional import scan

from ..variant_matrix import pairwise

KINDS = ("lif", "if", "synaptic", "alif")
RESETS = ("subtract", "zero", "none")
#: model, refractory period, detached reset, learnable parameters: the compiled variants of the
#: default suite's cover of the CPU kernel's settings (tests/variant_matrix.py)
COVER = pairwise(KINDS, (0, 2), (True, False), (True, False))
GRAD_STATES = ("v", "i", "b")


def make_model(kind: str, learn: bool = True, **kwargs: Any) -> sf.nn.Neuron:
    """A neuron module of ``kind`` with its decays (and threshold) learnable when ``learn``."""
    if kind == "lif":
        return sf.nn.LIF(beta=0.9, learn_beta=learn, learn_threshold=learn, **kwargs)
    if kind == "if":
        return sf.nn.IF(learn_threshold=learn, **kwargs)
    if kind == "synaptic":
        return sf.nn.Synaptic(
            alpha=0.8,
            beta=0.9,
            learn_alpha=learn,
            learn_beta=learn,
            learn_threshold=learn,
            **kwargs,
        )
    return sf.nn.ALIF(beta=0.9, beta_a=0.3, learn_beta=learn, learn_threshold=learn, **kwargs)


def random_state(model: sf.nn.Neuron, x_t: Tensor, grad: bool = True) -> tuple:
    """The model's state for ``x_t`` with random membrane/current/adaptation (leaf tensors)."""
    state = model.initial_state(x_t)
    return type(state)(
        *[
            (torch.randn_like(t) * 0.5).requires_grad_(grad) if name in GRAD_STATES else t
            for name, t in zip(state._fields, state, strict=True)
        ]
    )


def _leaves(x: Tensor, state: tuple, model: sf.nn.Neuron) -> list[Tensor]:
    leaves = [x] if x.requires_grad else []
    leaves += [t for t in state if t.requires_grad]
    return leaves + [p for p in model.parameters() if p.requires_grad]


def _weights(t: Tensor, gen: torch.Generator) -> Tensor:
    """Fixed random loss weights shaped like ``t``, drawn on the CPU, moved to ``t``'s device."""
    return torch.randn(t.shape, generator=gen, dtype=t.dtype).to(t.device)


def _loss(spikes: Tensor, state: tuple, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    total = (spikes * _weights(spikes, gen)).sum()
    for name, t in zip(state._fields, state, strict=True):
        if name in GRAD_STATES:
            total = total + (t * _weights(t, gen)).sum()
    return total


def compare(
    kind: str,
    model: sf.nn.Neuron,
    x: Tensor,
    state: tuple,
    backend: str,
    *,
    rtol: float | None = None,
) -> Tensor:
    """Assert fused == reference (spikes exact; state and gradients close). Returns the spikes."""
    params = model.params()
    ref_s, ref_state, _ = scan(type(model).step_fn, x, state, params)
    fused = kernels.multi_step(kind, x, state, params, backend)
    assert fused is not None, "the fused kernel did not run"
    s, new_state = fused
    assert type(new_state) is type(ref_state)
    assert s.dtype == ref_s.dtype and s.shape == ref_s.shape
    assert torch.equal(s, ref_s), f"spikes differ at {(s != ref_s).nonzero()[:5].tolist()}"
    if rtol is None:
        rtol = 1e-4 if x.dtype == torch.float32 else 1e-9
    for name, a, b in zip(ref_state._fields, ref_state, new_state, strict=True):
        torch.testing.assert_close(b, a, rtol=rtol, atol=rtol, msg=f"final state {name}")
    leaves = _leaves(x, state, model)
    if leaves:
        want = torch.autograd.grad(
            _loss(ref_s, ref_state, 1), leaves, allow_unused=True, retain_graph=True
        )
        got = torch.autograd.grad(_loss(s, new_state, 1), leaves, allow_unused=True)
        for k, (g_ref, g) in enumerate(zip(want, got, strict=True)):
            if g_ref is None:
                g_ref = torch.zeros_like(leaves[k])
            assert g is not None, f"no gradient for leaf {k} of shape {tuple(leaves[k].shape)}"
            scale = 1.0 + float(g_ref.abs().max())
            torch.testing.assert_close(
                g, g_ref, rtol=rtol, atol=rtol * scale, msg=f"gradient of leaf {k}"
            )
    return s


def drive(shape: tuple[int, ...], dtype: torch.dtype = torch.float32, seed: int = 0) -> Tensor:
    """A random input ``[T, B, ...]`` that makes neurons fire about a third of the time."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=dtype) * 0.8 + 0.3


NON_FINITE = {"+inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}


def non_finite_input(value: float, dtype: torch.dtype = torch.float32) -> Tensor:
    """A ``[5, 2, 3]`` drive with ``value`` at one step of two neurons."""
    x = drive((5, 2, 3), dtype)
    x[1, 0, 1] = value
    x[3, 1, 2] = value
    return x


def per_neuron_model(kind: str, n: int, **kwargs: Any) -> sf.nn.Neuron:
    """A ``kind`` model whose every setting (``alpha``, ``beta``, ``rho``, ``beta_a``, ``threshold``,
    ``v_reset``) is an ``[n]`` tensor of distinct values; learnable where the model allows."""
    ramp = lambda lo, hi: torch.linspace(lo, hi, n)  # noqa: E731
    common = {"threshold": ramp(0.6, 1.4), "v_reset": ramp(-0.2, 0.2), "learn_threshold": True}
    if kind == "lif":
        return sf.nn.LIF(beta=ramp(0.5, 0.95), learn_beta=True, **common, **kwargs)
    if kind == "if":
        return sf.nn.IF(**common, **kwargs)
    if kind == "synaptic":
        return sf.nn.Synaptic(
            alpha=ramp(0.4, 0.9), beta=ramp(0.5, 0.95), learn_alpha=True, learn_beta=True,
            **common, **kwargs,
        )  # fmt: skip
    return sf.nn.ALIF(
        beta=ramp(0.5, 0.95), rho=ramp(0.6, 0.99), beta_a=ramp(0.05, 0.5), learn_beta=True,
        **common, **kwargs,
    )  # fmt: skip


#: (name, kind, T, dtype, options): the extended comparisons, run by the CPU and triton kernels
EXTENDED = [
    *[(f"per_neuron_{k}", k, 10, torch.float32, {"per_neuron": True}) for k in KINDS],
    *[(f"long_T{t}_{k}", k, t, torch.float32, {}) for k in ("lif", "alif") for t in (37, 64)],
    *[
        (f"float64_refractory_{s}", "lif", 9, torch.float64, {"surrogate": s})
        for s in ("atan", "sigmoid", "fast_sigmoid", "triangle", "straight_through", "erfc")
    ],
]


def extended_case(kind: str, t: int, dtype: torch.dtype, options: dict, device: str = "cpu"):
    """Model, input ``[t, 2, 6]`` and random state of one :data:`EXTENDED` case on ``device``."""
    opts = dict(options)
    kwargs: dict[str, Any] = {"reset": "zero", "refractory": 2, "detach_reset": False}
    if "surrogate" in opts:
        kwargs["surrogate"] = sf.surrogate.get(opts.pop("surrogate"), alpha=1.7)
    if opts.pop("per_neuron", False):
        model = per_neuron_model(kind, 6, **kwargs)
    else:
        model = make_model(kind, v_reset=0.1, **kwargs)
    model = model.to(device=device, dtype=dtype)
    x = drive((t, 2, 6), dtype, seed=t).to(device).requires_grad_()
    return model, x, random_state(model, x[0])
