"""One place that turns the neuron options of a model config into a neuron module."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from spikeflow import kernels
from spikeflow import nn as snn
from spikeflow import surrogate as surrogates
from spikeflow.errors import UserError, check_choice, check_range
from spikeflow.functional import RESET_MODES

#: Neuron kinds a model can be built with.
NEURONS = ("lif", "if", "plif", "alif", "synaptic")


@dataclass(frozen=True)
class NeuronConfig:
    """Options shared by every spiking layer of a model.

    Attributes:
        kind: one of :data:`NEURONS`.
        beta: membrane decay per step in [0, 1] (unused by ``"if"``; initial value for ``"plif"``).
        threshold: firing threshold (> 0). reset: ``"subtract" | "zero" | "none"``.
        surrogate: surrogate gradient name. learn_beta: learn the decay (LIF, ALIF, Synaptic).
        backend: fused-kernel choice, ``"auto" | "reference" | "cpu" | "triton"``.
    """

    kind: str = "lif"
    beta: float = 0.9
    threshold: float = 1.0
    reset: str = "subtract"
    surrogate: str = "atan"
    learn_beta: bool = False
    backend: str = "auto"

    def __post_init__(self) -> None:
        check_choice("neuron", self.kind, NEURONS)
        check_range("beta", self.beta, 0, 1)
        check_range("threshold", self.threshold, 0, low_open=True)
        check_choice("reset", self.reset, RESET_MODES)
        check_choice("surrogate", self.surrogate, surrogates.available())
        check_choice("backend", self.backend, kernels.BACKENDS)

    def as_dict(self) -> dict:
        return asdict(self)


def make_neuron(cfg: NeuronConfig) -> snn.Neuron:
    """A fresh neuron module for one layer, built from ``cfg``."""
    common = {
        "threshold": cfg.threshold,
        "reset": cfg.reset,
        "surrogate": cfg.surrogate,
        "backend": cfg.backend,
    }
    if cfg.kind == "if":
        return snn.IF(**common)
    if cfg.kind == "plif":
        return snn.PLIF(cfg.beta, **common)
    if cfg.kind == "lif":
        return snn.LIF(cfg.beta, learn_beta=cfg.learn_beta, **common)
    if cfg.kind == "alif":
        return snn.ALIF(cfg.beta, learn_beta=cfg.learn_beta, **common)
    if cfg.kind == "synaptic":
        return snn.Synaptic(beta=cfg.beta, learn_beta=cfg.learn_beta, **common)
    raise UserError(f"neuron={cfg.kind!r} is not valid; expected one of {', '.join(NEURONS)}")
