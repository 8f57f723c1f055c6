"""Sequential(checkpoint_every=K): same outputs and gradients as unsegmented, less kept for backward."""

import pytest
import torch
from torch import nn

import spikeflow as sf
from spikeflow import models
from spikeflow.errors import UserError

T, B = 20, 4


def net(checkpoint_every=None, dropout=0.3):
    torch.manual_seed(0)
    layers = [nn.Linear(6, 12), sf.nn.LIF(beta=0.8), nn.Dropout(dropout), nn.Linear(12, 12)]
    layers += [sf.nn.RLIF(12, beta=0.9)]
    layers += [nn.Linear(12, 3), sf.nn.LIF(beta=0.7, threshold=0.5)]
    return sf.nn.Sequential(*layers, checkpoint_every=checkpoint_every)


def grads(model, x, seed=7):
    torch.manual_seed(seed)  # the dropout mask
    x = x.clone().requires_grad_()
    out, state = model(x)
    ((out * torch.linspace(0.5, 1.5, out.shape[-1])).sum() + state[-1][0].sum()).backward()
    return out.detach(), x.grad, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("every", [1, 3, 7, 20, 50])  # 7 does not divide T; 20 and 50 >= T
def test_gradients_equal_unsegmented(every):
    x = torch.rand(T, B, 6) * 2
    ref_out, ref_dx, ref_dw = grads(net(), x)
    out, dx, dw = grads(net(every), x)
    assert ref_out.sum() > 0  # the network spikes, so the surrogate path is exercised
    assert torch.equal(out, ref_out)
    torch.testing.assert_close(dx, ref_dx)
    for g, ref in zip(dw, ref_dw, strict=True):
        assert ref.abs().sum() > 0
        torch.testing.assert_close(g, ref)


def test_dropout_mask_is_drawn_once_and_carried():
    seq = net(5, dropout=0.5)
    x = torch.rand(T, B, 6) * 2
    torch.manual_seed(3)
    _, state = seq(x)
    mask = state[2]
    assert mask.shape == (1, B, 12) and 0 < mask.mean() < 1
    seq.eval()
    _, state = seq(x)
    assert state[2] is None  # inactive in eval mode


def test_saves_less_for_backward():
    def saved_bytes(every):
        total = 0

        def pack(t):
            nonlocal total
            total += t.numel() * t.element_size()
            return t

        model = net(every, dropout=0.0)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(torch.rand(200, B, 6))
        return total

    assert saved_bytes(50) * 4 < saved_bytes(None)


def test_no_grad_runs_unsegmented_with_same_output():
    x = torch.rand(T, B, 6) * 2
    with torch.no_grad():
        torch.manual_seed(1)
        a, _ = net(4)(x)
        torch.manual_seed(1)
        b, _ = net()(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "4"])
def test_bad_checkpoint_every_is_a_user_error(value):
    with pytest.raises(UserError, match="checkpoint_every"):
        sf.nn.Sequential(nn.Linear(2, 2), sf.nn.LIF(), checkpoint_every=value)
    seq = sf.nn.Sequential(nn.Linear(2, 2), sf.nn.LIF())
    with pytest.raises(UserError, match="checkpoint_every"):
        seq.checkpoint_every = value


def test_batch_norm_in_training_is_refused_and_allowed_in_eval():
    seq = sf.nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), sf.nn.LIF(), checkpoint_every=3)
    x = torch.rand(T, B, 4)
    with pytest.raises(UserError, match=r"BatchNorm1d.*training mode"):
        seq(x)
    seq.eval()
    with torch.enable_grad():
        out, _ = seq(x)
    assert out.shape == (T, B, 5)


@pytest.mark.parametrize("name, options", [("mlp", {"dropout": 0.2}), ("rsnn", {"hidden": (10,)})])
def test_classifier_gradients_equal_with_checkpointed_body(name, options):
    x = torch.rand(T, B, 1, 4, 4) * 2

    def run(every):
        torch.manual_seed(0)
        model = models.build(name, (1, 4, 4), 3, **options)
        model.body.checkpoint_every = every
        torch.manual_seed(5)
        out = model(x)
        loss = out.spikes.sum(0).logsumexp(-1).sum() + out.v.square().mean() + sum(out.rates)
        loss.backward()
        return out, [p.grad for p in model.parameters()]

    ref, ref_g = run(None)
    for every in (3, 6, 40):
        out, g = run(every)
        assert torch.equal(out.spikes, ref.spikes)
        torch.testing.assert_close(out.v, ref.v)
        torch.testing.assert_close(torch.stack(out.rates), torch.stack(ref.rates))
        for a, b in zip(g, ref_g, strict=True):
            torch.testing.assert_close(a, b)
