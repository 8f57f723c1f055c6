"""Adaptive LIF with an adaptation current (Bittar & Garner 2022): :class:`AdLIF`, :class:`RAdLIF`."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.functional import (
    AdLIFParams,
    AdLIFState,
    RecurrentParams,
    RecurrentState,
    adlif_step,
)
from spikeflow.kernels.adlif_fused import multi_step_adlif, multi_step_radlif
from spikeflow.nn.neuron import ThresholdNeuron, as_tensor, decay
from spikeflow.nn.recurrent import Recurrent

#: The paper's bounds (its parameters are clamped into them at every step): membrane time
#: constant 5 to 25 steps, adaptation time constant 30 to 120 steps, ``a`` in [-1, 1], ``b`` in
#: [0, 2].
BETA_RANGE = (math.exp(-1 / 5), math.exp(-1 / 25))
RHO_RANGE = (math.exp(-1 / 30), math.exp(-1 / 120))
A_RANGE = (-1.0, 1.0)
B_RANGE = (0.0, 2.0)
#: The values used when neither a value nor ``size`` is given (inside the bounds above).
DEFAULTS = {"beta": 0.9, "rho": 0.98, "a": 0.5, "b": 1.0}


def _bounds(name: str, value: tuple[float, float], unit: bool) -> tuple[float, float]:
    """``(low, high)`` checked: two finite numbers, ``low <= high``, in [0, 1] for a decay."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise UserError(f"{name}={value!r} is not valid; expected a pair (low, high)")
    lo = check_range(f"{name}[0]", value[0], 0 if unit else None, 1 if unit else None)
    hi = check_range(f"{name}[1]", value[1], lo, 1 if unit else None)
    return lo, hi


class AdLIF(ThresholdNeuron):
    """Adaptive LIF neuron with an adaptation current ``w`` (adLIF, Bittar & Garner 2022)::

        u = beta u_prev + (1 - beta) (x[t] - w_prev);  s = H(u - threshold);  v = reset(u, s)
        w = rho w_prev + a u + b s

    ``w`` follows the membrane (``a``) and the spikes (``b``) and is subtracted from the input,
    giving spike-frequency adaptation (``b > 0``) and resonance (``a > 0``). The input is scaled by
    ``1 - beta`` as in the paper (unlike :class:`~spikeflow.nn.LIF`). As in the paper, the four
    parameters are learnable and clamped into their bounds at every step (:data:`BETA_RANGE`,
    :data:`RHO_RANGE`, :data:`A_RANGE`, :data:`B_RANGE`), which keeps training stable: an
    optimiser step past a bound has no effect until it comes back.

    Arguments:
        beta: membrane decay per step (scalar or ``[N]``), or give ``tau`` with ``dt``.
        rho: adaptation decay per step, or give ``tau_adapt`` with ``dt``.
        a: membrane-to-adaptation coupling (unitless).
        b: adaptation per spike (input units).
        size: number of neurons ``N``: parameters become per-neuron ``[N]``, and those not given
            are drawn uniformly within their bounds (the paper's initialisation); without it each
            parameter not given is one shared scalar (0.9, 0.98, 0.5, 1.0).
        tau: membrane time constant (``beta = exp(-dt / tau)``), in the unit of ``dt``.
        tau_adapt: adaptation time constant (``rho = exp(-dt / tau_adapt)``).
        dt: the time step, in the unit of ``tau``.
        learn_beta: learn the membrane decay.
        learn_adaptation: learn ``rho``, ``a`` and ``b``.
        beta_range: the bounds of ``beta``, ``(low, high)``; a given value outside is an error.
        rho_range: the bounds of ``rho``.
        a_range: the bounds of ``a``.
        b_range: the bounds of ``b``.
        **kwargs: ``threshold``, ``reset``, ``v_reset``, ``refractory``, ``surrogate``,
            ``detach_reset``, ``learn_threshold`` and ``backend``, as :class:`~spikeflow.nn.LIF`.
            Without a refractory period, CPU and CUDA runs use a fused kernel over the whole
            sequence (``backend="reference"``: the per-step scan).

    Example::

        adlif = sf.nn.AdLIF(size=100)
        spikes, state = adlif(torch.rand(25, 8, 100))   # [T, B, N]
    """

    step_fn = staticmethod(adlif_step)
    state_cls = AdLIFState

    def __init__(
        self,
        beta: float | Tensor | None = None,
        rho: float | Tensor | None = None,
        a: float | Tensor | None = None,
        b: float | Tensor | None = None,
        *,
        size: int | None = None,
        tau: float | None = None,
        tau_adapt: float | None = None,
        dt: float | None = None,
        learn_beta: bool = True,
        learn_adaptation: bool = True,
        beta_range: tuple[float, float] = BETA_RANGE,
        rho_range: tuple[float, float] = RHO_RANGE,
        a_range: tuple[float, float] = A_RANGE,
        b_range: tuple[float, float] = B_RANGE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if size is not None:
            check_positive_int("size", size)
        self.size = size
        self.bounds = {
            "beta": _bounds("beta_range", beta_range, True),
            "rho": _bounds("rho_range", rho_range, True),
            "a": _bounds("a_range", a_range, False),
            "b": _bounds("b_range", b_range, False),
        }
        given = {
            "beta": None if beta is None and tau is None else decay("beta", beta, tau, dt),
            "rho": None if rho is None and tau_adapt is None else decay("rho", rho, tau_adapt, dt),
            "a": None if a is None else as_tensor("a", a),
            "b": None if b is None else as_tensor("b", b),
        }
        for name, value in given.items():
            learn = learn_beta if name == "beta" else learn_adaptation
            self.register_tensor(name, self._initial(name, value), learn)

    def _initial(self, name: str, value: Tensor | None) -> Tensor:
        """The starting value of parameter ``name``, checked against its bounds."""
        lo, hi = self.bounds[name]
        if value is None:
            if self.size is None:
                value = as_tensor(name, DEFAULTS[name])
                if not lo <= float(value) <= hi:
                    raise UserError(
                        f"{name} has no value, and its default {float(value):g} is outside "
                        f"{name}_range=({lo:g}, {hi:g}); give {name} or size"
                    )
                return value
            return torch.empty(self.size).uniform_(lo, hi)
        if bool((value < lo).any()) or bool((value > hi).any()):
            raise UserError(
                f"{name}={_text(value)} is out of range; expected values in [{lo:g}, {hi:g}] "
                f"(or widen {name}_range)"
            )
        if self.size is not None and value.dim() == 0:
            value = value.expand(self.size).clone()
        return value

    def params(self) -> AdLIFParams:
        """The parameters clamped into their bounds (differentiable inside them)."""
        beta, rho, a, b = (
            getattr(self, n).clamp(*self.bounds[n]) for n in ("beta", "rho", "a", "b")
        )
        return AdLIFParams(beta, rho, a, b, self.spike_params())

    def initial_state(self, x_t: Tensor) -> AdLIFState:
        z = torch.zeros_like(x_t)
        return AdLIFState(z, z.clone(), z.clone())

    def _fused(self, x: Tensor, state: tuple, params: tuple) -> tuple[Tensor, tuple] | None:
        """The fused CPU kernel (:mod:`spikeflow.kernels.adlif_fused`) where it applies."""
        assert isinstance(state, AdLIFState) and isinstance(params, AdLIFParams)
        return multi_step_adlif(x, state, params, self.backend)

    def extra_repr(self) -> str:
        size = f"size={self.size}, " if self.size is not None else ""
        return size + super().extra_repr()


class RAdLIF(Recurrent):
    """Recurrent adLIF layer (the paper's RadLIF): ``RAdLIF(size, connectivity, **AdLIF
    arguments)``; the neurons' parameters are per neuron (``AdLIF(size=size, ...)``).

    The paper also zeroes the diagonal of the dense recurrent weight; here it is learnt like the
    rest (as :class:`~spikeflow.nn.RLIF`). Without a refractory period, CPU float32 / float64 runs
    use a fused kernel over the whole sequence (:func:`~spikeflow.kernels.adlif_fused.
    multi_step_radlif`; ``backend="reference"``: the per-step scan).
    """

    def __init__(
        self,
        size: int,
        connectivity: str = "dense",
        *,
        learn_recurrent: bool = True,
        **kwargs: Any,
    ) -> None:
        check_positive_int("size", size)
        neuron = AdLIF(size=size, **kwargs)
        super().__init__(neuron, size, connectivity, learn_recurrent=learn_recurrent)

    def _fused(self, x: Tensor, state: tuple, params: tuple) -> tuple[Tensor, tuple] | None:
        """The fused recurrent AdLIF kernel (:mod:`spikeflow.kernels.adlif_fused`) where it
        applies."""
        assert isinstance(state, RecurrentState) and isinstance(params, RecurrentParams)
        return multi_step_radlif(x, state, params, self.neuron.backend)


def _text(t: Tensor) -> str:
    return (
        f"{t.item():g}"
        if t.numel() == 1
        else f"tensor{tuple(t.shape)} (min {t.min():g}, max {t.max():g})"
    )
