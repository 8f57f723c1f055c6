"""Models with adaptation-current neurons and learnable delays: ``rsnn`` + ``adlif``, ``mlp`` with
``delays``, and their config fields."""

import pytest
import torch

import spikeflow as sf
from spikeflow import models
from spikeflow.errors import UserError
from spikeflow.train.config import TrainConfig, from_dict, from_toml, to_dict, to_toml


def test_rsnn_with_adlif_has_per_neuron_recurrent_adlif_layers():
    torch.manual_seed(0)
    net = models.build("rsnn", (6,), 3, hidden=(8, 5), neuron="adlif")
    rec = [m for m in net.body.layers if isinstance(m, sf.nn.Recurrent)]
    assert [type(m.neuron) for m in rec] == [sf.nn.AdLIF, sf.nn.AdLIF]
    assert rec[0].neuron.a.shape == (8,) and rec[1].neuron.b.shape == (5,)
    assert float(rec[0].neuron.a.detach().std()) > 0  # drawn per neuron, as in the paper
    assert not isinstance(rec[0].neuron.beta, torch.nn.Parameter)  # learn_beta off by default
    out = net(torch.rand(7, 2, 6) * 10)
    assert out.spikes.shape == (7, 2, 3)
    out.v.sum().backward()
    assert rec[0].neuron.a.grad is not None


def test_mlp_with_delays_puts_a_delayed_linear_on_every_synapse_layer():
    torch.manual_seed(1)
    net = models.build("mlp", (1, 2, 2), 3, hidden=(5,), delays=4)
    delayed = [m for m in net.body.layers if isinstance(m, sf.nn.DelayedLinear)]
    assert [(m.in_features, m.out_features, m.max_delay) for m in delayed] == [(4, 5, 4), (5, 3, 4)]
    assert not any(type(m.layer) is torch.nn.Linear for m in net.body.layers if hasattr(m, "layer"))
    out = net(torch.rand(6, 2, 1, 2, 2))
    assert out.spikes.shape == (6, 2, 3)
    out.v.sum().backward()
    assert delayed[0].positions.grad is not None


def test_mlp_without_delays_is_unchanged():
    net = models.build("mlp", (4,), 2, hidden=(3,))
    assert not any(isinstance(m, sf.nn.DelayedLinear) for m in net.modules())


def test_bad_delays_are_user_errors():
    with pytest.raises(UserError, match="delays=-1"):
        models.build("mlp", (4,), 2, delays=-1)
    with pytest.raises(UserError, match="delays=3 is not valid for model 'cnn'"):
        TrainConfig(model="cnn", delays=3)
    with pytest.raises(UserError, match="delays=-2"):
        TrainConfig(delays=-2)


def test_config_round_trips_with_adlif_and_delays(tmp_path):
    cfg = TrainConfig(model="mlp", neuron="adlif", delays=6, hidden=(12,))
    to_toml(cfg, tmp_path / "c.toml")
    assert "delays = 6" in (tmp_path / "c.toml").read_text()
    assert from_toml(tmp_path / "c.toml") == cfg
    assert from_dict(to_dict(cfg)) == cfg
    assert cfg.model_options()["delays"] == 6
    rsnn = TrainConfig(model="rsnn", neuron="adlif")
    assert "delays" not in rsnn.model_options()
    old = to_dict(TrainConfig())
    del old["delays"]  # a checkpoint written before the field existed
    assert from_dict(old).delays == 0
