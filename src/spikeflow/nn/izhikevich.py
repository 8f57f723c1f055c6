"""Izhikevich (2003) neuron module with the published parameter presets."""

from __future__ import annotations

import torch
from torch import Tensor

from spikeflow.errors import UserError, check_positive_int, check_range
from spikeflow.functional import IzhikevichParams, IzhikevichState, izhikevich_step
from spikeflow.kernels.izhikevich_fused import multi_step_izhikevich
from spikeflow.nn.neuron import ThresholdNeuron, as_tensor
from spikeflow.surrogate import Surrogate

#: (a, b, c, d) from Izhikevich (2003), Fig. 2.
PRESETS: dict[str, tuple[float, float, float, float]] = {
    "regular_spiking": (0.02, 0.2, -65.0, 8.0),
    "intrinsically_bursting": (0.02, 0.2, -55.0, 4.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
    "fast_spiking": (0.1, 0.2, -65.0, 2.0),
    "low_threshold_spiking": (0.02, 0.25, -65.0, 2.0),
}
PRESETS["bursting"] = PRESETS["intrinsically_bursting"]


class Izhikevich(ThresholdNeuron):
    """Izhikevich neuron: ``v' = 0.04 v^2 + 5 v + 140 - u + I``, ``u' = a (b v - u)``.

    A spike fires when ``v >= 30`` mV; then ``v <- c`` and ``u <- u + d``. Units: mV and ms; the input
    ``x[t]`` is the current ``I`` during step ``t`` of ``dt`` ms. The state starts at ``v = -65`` mV,
    ``u = b v``.

    Arguments:
        preset: ``"regular_spiking"`` (default), ``"fast_spiking"``, ``"bursting"``
            (intrinsically bursting), ``"chattering"``, ``"low_threshold_spiking"``; or give
        a: recovery time scale (overrides the preset's).
        b: sensitivity of the recovery variable ``u`` to ``v`` (overrides the preset's).
        c: ``v`` after a spike, in mV (overrides the preset's).
        d: jump of ``u`` after a spike (overrides the preset's).
        dt: step in ms (default 0.25, fine enough for the single-neuron firing patterns of
            Izhikevich (2004); his 2003 network code uses ``dt=1.0, substeps=2``).
        substeps: forward-Euler sub-steps for ``v`` per step (default 1).
        v_peak: the spike cut-off in mV (the threshold; default 30).
        surrogate: the surrogate gradient of the spike (name or instance).
        detach_reset: no gradient through the reset of ``v`` and the jump of ``u``.
        backend: ``"auto"`` (CPU float32 / float64 runs use a fused kernel over the whole
            sequence, :mod:`spikeflow.kernels.izhikevich_fused`), ``"reference"`` (the per-step
            scan), ``"cpu"`` (the fused kernel or an error), ``"triton"`` (no GPU kernel: an error).

    Example::

        neuron = sf.nn.Izhikevich("fast_spiking")
        spikes, state = neuron(torch.full((400, 1, 1), 10.0))   # [T, B, N], 100 ms of 10 units
    """

    step_fn = staticmethod(izhikevich_step)
    state_cls = IzhikevichState
    a: Tensor
    b: Tensor
    d: Tensor

    def __init__(
        self,
        preset: str = "regular_spiking",
        *,
        a: float | None = None,
        b: float | None = None,
        c: float | None = None,
        d: float | None = None,
        dt: float = 0.25,
        substeps: int = 1,
        v_peak: float = 30.0,
        surrogate: str | Surrogate = "atan",
        detach_reset: bool = True,
        backend: str = "auto",
    ) -> None:
        if preset not in PRESETS:
            raise UserError(
                f"preset={preset!r} is not a known Izhikevich preset; expected one of "
                + ", ".join(sorted(PRESETS))
            )
        check_range("dt", dt, 0, low_open=True)
        check_positive_int("substeps", substeps)
        pa, pb, pc, pd = PRESETS[preset]
        a, b, c, d = (
            (pa if a is None else a),
            (pb if b is None else b),
            (pc if c is None else c),
            (pd if d is None else d),
        )
        super().__init__(
            threshold=v_peak,
            reset="zero",
            v_reset=c,
            surrogate=surrogate,
            detach_reset=detach_reset,
            backend=backend,
        )
        self.preset = preset
        self.dt = float(dt)
        self.substeps = substeps
        for name, value in (("a", a), ("b", b), ("d", d)):
            self.register_buffer(name, as_tensor(name, value))

    def params(self) -> IzhikevichParams:
        return IzhikevichParams(self.a, self.b, self.d, self.dt, self.substeps, self.spike_params())

    def initial_state(self, x_t: Tensor) -> IzhikevichState:
        v = torch.full_like(x_t, -65.0)
        return IzhikevichState(v, self.b.to(v) * v)

    def _fused(self, x: Tensor, state: tuple, params: tuple) -> tuple[Tensor, tuple] | None:
        """The fused CPU kernel (:mod:`spikeflow.kernels.izhikevich_fused`) where it applies."""
        assert isinstance(state, IzhikevichState) and isinstance(params, IzhikevichParams)
        return multi_step_izhikevich(x, state, params, self.backend)

    def extra_repr(self) -> str:
        return f"preset={self.preset!r}, dt={self.dt}, substeps={self.substeps}"
