"""Empty inputs (no time step, no batch, no neuron) give empty outputs and the state unchanged, with
gradients, from every neuron module and every backend: what the reference scan gives."""

from __future__ import annotations

import pytest
import torch

import spikeflow as sf

MODULES = {
    "lif": lambda b: sf.nn.LIF(beta=0.9, learn_beta=True, backend=b),
    "if": lambda b: sf.nn.IF(refractory=2, backend=b),
    "plif": lambda b: sf.nn.PLIF(backend=b),
    "synaptic": lambda b: sf.nn.Synaptic(learn_alpha=True, backend=b),
    "alif": lambda b: sf.nn.ALIF(backend=b),
    "izhikevich": lambda b: sf.nn.Izhikevich(),
    "rlif": lambda b: sf.nn.RLIF(4, backend=b),
}
SHAPES = [(0, 2, 4), (3, 0, 4), (3, 2, 0), (0, 0, 0)]


CASES = [  # a recurrent layer has a fixed width (4), so it takes no input of another width
    (name, shape) for name in MODULES for shape in SHAPES if name != "rlif" or shape[-1] == 4
]


@pytest.mark.parametrize("backend", ["auto", "reference", "cpu", "triton"])
@pytest.mark.parametrize(("name", "shape"), CASES)
def test_empty_input_gives_empty_spikes_and_the_given_state(name, shape, backend):
    model = MODULES[name](backend)
    x = torch.rand(shape, requires_grad=True)
    state = model.initial_state(x.new_zeros(shape[1:]))
    leaves = [x]
    if isinstance(state[0], torch.Tensor):  # the membrane (or current) as a leaf
        leaves.append(state[0].clone().requires_grad_())
        state = state._replace(**{state._fields[0]: leaves[1]})
    spikes, final = model(x, state)
    assert spikes.shape == x.shape and spikes.dtype == x.dtype
    if shape[0] == 0:
        for got, given in zip(
            sf.nn.neuron._tensors(final), sf.nn.neuron._tensors(state), strict=True
        ):
            assert torch.equal(got, given)
    loss = spikes.sum() + sum(t.sum() for t in sf.nn.neuron._tensors(final) if t.requires_grad)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    assert grads[0] is not None and grads[0].shape == x.shape
    if shape[0] == 0 and len(leaves) > 1:  # the final state is the given one: gradient one
        assert torch.equal(grads[1], torch.ones_like(leaves[1]))


@pytest.mark.parametrize("shape", SHAPES)
def test_empty_input_trace_and_fresh_state(shape):
    model = sf.nn.LIF()
    trace = model.trace(torch.rand(shape))
    assert trace.spikes.shape == shape and trace.v.shape == shape
    _, state = model(torch.rand(shape))
    assert state.v.shape == shape[1:] and not state.v.any()
