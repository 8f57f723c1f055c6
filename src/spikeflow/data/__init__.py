"""Datasets by name, each returning a :class:`DataBundle` (train / val / test, sample layout).

Static image datasets give ``x: [1, H, W]`` in ``[0, 1]`` per sample, encoded into spikes
``[T, B, ...]`` by the trainer. Built in: ``digits`` (scikit-learn, no download),
``fashion_mnist`` and ``mnist`` (IDX files). Add one with :func:`register`.
"""

from functools import partial

from spikeflow.data.bundle import DataBundle as DataBundle
from spikeflow.data.digits import load_digits as load_digits
from spikeflow.data.event_digits import load_event_digits as _load_event_digits
from spikeflow.data.idx import FASHION_MNIST_DIR as FASHION_MNIST_DIR
from spikeflow.data.idx import load_fashion_mnist as load_fashion_mnist
from spikeflow.data.idx import load_mnist as load_mnist
from spikeflow.data.idx import read_idx as read_idx
from spikeflow.data.neuromorphic import DESCRIPTIONS as _DESCRIPTIONS
from spikeflow.data.neuromorphic import OPTIONS as _OPTIONS
from spikeflow.data.neuromorphic import load_event_dataset as load_event_dataset
from spikeflow.data.registry import available as available
from spikeflow.data.registry import info as info
from spikeflow.data.registry import load as load
from spikeflow.data.registry import register as register
from spikeflow.data.registry import sample as sample
from spikeflow.data.temporal import load_japanese_vowels as _load_japanese_vowels
from spikeflow.data.tonic_interop import from_tonic as from_tonic
from spikeflow.data.tonic_interop import tonic_bundle as tonic_bundle

register("digits", load_digits, "scikit-learn 8x8 handwritten digits, 1,438 train / 359 test")
register(
    "fashion_mnist", load_fashion_mnist, "Fashion-MNIST 28x28, 60,000 train / 10,000 test (IDX)"
)
register("mnist", load_mnist, "MNIST 28x28, 60,000 train / 10,000 test (IDX files in --data-dir)")
register(
    "event_digits",
    _load_event_digits,
    "digits as event streams from simulated saccades, [10, 2, 20, 20] frames, 1,438 / 359",
)
register(
    "japanese_vowels",
    _load_japanese_vowels,
    "JapaneseVowels (sktime extra), 9 speakers, sequences [T, 12] as currents, 270 / 370",
)
for _name, _text in _DESCRIPTIONS.items():
    register(_name, partial(load_event_dataset, _name), _text, options=_OPTIONS)
