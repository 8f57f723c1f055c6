"""Conversion: rates approach ANN activations, QCFS equivalence, normalisation, errors."""

import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow.convert import (
    QCFS,
    ConvertedIF,
    SpikingMaxPool,
    accuracy_vs_num_steps,
    activation_scales,
    convert,
    encode_input,
    simplify,
    snn_outputs,
)
from spikeflow.errors import UserError


def _mlp() -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))


def _hidden_rates(snn, x, t):
    """Spike rates of the first IF layer and the output for inputs ``x`` over ``t`` steps."""
    with torch.no_grad():
        records = snn.trace(encode_input(x, t))
    return records[1].spikes.mean(0), records[-1].mean(0)


def test_first_layer_rates_approach_ann_activations_as_t_grows():
    ann, x = _mlp(), torch.rand(64, 6)
    snn = convert(ann, x, normalization="max", v_init=0.0, backend="reference")
    lam = activation_scales(simplify(ann), x, method="max")[0][1]
    target = torch.relu(ann[0](x)).detach() / lam  # in (0, 1] by max normalisation
    errors = []
    for t in (8, 64, 512):
        rates, _ = _hidden_rates(snn, x, t)
        errors.append(float((rates - target).abs().max()))
    # constant input, floor: |rate - z| <= 1 / T exactly
    assert errors[0] <= 1 / 8 + 1e-5 and errors[2] <= 1 / 512 + 1e-5
    assert errors[0] > errors[1] > errors[2]


def test_output_approaches_ann_logits_as_t_grows():
    ann, x = _mlp(), torch.rand(64, 6)
    snn = convert(ann, x, normalization="max", backend="reference")
    logits = ann(x).detach()
    gap = [float((snn_outputs(snn, x, t).mean(0) - logits).abs().mean()) for t in (16, 256)]
    assert gap[1] < gap[0] / 4 and gap[1] < 0.02


def test_qcfs_network_matches_snn_exactly_at_t_equal_levels():
    # IF with v0 = theta/2 under a constant input fires clip(floor(T z + 1/2), 0, T) times: the QCFS
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Linear(5, 7), QCFS(levels=4, threshold=1.5), nn.Linear(7, 2)).double()
    x = torch.rand(200, 5, dtype=torch.float64)
    snn = convert(ann, None, v_init=0.5, backend="reference").double()
    out = snn_outputs(snn, x, 4).mean(0)
    torch.testing.assert_close(out, ann(x).detach())


def test_structure_of_converted_cnn_and_bn_folded():
    ann = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(16, 3),
    ).eval()
    snn = convert(ann, torch.rand(32, 1, 8, 8), backend="reference")
    assert isinstance(snn, sf.nn.Sequential)
    kinds = [type(m.layer if isinstance(m, sf.nn.TimeDistributed) else m).__name__ for m in snn]
    assert kinds == [
        "Conv2d",
        "ConvertedIF",
        "SpikingMaxPool",
        "Conv2d",
        "ConvertedIF",
        "AvgPool2d",
        "Flatten",
        "Linear",
    ]
    assert all(m.reset == "subtract" for m in snn if isinstance(m, sf.nn.IF))
    assert isinstance(snn[2], SpikingMaxPool)
    assert snn_outputs(snn, torch.rand(2, 1, 8, 8), 5).shape == (5, 2, 3)


@pytest.mark.parametrize("method", ["max", "percentile"])
def test_scales_max_and_percentile(method):
    layers = [nn.Identity(), nn.ReLU()]
    x = torch.cat([torch.linspace(-1, 0, 100), torch.linspace(0.01, 10, 1000)]).reshape(-1, 1)
    scales, shapes = activation_scales(layers, x, method=method, percentile=50.0)
    assert scales[0] is None and shapes == [torch.Size([1]), torch.Size([1])]
    positive = torch.linspace(0.01, 10, 1000)
    expected = 10.0 if method == "max" else float(torch.quantile(positive, 0.5))
    assert float(scales[1]) == pytest.approx(expected, rel=1e-3)


def test_channel_wise_scales_and_conversion_equivalence():
    # channel c of the activation is scaled by 10**c: channel-wise scales see it, and the network
    # computes the same function at large T either way
    conv = nn.Conv2d(1, 3, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 10.0, 100.0]).reshape(3, 1, 1, 1))
        conv.bias.zero_()
    ann = nn.Sequential(conv, nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(12, 2))
    x = torch.rand(16, 1, 4, 4)
    scales, _ = activation_scales(simplify(ann), x, method="max", channel_wise=True)
    torch.testing.assert_close(scales[1], x.amax() * torch.tensor([1.0, 10.0, 100.0]))
    snn = convert(ann, x, normalization="max", channel_wise=True, backend="reference")
    torch.testing.assert_close(
        snn_outputs(snn, x, 2000).mean(0), ann(x).detach(), atol=0.05, rtol=0.01
    )
    first_if = snn[1]
    assert isinstance(first_if, ConvertedIF)


def test_rate_input_converges_too():
    ann, x = _mlp(), torch.rand(32, 6)
    snn = convert(ann, x, backend="reference")
    g = torch.Generator().manual_seed(0)
    out = snn_outputs(snn, x, 2000, encoder="rate", generator=g).mean(0)
    assert float((out - ann(x).detach()).abs().mean()) < 0.05


def test_accuracy_vs_num_steps_equals_separate_runs():
    ann, x = _mlp(), torch.rand(40, 6)
    y = ann(x).argmax(-1)
    snn = convert(ann, x, normalization="percentile", backend="reference")
    acc = accuracy_vs_num_steps(snn, [(x[:25], y[:25]), (x[25:], y[25:])], [2, 10, 30])
    for t in (2, 10, 30):
        separate = float((snn_outputs(snn, x, t).mean(0).argmax(-1) == y).float().mean())
        assert acc[t] == pytest.approx(separate)


def test_original_model_is_unchanged_and_keeps_its_mode():
    ann = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    ann.train()
    before = {k: v.clone() for k, v in ann.state_dict().items()}
    convert(ann, torch.rand(8, 3))
    assert ann.training
    assert all(torch.equal(before[k], v) for k, v in ann.state_dict().items())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"normalization": "mean"}, "method='mean'"),
        ({"percentile": 0.0}, "percentile=0.0"),
        ({"percentile": 101}, "percentile=101"),
        ({"v_init": -0.1}, "v_init=-0.1"),
        ({"calibration_data": None}, "calibration_data=None"),
        ({"calibration_data": torch.ones(0, 6)}, "calibration_data has shape"),
        ({"calibration_data": []}, "calibration_data is empty"),
        ({"model": nn.Sequential(nn.ReLU())}, "no Linear or Conv"),
        ({"model": nn.Sequential(nn.Linear(6, 2), nn.GELU())}, "layer GELU"),
    ],
)
def test_convert_bad_input(kwargs, match):
    args = {"model": _mlp(), "calibration_data": torch.rand(4, 6), **kwargs}
    with pytest.raises(UserError, match=match):
        convert(args.pop("model"), args.pop("calibration_data"), **args)


def test_channel_wise_through_mismatched_flatten_is_refused():
    ann = nn.Sequential(nn.Linear(4, 6), nn.Flatten(), nn.ReLU(), nn.Linear(12, 2))
    x = torch.rand(8, 2, 4)
    with pytest.raises(UserError, match="scales of size 12 do not match the 6 output"):
        convert(ann, x, channel_wise=True)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.rand(2, 3), 0), "num_steps=0"),
        ((torch.rand(2, 3), 4, "poisson"), "encoder='poisson'"),
        ((torch.full((2, 3), 1.5), 4, "rate"), r"values in \[0, 1\]"),
    ],
)
def test_encode_input_bad_input(args, match):
    with pytest.raises(UserError, match=match):
        encode_input(*args)


def test_encode_input_shapes():
    x = torch.rand(2, 3)
    assert torch.equal(encode_input(x, 4)[3], x)
    spikes = encode_input(x, 4, "rate", torch.Generator().manual_seed(0))
    assert spikes.shape == (4, 2, 3) and set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_accuracy_vs_num_steps_bad_input():
    snn = convert(_mlp(), torch.rand(4, 6))
    with pytest.raises(UserError, match="num_steps=-3"):
        accuracy_vs_num_steps(snn, [(torch.rand(2, 6), torch.zeros(2))], [4, -3])
    with pytest.raises(UserError, match="evaluation data is empty"):
        accuracy_vs_num_steps(snn, [], [4])


def test_old_names_still_work_with_a_future_warning():
    """normalisation=, timesteps=, mode=, input 'analog' and the old module names: one release."""
    import spikeflow.convert as conv

    ann, x = _mlp(), torch.rand(16, 6)
    with pytest.warns(FutureWarning, match="'normalization'"):
        old = convert(ann, x, normalisation="max", backend="reference")
    new = convert(ann, x, normalization="max", backend="reference")
    with pytest.warns(FutureWarning) as caught:
        out_old = snn_outputs(old, x, timesteps=6, mode="analog")
    text = " ".join(str(w.message) for w in caught)
    assert "'num_steps'" in text and "'encoder'" in text and "encoder='direct'" in text
    assert torch.equal(out_old, snn_outputs(new, x, num_steps=6, encoder="direct"))
    with pytest.warns(FutureWarning, match="accuracy_vs_num_steps"):
        assert conv.accuracy_vs_timesteps is accuracy_vs_num_steps
    with pytest.warns(FutureWarning, match="NORMALIZATIONS"):
        assert conv.NORMALISATIONS == ("max", "percentile")
    with pytest.raises(UserError, match="not both"):
        encode_input(x, num_steps=4, timesteps=4)
