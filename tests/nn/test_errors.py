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


@pytest.mark.parametrize("threshold", [0.0, -1.0, torch.tensor([1.0, 0.0])])
@pytest.mark.parametrize("cls", [sf.nn.LIF, sf.nn.IF, sf.nn.Synaptic, sf.nn.ALIF])
def test_threshold_must_be_positive(cls, threshold):
    with pytest.raises(E, match=r"^threshold=.* is not valid; expected a positive"):
        cls(threshold=threshold)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: sf.nn.LIF(beta=torch.full((3,), 0.9)), "beta"),
        (lambda: sf.nn.Synaptic(alpha=torch.full((3,), 0.5)), "alpha"),
        (lambda: sf.nn.ALIF(rho=torch.full((3,), 0.5)), "rho"),
        (lambda: sf.nn.ALIF(beta_a=torch.ones(4, 5)), "beta_a"),
        (lambda: sf.nn.IF(threshold=torch.ones(3)), "threshold"),
        (lambda: sf.nn.RLIF(5, beta=torch.full((3,), 0.9)), "beta"),
    ],
)
@pytest.mark.parametrize("call", ["forward", "step", "trace"])
def test_wrong_shaped_per_neuron_parameter_is_named(make, name, call):
    model = make()
    x = torch.rand(4, 2, 5)
    with pytest.raises(E, match=rf"^{name} has shape \(\d+,( \d+)?\); expected .*\(2, 5\)"):
        if call == "step":
            model.step(x[0])
        else:
            getattr(model, call)(x)


def test_per_neuron_parameters_of_fitting_shapes_run():
    x = torch.rand(4, 2, 5)
    for beta in (torch.full((5,), 0.9), torch.full((2, 5), 0.9), torch.full((1, 5), 0.9)):
        spikes, _ = sf.nn.LIF(beta=beta)(x)
        assert spikes.shape == x.shape
