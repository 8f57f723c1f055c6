"""Every ``UserError`` of the ANN -> SNN conversion no other test reaches (one table, NaN and inf
in every range check), and the small public pieces never run elsewhere (reprs, old names)."""

import warnings

import pytest
import torch
from torch import nn

import spikeflow.convert as sfc
from spikeflow.convert import (
    QCFS,
    ConvertConfig,
    ConvertedIF,
    SpikingMaxPool,
    accuracy_vs_num_steps,
    activation_scales,
    convert,
    simplify,
)
from spikeflow.convert.ann import build_ann, evaluate_ann
from spikeflow.errors import UserError

NAN, INF = float("nan"), float("inf")


def _relu_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _x() -> torch.Tensor:
    return torch.rand(8, 3)


CASES = [
    # the ANN
    (
        lambda: build_ann("cnn", (4,), 2),
        "input_shape=(4,) is not valid for a CNN; expected (C, H, W)",
    ),
    (
        lambda: build_ann("cnn", (1, 2, 2), 2, channels=(4, 4)),
        "input of (1, 2, 2) is too small for 2 pooling blocks",
    ),
    (lambda: build_ann("mlp", (3,), 2, hidden=(0,)), "hidden=0 is not valid"),
    (lambda: evaluate_ann(_relu_net(), []), "the evaluation data is empty"),
    # the configuration
    (lambda: ConvertConfig(num_steps=()), "num_steps=() is not valid"),
    (lambda: ConvertConfig(lr=NAN), "lr=nan is not valid"),
    (lambda: ConvertConfig(lr=INF), "lr=inf is not valid"),
    (lambda: ConvertConfig(percentile=NAN), "percentile=nan is not valid"),
    (lambda: ConvertConfig(percentile=INF), "percentile=inf is not valid"),
    (lambda: ConvertConfig(percentile=100.5), "percentile=100.5 is out of range"),
    (lambda: ConvertConfig(v_init=NAN), "v_init=nan is not valid"),
    (lambda: ConvertConfig(v_init=-INF), "v_init=-inf is not valid"),
    # the conversion
    (lambda: convert(_relu_net(), _x(), v_init=NAN), "v_init=nan is not valid"),
    (lambda: convert(_relu_net(), _x(), v_init=1.0), "v_init=1.0 is out of range"),
    (lambda: convert(_relu_net(), _x(), percentile=NAN), "percentile=nan is not valid"),
    (lambda: convert(_relu_net(), _x(), percentile=INF), "percentile=inf is not valid"),
    (
        lambda: convert(
            nn.Sequential(nn.Flatten(2), nn.Linear(3, 2), nn.ReLU()), torch.rand(4, 1, 3)
        ),
        "Flatten(start_dim=2, end_dim=-1) is not supported; expected Flatten(start_dim=1, end_dim=-1)",
    ),
    (
        lambda: simplify(
            nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2, track_running_stats=False))
        ),
        "BatchNorm1d has no running statistics to fold",
    ),
    (lambda: convert(_relu_net(), [("not a tensor", 0)]), "calibration_data yields str"),
    (lambda: convert(_relu_net(), []), "calibration_data is empty"),
    (lambda: convert(_relu_net(), torch.rand(0, 3)), "calibration_data has shape (0, 3)"),
    (lambda: activation_scales(simplify(_relu_net()), _x(), percentile=NAN), "percentile=nan"),
    (
        lambda: accuracy_vs_num_steps(convert(_relu_net(), _x()), [], ()),
        "num_steps=() is not valid",
    ),
    # the layers
    (lambda: QCFS(threshold=NAN), "threshold=nan is not valid"),
    (lambda: QCFS(threshold=INF), "threshold=inf is not valid"),
    (lambda: QCFS(shift=NAN), "shift=nan is not valid"),
    (lambda: QCFS(levels=0), "levels=0 is not valid"),
    (lambda: ConvertedIF(v_init=INF), "v_init=inf is not valid"),
    (lambda: SpikingMaxPool(2, dims=3), "dims=3 is not valid"),
]


@pytest.mark.parametrize(("call", "words"), CASES)
def test_conversion_refuses(call, words):
    with pytest.raises(UserError) as err:
        call()
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_consecutive_weight_layers_convert_without_a_scale_between():
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    snn = convert(ann, None)
    x = torch.rand(5, 3)
    out, _ = snn(x.expand(4, 5, 3))  # a constant current: the output current at every step
    assert torch.allclose(out, ann(x).expand(4, 5, 2), atol=1e-6)


def test_reprs_name_the_settings_without_warnings():
    warnings.simplefilter("error")  # pytest restores the filters after the test
    assert "v_init=0.25" in repr(ConvertedIF(v_init=0.25))
    assert "levels=4, threshold=2, shift=0.5" in repr(QCFS(levels=4, threshold=2.0))
    assert "kernel_size=2, stride=2, padding=0" in repr(SpikingMaxPool(2))


def test_old_names_warn_and_unknown_names_raise():
    with pytest.warns(FutureWarning, match="accuracy_vs_timesteps"):
        assert sfc.accuracy_vs_timesteps is accuracy_vs_num_steps
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        sfc.nope  # noqa: B018


def test_config_timesteps_is_the_old_spelling_of_num_steps():
    with pytest.warns(FutureWarning, match="'timesteps' is deprecated"):
        cfg = ConvertConfig(timesteps=[4, 8])
    assert cfg.num_steps == (4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ConvertConfig(num_steps=[2]).num_steps == (2,)
