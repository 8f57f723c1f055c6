"""Neuron kinds by name, and the one place that builds a neuron module from a model config.

Every kind is an entry of :data:`NEURON_KINDS` (see ``docs/extending.md`` for the checklist of
adding one): its :mod:`spikeflow.nn` class, a title for figures, whether models can train with it,
whether the fused kernels run it and whether :func:`spikeflow.interop.to_nir` exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spikeflow import kernels
from spikeflow import nn as snn
from spikeflow import surrogate as surrogates
from spikeflow.errors import check_choice, check_range
from spikeflow.functional import RESET_MODES
from spikeflow.registry import Registry


@dataclass(frozen=True)
class NeuronKind:
    """A registered neuron model.

    Attributes:
        cls: the :class:`spikeflow.nn.ThresholdNeuron` subclass.
        title: a name for figures, e.g. ``"Leaky integrate-and-fire neuron"``.
        options: the :class:`NeuronConfig` fields the class takes besides ``threshold``,
            ``reset``, ``surrogate`` and ``backend``; ``None`` when models cannot be built with it.
        fused: the fused kernels run it (its ``kind`` is a kernel plan's kind).
        nir: :func:`spikeflow.interop.to_nir` exports it (else it raises a UserError).
        sized: the class takes ``size=N`` (the layer's width) for per-neuron parameters, which
            :func:`make_neuron` passes where the model knows the width.
    """

    cls: type[snn.ThresholdNeuron]
    title: str
    options: tuple[str, ...] | None
    fused: bool
    nir: bool
    sized: bool = False

    @property
    def trainable(self) -> bool:
        """Whether :class:`NeuronConfig` (and so every model) can use this kind."""
        return self.options is not None


#: The neuron kinds by name.
NEURON_KINDS: Registry[NeuronKind] = Registry("neuron", NeuronKind)
NEURON_KINDS.register(
    "lif",
    NeuronKind(snn.LIF, "Leaky integrate-and-fire neuron", ("beta", "learn_beta"), True, True),
)
NEURON_KINDS.register("if", NeuronKind(snn.IF, "Integrate-and-fire neuron", (), True, True))
NEURON_KINDS.register(
    "plif", NeuronKind(snn.PLIF, "Parametric LIF neuron (learnt decay)", ("beta",), True, True)
)
NEURON_KINDS.register(
    "alif", NeuronKind(snn.ALIF, "Adaptive LIF neuron", ("beta", "learn_beta"), True, False)
)
NEURON_KINDS.register(
    "synaptic",
    NeuronKind(
        snn.Synaptic, "Current-based synaptic LIF neuron", ("beta", "learn_beta"), True, True
    ),
)
NEURON_KINDS.register(
    "adlif",
    NeuronKind(
        snn.AdLIF,
        "Adaptive LIF neuron with an adaptation current (adLIF)",
        ("beta", "learn_beta"),
        False,
        False,
        sized=True,
    ),
)
NEURON_KINDS.register(
    "izhikevich", NeuronKind(snn.Izhikevich, "Izhikevich neuron", None, False, False)
)

#: Neuron kinds a model can be built with.
NEURONS = tuple(name for name in NEURON_KINDS if NEURON_KINDS.get(name).trainable)


def trainable_kinds() -> tuple[str, ...]:
    """Returns:
    The registered kinds a model can be built with (kinds registered later included).
    """
    return tuple(name for name in NEURON_KINDS if NEURON_KINDS.get(name).trainable)


@dataclass(frozen=True)
class NeuronConfig:
    """Options shared by every spiking layer of a model.

    Attributes:
        kind: one of :func:`trainable_kinds` (``"lif"``, ``"if"``, ``"plif"``, ``"alif"``,
            ``"synaptic"``, ``"adlif"``).
        beta: membrane decay per step in [0, 1] (unused by ``"if"``; initial value for ``"plif"``).
        threshold: firing threshold (> 0), in the units of the input current.
        reset: ``"subtract" | "zero" | "none"``.
        surrogate: surrogate gradient name (see :func:`spikeflow.surrogate.available`).
        learn_beta: learn the decay (LIF, ALIF, Synaptic).
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
        check_choice("neuron", self.kind, trainable_kinds())
        check_range("beta", self.beta, 0, 1)
        check_range("threshold", self.threshold, 0, low_open=True)
        check_choice("reset", self.reset, RESET_MODES)
        check_choice("surrogate", self.surrogate, surrogates.available())
        check_choice("backend", self.backend, kernels.BACKENDS)


def make_neuron(cfg: NeuronConfig, size: int | None = None) -> snn.ThresholdNeuron:
    """A fresh neuron module for one layer of a model.

    Arguments:
        cfg: the model's neuron options.
        size: the layer's width ``N``, given to a ``sized`` kind for per-neuron parameters
            (ignored by the others); ``None``: shared scalar parameters.

    Returns:
        The module of kind ``cfg.kind``.
    """
    kind = NEURON_KINDS.get(cfg.kind)
    options = {k: getattr(cfg, k) for k in kind.options or ()}
    if kind.sized and size is not None:
        options["size"] = size
    return kind.cls(
        threshold=cfg.threshold,
        reset=cfg.reset,
        surrogate=cfg.surrogate,
        backend=cfg.backend,
        **options,
    )


def build_neuron(kind: str, **options: Any) -> snn.ThresholdNeuron:
    """A neuron module of a registered kind, built from its class's own keyword arguments.

    Arguments:
        kind: a name in :data:`NEURON_KINDS`.
        options: keyword arguments of the kind's class (e.g. ``tau=20.0, dt=1.0``: time constant
            and step in the same unit, ``beta = exp(-dt / tau)``; ``threshold``, ``refractory``).

    Returns:
        The module.
    """
    return NEURON_KINDS.get(kind).cls(**options)
