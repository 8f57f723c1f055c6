"""Model builders: shapes, layer structure, output contract, gradients, registry errors."""

import pytest
import torch
from torch import nn

from spikeflow import models
from spikeflow import nn as snn
from spikeflow.errors import UserError


@pytest.mark.parametrize(
    ("name", "opts", "shape"),
    [
        ("mlp", {"hidden": (32, 16)}, (1, 8, 8)),
        ("cnn", {"channels": (4, 8), "hidden": (16,)}, (1, 8, 8)),
        ("rsnn", {"hidden": (12,)}, (1, 8, 8)),
        ("mlp", {"neuron": "alif"}, (64,)),
        ("mlp", {"neuron": "synaptic", "reset": "zero"}, (64,)),
        ("mlp", {"neuron": "plif"}, (64,)),
        ("cnn", {"channels": (4,), "hidden": (), "neuron": "if"}, (2, 6, 6)),
    ],
)
def test_output_contract_and_gradients(name, opts, shape):
    net = models.build(name, shape, 10, **opts)
    x = torch.rand(5, 3, *shape)
    out = net(x)
    assert out.spikes.shape == (5, 3, 10) and out.v.shape == (5, 3, 10)
    assert len(out.rates) == len(net.spiking_layer_names())
    assert set(out.spikes.unique().tolist()) <= {0.0, 1.0}
    (out.v.sum() + sum(out.rates)).backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)


def test_mlp_structure():
    net = models.build("mlp", (1, 8, 8), 10, hidden=(32,), beta=0.8, threshold=0.5, dropout=0.1)
    kinds = [type(getattr(layer, "layer", layer)).__name__ for layer in net.body.layers]
    assert kinds == ["Flatten", "Linear", "LIF", "Dropout", "Linear"]
    lif = net.body.layers[2]
    assert float(lif.beta) == pytest.approx(0.8) and float(lif.threshold) == 0.5
    assert isinstance(net.head, snn.LIF)


def test_cnn_halves_resolution_per_block():
    net = models.build("cnn", (1, 28, 28), 10, channels=(4, 8), hidden=(16,))
    first_fc = next(m for m in net.modules() if isinstance(m, nn.Linear))
    assert first_fc.in_features == 8 * 7 * 7


def test_rsnn_is_recurrent():
    net = models.build("rsnn", (4,), 3, hidden=(6,), connectivity="one_to_one")
    rec = [m for m in net.body.layers if isinstance(m, snn.Recurrent)]
    assert len(rec) == 1 and rec[0].weight.shape == (6,)


def test_output_equals_sequential_run():
    torch.manual_seed(1)
    net = models.build("mlp", (6,), 4, hidden=(8,))
    x = (torch.rand(7, 2, 6) < 0.5).float()
    spikes, _ = net.as_sequential()(x)
    assert torch.equal(net(x).spikes, spikes)
    assert torch.equal(net.trace(x)[-1].spikes, spikes)


def test_no_state_leaks_between_calls():
    net = models.build("rsnn", (6,), 4, hidden=(8,))
    x = torch.rand(5, 2, 6)
    assert torch.equal(net(x).v, net(x).v)


@pytest.mark.parametrize(
    ("name", "opts", "message"),
    [
        ("transformer", {}, "model='transformer'.*cnn, mlp, rsnn"),
        ("mlp", {"neuron": "hh"}, "neuron='hh'"),
        ("mlp", {"beta": 1.5}, "beta=1.5"),
        ("mlp", {"threshold": 0.0}, "threshold=0.0"),
        ("mlp", {"surrogate": "nope"}, "surrogate='nope'"),
        ("mlp", {"hidden": (0,)}, "hidden=0"),
        ("mlp", {"dropout": 1.0}, "dropout=1.0"),
        ("mlp", {"channels": (4,)}, "does not take"),
        ("cnn", {"channels": (4, 4, 4, 4)}, "at most 3"),
        ("rsnn", {"connectivity": "sparse"}, "connectivity='sparse'"),
    ],
)
def test_errors(name, opts, message):
    shape = (1, 8, 8)
    with pytest.raises(UserError, match=message):
        models.build(name, shape, 10, **opts)


def test_cnn_needs_images():
    with pytest.raises(UserError, match=r"input_shape=\(64,\).*channels, height, width"):
        models.build("cnn", (64,), 10)
