"""Bad input gets a clear error naming the argument, the value and what was expected."""

import pytest
import torch

import spikeflow as sf

E = sf.UserError


@pytest.mark.parametrize("beta", [-0.1, 1.5, float("nan")])
def test_beta_outside_unit_interval(beta):
    with pytest.raises(E, match=r"beta="):
        sf.nn.LIF(beta=beta)


def test_per_neuron_beta_outside_unit_interval():
    with pytest.raises(E, match=r"beta=.*expected values in \[0, 1\]"):
        sf.nn.LIF(beta=torch.tensor([0.5, 1.2]))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"tau": -1.0, "dt": 1.0}, "tau"),
        ({"tau": 0.0, "dt": 1.0}, "tau"),
        ({"tau": 1.0, "dt": -1.0}, "dt"),
    ],
)
def test_negative_tau_dt(kwargs, name):
    with pytest.raises(E, match=rf"{name}=.*expected a value in \(0"):
        sf.nn.LIF(**kwargs)


def test_tau_without_dt_and_both_beta_and_tau():
    with pytest.raises(E, match="needs dt"):
        sf.nn.LIF(tau=20e-3)
    with pytest.raises(E, match="either beta or tau"):
        sf.nn.LIF(beta=0.9, tau=20e-3, dt=1e-3)


@pytest.mark.parametrize("refractory", [-1, 1.5, True])
def test_bad_refractory(refractory):
    with pytest.raises(E, match=r"refractory=.*non-negative integer"):
        sf.nn.LIF(refractory=refractory)


def test_unknown_reset_lists_valid_modes():
    with pytest.raises(E, match=r"reset='soft'.*'subtract', 'zero', 'none'"):
        sf.nn.LIF(reset="soft")


def test_unknown_surrogate_lists_valid_names():
    with pytest.raises(E, match=r"surrogate='relu'.*atan"):
        sf.nn.IF(surrogate="relu")


def test_unknown_backend_and_preset_and_connectivity():
    with pytest.raises(E, match=r"backend='cuda'.*'auto'"):
        sf.nn.LIF(backend="cuda")
    with pytest.raises(E, match=r"preset='tonic'.*regular_spiking"):
        sf.nn.Izhikevich("tonic")
    with pytest.raises(E, match=r"connectivity='sparse'.*'dense'"):
        sf.nn.RLIF(4, "sparse")


@pytest.mark.parametrize("shape", [(5,), ()])
def test_input_with_fewer_than_two_dims(shape):
    with pytest.raises(
        E, match=r"x has shape .*expected at least 2 dims laid out as \[T, B, \.\.\.\]"
    ):
        sf.nn.LIF()(torch.zeros(shape))


def test_empty_time_axis():
    with pytest.raises(E, match=r"T >= 1"):
        sf.nn.LIF()(torch.zeros(0, 2, 3))


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.uint8])
def test_non_floating_input(dtype):
    with pytest.raises(E, match=r"x has dtype .*expected a floating dtype"):
        sf.nn.LIF()(torch.zeros(3, 2, 4, dtype=dtype))


def test_state_of_wrong_shape():
    lif = sf.nn.LIF()
    _, state = lif(torch.zeros(3, 2, 4))
    with pytest.raises(E, match=r"state.v has shape \(2, 4\); expected \(5, 4\)"):
        lif(torch.zeros(3, 5, 4), state)
    with pytest.raises(E, match=r"state=SynapticState is not valid; expected LIFState"):
        lif(torch.zeros(3, 2, 4), sf.nn.Synaptic()(torch.zeros(3, 2, 4))[1])


def test_recurrent_size_mismatch():
    with pytest.raises(E, match=r"x has 3 features .*expected size=4"):
        sf.nn.RLIF(4)(torch.zeros(2, 1, 3))


def test_sequential_state_length():
    net = sf.nn.Sequential(torch.nn.Linear(3, 2), sf.nn.LIF())
    with pytest.raises(E, match=r"state has 1 entries; expected 2"):
        net(torch.zeros(2, 1, 3), [None])


def test_dropout_probability():
    with pytest.raises(E, match=r"p=1.*\[0, 1\)"):
        sf.nn.Dropout(1.0)
