"""Spike counts, synaptic operations, MACs and energy, pinned on hand-counted networks."""

import json

import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.energy import PJ_PER_AC, PJ_PER_MAC, estimate
from spikeflow.errors import UserError


def _linear(w: list[list[float]]) -> nn.Linear:
    w_t = torch.tensor(w)
    layer = nn.Linear(w_t.shape[1], w_t.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(w_t)
    return layer


def _mlp() -> sf.nn.Sequential:
    # hidden neuron 0 sums inputs 0 and 2, neuron 1 sums input 1; IF threshold 1 -> one spike per
    # incoming spike. Output layer: 2 -> 4.
    return sf.nn.Sequential(
        _linear([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
        sf.nn.IF(),
        _linear([[1.0, 1.0]] * 4),
        sf.nn.IF(threshold=2.0),
    )


def test_spike_input_counts_by_hand():
    x = torch.tensor([[[1.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]]])  # [T=3, B=1, 3]
    report = estimate(_mlp(), x)
    fc1, if1, fc2, if2 = report.layers
    # 3 input spikes x fan-out 2
    assert fc1.sops == 6 and fc1.macs == 0 and fc1.spike_input
    assert fc1.ann_macs == 6
    # hidden: step 0 v=[2,0] -> spike n0 (v=1 left); step 1 v=[1,1] -> both spike; step 2 none
    assert if1.spikes == 3 and if1.neurons == 2
    assert if1.spike_rate == pytest.approx(3 / (2 * 3))
    assert fc2.sops == 3 * 4 and fc2.ann_macs == 8
    # output input per step: [1,1,1,1], [2,2,2,2], [0..]: threshold 2 -> v 1, 3 (spike) -> 4 spikes
    assert if2.spikes == 4
    assert report.spikes == 7 and report.sops == 18 and report.ann_macs == 14
    assert report.energy_pj == pytest.approx(18 * PJ_PER_AC)
    assert report.ann_energy_pj == pytest.approx(14 * PJ_PER_MAC)
    assert report.num_steps == 3 and report.batch == 1
    with pytest.warns(FutureWarning, match="'timesteps' is deprecated.*'num_steps'"):
        assert report.timesteps == 3
    assert report.as_dict()["num_steps"] == 3 and "timesteps" not in report.as_dict()


def test_analog_input_counts_first_layer_as_macs_on_nonzero_inputs():
    x = torch.tensor([[[0.5, 0.0, 0.25]], [[0.5, 0.0, 0.5]]])  # [T=2, B=1, 3]: 2 non-zero inputs
    report = estimate(_mlp(), x)
    fc1 = report.layers[0]
    assert not fc1.spike_input
    assert fc1.sops == 0 and fc1.macs == 2 * 2 * 2  # 2 steps x 2 non-zero inputs x fan-out 2
    assert fc1.energy_pj == pytest.approx(8 * PJ_PER_MAC)
    assert report.macs == 8


def test_constant_analog_input_is_multiplied_once():
    x = torch.tensor([0.5, 0.0, 0.25]).expand(6, 1, 3)  # the same current at each of 6 steps
    fc1 = estimate(_mlp(), x).layers[0]
    assert fc1.macs == 2 * 2  # 2 non-zero inputs x fan-out 2, once


def test_counts_are_averaged_over_the_batch():
    x = torch.zeros(2, 2, 3)
    x[0, 0] = torch.tensor([1.0, 1.0, 1.0])  # sample 0: 3 spikes, sample 1: none
    report = estimate(_mlp(), x)
    assert report.layers[0].sops == pytest.approx(3 * 2 / 2)
    assert report.batch == 2


@pytest.mark.parametrize(
    ("pixel", "padding", "stride", "size", "fan_out"),
    [
        ((0, 0), 1, 1, 3, 4),  # corner with zero padding reaches a 2x2 block of outputs
        ((1, 1), 1, 1, 3, 9),  # centre reaches every output
        ((0, 1), 1, 1, 3, 6),  # edge
        ((2, 2), 0, 2, 5, 4),  # stride 2, no padding: the centre pixel is in all 4 windows
        ((0, 0), 0, 2, 5, 1),
        ((1, 0), 0, 2, 5, 1),
    ],
)
def test_conv_fan_out_handles_padding_and_stride(pixel, padding, stride, size, fan_out):
    conv = nn.Conv2d(1, 3, 3, padding=padding, stride=stride)
    x = torch.zeros(1, 1, 1, size, size)
    x[0, 0, 0, pixel[0], pixel[1]] = 1.0
    report = estimate(sf.nn.Sequential(conv, sf.nn.IF()), x)
    assert report.layers[0].sops == fan_out * 3  # three output channels


def test_ann_macs_of_convolutions():
    # no padding: out elements x in_channels / groups x kernel area
    conv = nn.Conv2d(4, 6, 3, groups=2)
    report = estimate(sf.nn.Sequential(conv, sf.nn.IF()), torch.zeros(2, 1, 4, 7, 7))
    assert report.layers[0].ann_macs == 6 * 5 * 5 * (4 // 2) * 9
    # padding 1 on a 3x3 map: products with padded zeros are not counted: 4*4 + 4*6 + 9
    conv = nn.Conv2d(1, 1, 3, padding=1)
    report = estimate(sf.nn.Sequential(conv, sf.nn.IF()), torch.zeros(2, 1, 1, 3, 3))
    assert report.layers[0].ann_macs == 49


def test_ann_macs_not_multiplied_by_timesteps_unless_asked():
    a = estimate(_mlp(), torch.zeros(4, 1, 3))
    b = estimate(_mlp(), torch.zeros(16, 1, 3))
    assert a.ann_macs == b.ann_macs == 14
    assert estimate(_mlp(), torch.zeros(4, 1, 3), ann_passes=4).ann_macs == 56


def test_recurrent_layer_adds_feedback_accumulates():
    torch.manual_seed(0)
    net = sf.nn.Sequential(nn.Linear(5, 6), sf.nn.RLIF(6, beta=0.8))
    x = (torch.rand(10, 3, 5) < 0.5).float()
    report = estimate(net, x)
    row = report.layers[1]
    with torch.no_grad():
        spikes = net.trace(x)[1].spikes
    assert row.kind == "recurrent"
    assert row.spikes == pytest.approx(float(spikes.sum()) / 3)
    assert row.sops == pytest.approx(float(spikes[:-1].sum()) / 3 * 6)
    assert row.ann_macs == 36


def test_pooling_flatten_and_nested_sequential():
    conv = nn.Conv2d(1, 2, 3, padding=1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    inner = sf.nn.Sequential(conv, sf.nn.IF(threshold=2.0))
    net = sf.nn.Sequential(inner, nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8, 3), sf.nn.IF())
    x = torch.zeros(3, 2, 1, 4, 4)
    x[:, :, 0, 0, 0] = x[:, :, 0, 0, 1] = 1.0  # a pair of spikes in one corner
    report = estimate(net, x)
    assert report.layers[1].spikes > 0
    assert [r.index for r in report.layers] == ["0.0", "0.1", "1", "2", "3", "4"]
    assert [r.kind for r in report.layers] == [
        "synapse",
        "neuron",
        "other",
        "other",
        "synapse",
        "neuron",
    ]
    pool = report.layers[2]
    assert pool.sops == pool.macs == pool.ann_macs == 0
    fc = report.layers[4]
    # average-pooled spikes are still events: each spike reaches all 3 outputs through its pool
    assert fc.spike_input and fc.macs == 0
    assert fc.sops == pytest.approx(report.layers[1].spikes * 3)
    assert fc.ann_macs == 24


def test_report_as_dict_is_json_and_table_lists_layers():
    report = estimate(_mlp(), torch.ones(2, 1, 3))
    d = json.loads(json.dumps(report.as_dict()))
    assert d["pj_per_ac"] == 0.9 and d["pj_per_mac"] == 4.6
    assert any("Horowitz" in a for a in d["assumptions"])
    assert any("analog" in a for a in d["assumptions"])
    assert d["totals"]["sops"] == report.sops
    assert len(d["layers"]) == 4 and d["layers"][0]["name"] == "Linear(3->2)"
    table = report.table()
    assert "Linear(3->2)" in table and "IF" in table and "total" in table
    assert "Horowitz" in table


def test_custom_energies_and_training_flag_restored():
    net = _mlp()
    net.train()
    report = estimate(net, torch.ones(2, 1, 3), pj_per_ac=1.0, pj_per_mac=10.0)
    assert net.training
    assert report.energy_pj == pytest.approx(report.sops * 1.0)
    assert report.ann_energy_pj == pytest.approx(report.ann_macs * 10.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": nn.Linear(3, 2)}, "model=Linear"),
        ({"x": torch.ones(3)}, "x has shape"),
        ({"pj_per_ac": -1.0}, "pj_per_ac=-1.0"),
        ({"pj_per_mac": -0.1}, "pj_per_mac=-0.1"),
        ({"ann_passes": 0}, "ann_passes=0"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"model": _mlp(), "x": torch.ones(2, 1, 3), **kwargs}
    with pytest.raises(UserError, match=match):
        estimate(**args)
