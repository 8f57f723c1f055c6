"""Models by name: ``build("mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(256,))``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from spikeflow.errors import UserError
from spikeflow.models.classifier import SpikingClassifier
from spikeflow.models.cnn import SpikingCNN
from spikeflow.models.mlp import SpikingMLP
from spikeflow.models.neurons import NeuronConfig
from spikeflow.models.rsnn import RecurrentSNN

_REGISTRY: dict[str, Callable[..., SpikingClassifier]] = {}
_OPTIONS: dict[str, tuple[str, ...]] = {}

#: Keys of a flat model config that configure the neurons (``neuron`` is the kind).
NEURON_KEYS = ("neuron", *(f.name for f in fields(NeuronConfig) if f.name != "kind"))


def register(
    name: str, factory: Callable[..., SpikingClassifier], options: tuple[str, ...]
) -> None:
    """Add a model under ``name`` (lower-cased).

    ``factory(input_shape, num_classes, neuron=NeuronConfig, **options)`` builds it; ``options``
    names the keyword arguments it takes besides the neuron options.
    """
    key = name.lower()
    if key in _REGISTRY:
        raise UserError(f"model {key!r} is already registered")
    _REGISTRY[key] = factory
    _OPTIONS[key] = tuple(options)


def options(name: str) -> tuple[str, ...]:
    """The option names model ``name`` takes besides the neuron options."""
    if name not in _REGISTRY:
        raise UserError(f"model={name!r} is not valid; expected one of {', '.join(available())}")
    return _OPTIONS[name]


def available() -> tuple[str, ...]:
    """Names of the registered models, sorted."""
    return tuple(sorted(_REGISTRY))


def build(
    name: str, input_shape: tuple[int, ...], num_classes: int, **config: Any
) -> SpikingClassifier:
    """Build model ``name`` from a flat config.

    Arguments:
        name: ``"mlp"``, ``"cnn"``, ``"rsnn"`` or another registered name.
        input_shape: shape of one time step of one sample, e.g. ``(1, 28, 28)``.
        num_classes: output neurons.
        config: the model's own options (``hidden``, ``channels``, ``dropout``, ``connectivity``)
            and the neuron options ``neuron`` (kind), ``beta``, ``threshold``, ``reset``,
            ``surrogate``, ``learn_beta``, ``backend``.
    """
    if name not in _REGISTRY:
        raise UserError(f"model={name!r} is not valid; expected one of {', '.join(available())}")
    neuron_opts = {k: config.pop(k) for k in NEURON_KEYS if k in config}
    if "neuron" in neuron_opts:
        neuron_opts["kind"] = neuron_opts.pop("neuron")
    try:
        return _REGISTRY[name](
            tuple(input_shape), num_classes, neuron=NeuronConfig(**neuron_opts), **config
        )
    except TypeError as err:
        raise UserError(f"model {name!r} got an option it does not take: {err}") from err


register("mlp", SpikingMLP, ("hidden", "dropout"))
register("cnn", SpikingCNN, ("channels", "hidden", "dropout"))
register("rsnn", RecurrentSNN, ("hidden", "connectivity", "dropout"))
