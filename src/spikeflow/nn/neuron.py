"""The base of every spiking neuron module: one generic forward/step/trace over a pure step function.

A subclass supplies three things: ``step_fn`` (a pure step from :mod:`spikeflow.functional`),
``params()`` (the parameter NamedTuple, built from its buffers and parameters) and
``initial_state(x_t)`` (a fresh state shaped like one time step of input).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from spikeflow import kernels
from spikeflow import surrogate as surrogates
from spikeflow.errors import (
    UserError,
    check_choice,
    check_floating,
    check_min_dims,
    check_positive_int,
    check_range,
)
from spikeflow.functional import RESET_MODES, SpikeParams, Trace, scan


def check_input(x: Tensor, *, min_dim: int = 2, what: str = "[T, B, ...]") -> None:
    """Raise if ``x`` is not a floating tensor with at least ``min_dim`` dimensions laid out as
    ``what``."""
    check_floating("x", x)
    check_min_dims("x", x, min_dim, what)


def first_step(x: Tensor) -> Tensor:
    """``x[0]``, the shape of one time step; zeros of that shape when ``x`` has no step (T = 0)."""
    return x[0] if x.shape[0] else x.new_zeros(x.shape[1:])


def _tensors(state: Any) -> Iterator[Tensor]:
    if isinstance(state, Tensor):
        yield state
    elif isinstance(state, tuple):
        for item in state:
            yield from _tensors(item)


def check_state(state: tuple, x_t: Tensor, cls: type[NamedTuple]) -> None:
    """Raise unless ``state`` is a ``cls`` whose tensors all have the shape of ``x_t``."""
    if not isinstance(state, cls):
        raise UserError(f"state={type(state).__name__} is not valid; expected {cls.__name__}")
    for name, t in zip(state._fields, state, strict=True):
        for tensor in _tensors(t):
            if tensor.shape != x_t.shape:
                raise UserError(
                    f"state.{name} has shape {tuple(tensor.shape)}; expected {tuple(x_t.shape)} "
                    "(the shape of one time step of input)"
                )


def _named_tensors(params: Any) -> Iterator[tuple[str, Tensor]]:
    """``(field name, tensor)`` for every tensor in a (nested) parameter NamedTuple."""
    for name, value in zip(params._fields, params, strict=True):
        if isinstance(value, Tensor):
            yield name, value
        elif isinstance(value, tuple) and hasattr(value, "_fields"):
            yield from _named_tensors(value)


def check_params(params: Any, x_t: Tensor) -> None:
    """Raise unless every tensor in ``params`` broadcasts to the shape of ``x_t`` (one time step of
    input, ``[B, ...]``) without enlarging it: a per-neuron ``beta`` of shape ``(N,)`` fits
    ``[B, N]``; one of shape ``(3,)`` does not."""
    target = tuple(x_t.shape)
    for name, t in _named_tensors(params):
        shape = tuple(t.shape)
        fits = len(shape) <= len(target) and all(
            s in (1, n) for s, n in zip(reversed(shape), reversed(target), strict=False)
        )
        if not fits:
            raise UserError(
                f"{name} has shape {shape}; expected a scalar or a shape that broadcasts to one "
                f"time step of input {target} (e.g. {target[1:]} per neuron)"
            )


def check_finite_state(state: Any) -> None:
    """Raise if a state tensor holds NaN or an infinity.

    NaN and infinities are absorbing in every neuron's recurrence (``beta * inf + x`` stays
    infinite, ``inf - inf`` and ``0 * inf`` are NaN, and a NaN never leaves), so one non-finite
    value in the input, the initial state or an overflowing step leaves the final state
    non-finite. Checking the final state (one value per neuron, not per step) therefore refuses
    every such input, on every backend, at negligible cost; the spikes it would have produced are
    meaningless (and differ between backends, which may order NaN-producing operations apart).
    Skipped under ``torch.compile`` tracing (a data-dependent branch), where only the reference
    scan runs.
    """
    if torch.compiler.is_compiling():
        return
    for name, t in zip(state._fields, state, strict=True):
        for tensor in _tensors(t):
            if tensor.is_floating_point() and not _all_finite(tensor):
                raise UserError(
                    f"state.{name} became NaN or infinite: x or the initial state holds NaN or "
                    f"inf, or values so large that the state overflows {tensor.dtype}; expected "
                    "finite input of moderate size"
                )


def _all_finite(t: Tensor) -> bool:
    """Whether every element is finite; on the CPU in numpy, one thread (torch's parallel
    reduction would wake its thread pool while the fused kernels' pool spins)."""
    if t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64):
        return bool(np.isfinite(t.detach().numpy()).all())
    return bool(torch.isfinite(t).all())


def as_tensor(name: str, value: float | Tensor) -> Tensor:
    """A float tensor from a number or tensor, rejecting non-finite values. Under a ``meta``
    default device (a model built to count its parameters without allocating them) a number
    stays on the CPU, where its value can still be checked."""
    on_meta = not isinstance(value, Tensor) and torch.get_default_device().type == "meta"
    t = (
        torch.as_tensor(value, dtype=torch.get_default_dtype(), device="cpu" if on_meta else None)
        .detach()
        .clone()
    )
    if not t.is_floating_point() or not torch.isfinite(t).all():
        raise UserError(f"{name}={value!r} is not valid; expected finite number(s)")
    return t


def decay(name: str, value: float | Tensor | None, tau: float | None, dt: float | None) -> Tensor:
    """A per-step decay factor in [0, 1], given directly or as ``exp(-dt / tau)`` (exact)."""
    if tau is not None:
        if value is not None:
            raise UserError(f"give either {name} or tau, not both ({name}={value!r}, tau={tau!r})")
        if dt is None:
            raise UserError(f"tau={tau!r} needs dt (the time step, in the same unit as tau)")
        check_range("tau", tau, 0, low_open=True)
        check_range("dt", dt, 0, low_open=True)
        return torch.tensor(math.exp(-dt / tau), dtype=torch.get_default_dtype())
    if value is None:
        raise UserError(f"{name} is required (or tau and dt)")
    t = as_tensor(name, value)
    if (t < 0).any() or (t > 1).any():
        raise UserError(f"{name}={value!r} is out of range; expected values in [0, 1]")
    return t


class Neuron(nn.Module):
    """Generic multi-step machinery shared by every neuron module (forward, step, trace).

    Subclasses set ``step_fn`` (a pure step from :mod:`spikeflow.functional`), ``state_cls``,
    ``kind`` (fused-kernel family, ``""`` for none) and implement ``params()`` and
    ``initial_state(x_t)``.
    """

    step_fn: ClassVar[Callable[..., Any]]
    state_cls: ClassVar[type[NamedTuple]]
    kind: ClassVar[str] = ""

    def __init__(self, *, backend: str = "auto") -> None:
        super().__init__()
        check_choice("backend", backend, kernels.BACKENDS)
        self.backend = backend

    def params(self) -> Any:
        """The parameter NamedTuple for ``step_fn``, built from buffers and parameters."""
        raise NotImplementedError(f"{type(self).__name__} must implement params()")

    def initial_state(self, x_t: Tensor) -> tuple:
        """Fresh (resting) state for one time step of input ``x_t`` ``[B, ...]``."""
        raise NotImplementedError(f"{type(self).__name__} must implement initial_state(x_t)")

    def check_params(self, x_t: Tensor) -> None:
        """Raise unless every parameter tensor fits one time step of input ``x_t`` ``[B, ...]``."""
        check_params(self.params(), x_t)

    def _prepare(self, x_t: Tensor, state: tuple | None) -> tuple:
        self.check_params(x_t)
        if state is None:
            return self.initial_state(x_t)
        check_state(state, x_t, self.state_cls)
        return state

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple[Tensor, tuple]:
        """Run over the whole sequence.

        Arguments:
            x: input ``[T, B, ...]``.
            state: state to continue from; ``None`` starts from rest.

        Returns:
            ``(spikes [T, B, ...], final state)``.
        """
        check_input(x)
        state = self._prepare(first_step(x), state)
        params = self.params()
        fused = self._fused(x, state, params)
        spikes, state = (
            fused if fused is not None else scan(type(self).step_fn, x, state, params)[:2]
        )
        check_finite_state(state)
        return spikes, state

    def _fused(self, x: Tensor, state: tuple, params: tuple) -> tuple[Tensor, tuple] | None:
        """``(spikes, state)`` from the fused kernel over the whole sequence, or ``None`` where
        none applies (then :meth:`forward` runs the reference scan)."""
        return kernels.multi_step(self.kind, x, state, params, self.backend) if self.kind else None

    def step(self, x_t: Tensor, state: tuple | None = None) -> tuple[Tensor, tuple]:
        """One time step: ``x_t`` is ``[B, ...]``. Returns ``(spikes [B, ...], state)``."""
        check_input(x_t, min_dim=1, what="[B, ...]")
        s, state, _ = type(self).step_fn(x_t, self._prepare(x_t, state), self.params())
        check_finite_state(state)
        return s, state

    def trace(self, x: Tensor, state: tuple | None = None) -> Trace:
        """Run and record spikes and the pre-reset membrane ``v`` (both ``[T, B, ...]``)."""
        return self.trace_with_state(x, state)[0]

    def trace_with_state(self, x: Tensor, state: tuple | None = None) -> tuple[Trace, tuple]:
        """:meth:`trace` that also returns the final state (to continue the sequence).

        Arguments:
            x: input ``[T, B, ...]``. state: state to continue from; ``None`` starts from rest.

        Returns:
            ``(Trace(spikes, v), final state)``.
        """
        check_input(x)
        spikes, state, v = scan(
            type(self).step_fn, x, self._prepare(first_step(x), state), self.params(), record_v=True
        )
        check_finite_state(state)
        return Trace(spikes, v), state

    def extra_repr(self) -> str:
        return f"backend={self.backend!r}" if self.backend != "auto" else ""


class ThresholdNeuron(Neuron):
    """A neuron that fires at a threshold and resets: the arguments common to the LIF family.

    Arguments:
        threshold: firing threshold (scalar or per-neuron).
        reset: ``"subtract" | "zero" | "none"``.
        v_reset: membrane value after a ``"zero"`` reset.
        refractory: steps after a spike with input ignored, ``v`` held and no spike.
        surrogate: name or :class:`~spikeflow.surrogate.Surrogate` instance.
        detach_reset: no gradient through the reset.
        learn_threshold: make the threshold an ``nn.Parameter``.
        backend: fused kernel choice, ``"auto" | "reference" | "cpu" | "triton"``.
    """

    threshold: Tensor
    v_reset: Tensor

    def __init__(
        self,
        *,
        threshold: float | Tensor = 1.0,
        reset: str = "subtract",
        v_reset: float = 0.0,
        refractory: int = 0,
        surrogate: str | surrogates.Surrogate = "atan",
        detach_reset: bool = True,
        learn_threshold: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__(backend=backend)
        check_choice("reset", reset, RESET_MODES)
        check_positive_int("refractory", refractory, allow_zero=True)
        self.reset = reset
        self.refractory = refractory
        self.surrogate = surrogates.get(surrogate)
        self.detach_reset = bool(detach_reset)
        threshold = as_tensor("threshold", threshold)
        if not bool((threshold > 0).all()):
            raise UserError(
                f"threshold={_short(threshold)} is not valid; expected a positive threshold "
                "(every element > 0)"
            )
        self.register_tensor("threshold", threshold, learn_threshold)
        self.register_buffer("v_reset", as_tensor("v_reset", v_reset))

    def register_tensor(self, name: str, value: Tensor, learn: bool) -> None:
        """Store a hyper-parameter as an ``nn.Parameter`` (learnable) or a buffer."""
        if learn:
            setattr(self, name, nn.Parameter(value))
        else:
            self.register_buffer(name, value)

    def spike_params(self, threshold: Tensor | None = None) -> SpikeParams:
        return SpikeParams(
            self.threshold if threshold is None else threshold,
            self.reset,
            self.v_reset,
            self.refractory,
            self.surrogate,
            self.detach_reset,
        )

    def extra_repr(self) -> str:
        parts = [f"reset={self.reset!r}", f"surrogate={self.surrogate!r}"]
        if self.refractory:
            parts.append(f"refractory={self.refractory}")
        if self.backend != "auto":
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)


def _short(t: Tensor) -> str:
    """A number for a one-element tensor, else the smallest element and the shape."""
    if t.numel() == 1:
        return f"{t.item():g}"
    return f"tensor{tuple(t.shape)} with min {t.min().item():g}"
