"""Batch-norm folding and model flattening."""

import pytest
import torch
from torch import nn

from spikeflow.convert import QCFS, fold_batchnorm, simplify
from spikeflow.errors import UserError


def _trained_bn(bn: nn.Module) -> nn.Module:
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return bn.eval()


@pytest.mark.parametrize("bias", [True, False])
def test_fold_linear_batchnorm_leaves_outputs_unchanged(bias):
    fc, bn = nn.Linear(5, 4, bias=bias), _trained_bn(nn.BatchNorm1d(4))
    x = torch.randn(16, 5)
    fused = fold_batchnorm(fc, bn)
    torch.testing.assert_close(fused(x), bn(fc(x)))
    assert fused.bias is not None


def test_fold_conv_batchnorm_leaves_outputs_unchanged():
    conv, bn = nn.Conv2d(3, 6, 3, padding=1, groups=3), _trained_bn(nn.BatchNorm2d(6))
    x = torch.randn(2, 3, 7, 7)
    torch.testing.assert_close(fold_batchnorm(conv, bn)(x), bn(conv(x)))


def test_fold_does_not_modify_the_original():
    fc, bn = nn.Linear(3, 2), _trained_bn(nn.BatchNorm1d(2))
    before = fc.weight.clone()
    fold_batchnorm(fc, bn)
    assert torch.equal(fc.weight, before)


def test_simplify_whole_model_same_outputs_dropout_removed_maxpool_moved():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        _trained_bn(nn.BatchNorm2d(4)),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Sequential(nn.Flatten(), nn.Linear(16, 3), nn.Identity()),
    ).eval()
    layers = simplify(model)
    assert [type(m).__name__ for m in layers] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "Flatten",
        "Linear",
    ]
    x = torch.randn(5, 1, 4, 4)
    torch.testing.assert_close(nn.Sequential(*layers)(x), model(x))


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()), "layer Sigmoid"),
        (nn.LSTM(2, 2), "layer LSTM"),
        (nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 2)), "BatchNorm1d follows nothing"),
        (nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.BatchNorm1d(2)), "BatchNorm1d follows ReLU"),
        (nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(2)), "does not match the 3 outputs"),
    ],
)
def test_unsupported_layers_are_named(model, match):
    with pytest.raises(UserError, match=match):
        simplify(model)


def test_unsupported_message_lists_what_is_supported():
    with pytest.raises(UserError, match=r"expected an nn\.Sequential of: Linear, Conv1d"):
        simplify(nn.Sequential(nn.Tanh()))


def test_qcfs_is_kept():
    layers = simplify(nn.Sequential(nn.Linear(2, 2), QCFS(4)))
    assert isinstance(layers[1], QCFS)
