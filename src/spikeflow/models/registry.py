"""Models by name: ``build("mlp", input_shape=(1, 8, 8), num_classes=10, hidden=(256,))``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from spikeflow.errors import UserError
from spikeflow.models.classifier import SpikingClassifier
from spikeflow.models.cnn import SpikingCNN
from spikeflow.models.mlp import SpikingMLP
from spikeflow.models.neurons import NeuronConfig
from spikeflow.models.rsnn import RecurrentSNN
from spikeflow.registry import Registry


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its factory and the option names it takes besides the neuron's."""

    factory: Callable[..., SpikingClassifier]
    options: tuple[str, ...]


MODELS: Registry[ModelEntry] = Registry("model", ModelEntry)

#: Keys of a flat model config that configure the neurons (``neuron`` is the kind).
NEURON_KEYS = ("neuron", *(f.name for f in fields(NeuronConfig) if f.name != "kind"))


def register(
    name: str, factory: Callable[..., SpikingClassifier], options: tuple[str, ...]
) -> None:
    """Add a model under ``name`` (lower-cased; a name already taken is rejected).

    Arguments:
        name: the model's name.
        factory: ``factory(input_shape, num_classes, neuron=NeuronConfig, **options)`` builds it.
        options: the keyword arguments it takes besides the neuron options.
    """
    if not callable(factory):
        raise UserError(f"factory={factory!r} is not valid; expected a callable")
    MODELS.register(name, ModelEntry(factory, tuple(options)))


def options(name: str) -> tuple[str, ...]:
    """The option names model ``name`` takes besides the neuron options.

    Arguments:
        name: a registered model name.

    Returns:
        The option names.
    """
    return MODELS.get(name).options


def available() -> tuple[str, ...]:
    """Returns:
    The names of the registered models, sorted.
    """
    return MODELS.available()


def build(
    name: str, input_shape: tuple[int, ...], num_classes: int, **config: Any
) -> SpikingClassifier:
    """Build model ``name`` from a flat config.

    Arguments:
        name: ``"mlp"``, ``"cnn"``, ``"rsnn"`` or another registered name.
        input_shape: shape of one time step of one sample, e.g. ``(1, 28, 28)``.
        num_classes: output neurons.
        config: the model's own options (``hidden``, ``channels``, ``dropout``, ``connectivity``,
            ``delays``)
            and the neuron options ``neuron`` (kind), ``beta``, ``threshold``, ``reset``,
            ``surrogate``, ``learn_beta``, ``backend``.

    Returns:
        The model.
    """
    entry = MODELS.get(name)
    neuron_opts = {k: config.pop(k) for k in NEURON_KEYS if k in config}
    if "neuron" in neuron_opts:
        neuron_opts["kind"] = neuron_opts.pop("neuron")
    try:
        return entry.factory(
            tuple(input_shape), num_classes, neuron=NeuronConfig(**neuron_opts), **config
        )
    except TypeError as err:
        raise UserError(f"model {name!r} got an option it does not take: {err}") from err


register("mlp", SpikingMLP, ("hidden", "dropout", "delays"))
register("cnn", SpikingCNN, ("channels", "hidden", "dropout"))
register("rsnn", RecurrentSNN, ("hidden", "connectivity", "dropout"))
