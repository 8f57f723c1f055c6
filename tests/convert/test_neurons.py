"""Converted IF neurons (initial membrane) and spiking max-pooling."""

import pytest
import torch

import spikeflow as sf
from spikeflow.convert import ConvertedIF, SpikingMaxPool
from spikeflow.errors import UserError


def test_converted_if_is_a_subtract_reset_if():
    neuron = ConvertedIF(threshold=2.0)
    assert isinstance(neuron, sf.nn.IF) and neuron.reset == "subtract"


def test_half_threshold_start_rounds_the_spike_count():
    # constant input z per step over T steps: count = floor(T z + v0)
    z = torch.tensor([[0.24, 0.26, 0.5, 0.74, 1.3]])
    x = z.expand(4, 1, 5).contiguous()
    floor = ConvertedIF(v_init=0.0, backend="reference")(x)[0].sum(0)
    rounded = ConvertedIF(v_init=0.5, backend="reference")(x)[0].sum(0)
    torch.testing.assert_close(floor, torch.tensor([[0.0, 1.0, 2.0, 2.0, 4.0]]))
    torch.testing.assert_close(rounded, torch.tensor([[1.0, 1.0, 2.0, 3.0, 4.0]]))


def test_initial_state_scales_with_threshold_tensor():
    neuron = ConvertedIF(threshold=torch.tensor([1.0, 2.0]), v_init=0.5)
    state = neuron.initial_state(torch.zeros(3, 2))
    torch.testing.assert_close(state.v, torch.tensor([[0.5, 1.0]] * 3))


def test_converted_if_bad_v_init():
    with pytest.raises(UserError, match=r"v_init=1\.0"):
        ConvertedIF(v_init=1.0)


def test_spiking_maxpool_passes_the_most_active_input():
    # window of 2 inputs: a fires at steps 0, 1, 2, 3; b at steps 0, 2 -> output follows a
    a = torch.tensor([1.0, 1.0, 1.0, 1.0])
    b = torch.tensor([1.0, 0.0, 1.0, 0.0])
    x = torch.stack([b, a], dim=-1).reshape(4, 1, 1, 2)  # [T, B, C, L]
    out = SpikingMaxPool(2, dims=1)(x)
    assert out.shape == (4, 1, 1, 1)
    torch.testing.assert_close(out.flatten(), a)


def test_spiking_maxpool_rate_equals_max_rate_not_or():
    # two alternating inputs at rate 1/2 each: OR would fire every step, max-rate gating at 1/2
    t = torch.arange(100)
    x = torch.stack([(t % 2 == 0).float(), (t % 2 == 1).float()], dim=-1).reshape(100, 1, 1, 1, 2)
    out = SpikingMaxPool((1, 2))(x)
    assert float(out.sum()) == pytest.approx(50, abs=1)


def test_spiking_maxpool_2d_on_constant_analog_input_is_maxpool():
    x = torch.rand(2, 3, 4, 4)
    out = SpikingMaxPool(2)(x.expand(5, *x.shape))
    torch.testing.assert_close(out, torch.nn.functional.max_pool2d(x, 2).expand(5, 2, 3, 2, 2))


def test_spiking_maxpool_bad_input():
    with pytest.raises(UserError, match="dims=3"):
        SpikingMaxPool(2, dims=3)
    with pytest.raises(UserError, match="expected at least 5 dims"):
        SpikingMaxPool(2)(torch.ones(3, 2, 4))
