"""Truncated BPTT (two passes, bounded memory) and the trainer's segmented modes."""

import pytest
import torch

from spikeflow import data, models
from spikeflow import loss as losses
from spikeflow.errors import UserError
from spikeflow.nn.segments import detach_state
from spikeflow.train import checkpoint
from spikeflow.train.config import TrainConfig
from spikeflow.train.tbptt import tbptt_step
from spikeflow.train.trainer import Trainer

T, B = 12, 6


def model(name="mlp", **options):
    torch.manual_seed(0)
    return models.build(name, (1, 4, 4), 3, **options)


def objective(y, reg=0.0):
    def fn(out):
        loss = losses.rate_ce(out.spikes, out.v, y)
        return loss + reg * losses.rate_l2(out.rates, 0.1) if reg else loss

    return fn


def inputs():
    torch.manual_seed(1)
    return torch.rand(T, B, 1, 4, 4) * 2, torch.randint(0, 3, (B,))


def plain_grads(net, x, fn):
    torch.manual_seed(9)
    loss = fn(net(x))
    loss.backward()
    return loss, [p.grad.clone() for p in net.parameters()]


def tbptt_grads(net, x, fn, every):
    torch.manual_seed(9)
    loss, out = tbptt_step(net, x, fn, every)
    return loss, [p.grad.clone() for p in net.parameters()], out


def truncated_reference(net, x, fn, every):
    """Hand-written truncated BPTT: one graph, the carried state detached at every boundary."""
    torch.manual_seed(9)
    state, pieces = net.initial_state(), []
    for lo in range(0, T, every):
        outputs, state = net.segment(x[lo : lo + every], state, total_steps=T)
        pieces.append(outputs)
        state = detach_state(state)
    out = net.collect(tuple(torch.cat(p) for p in zip(*pieces, strict=True)))
    fn(out).backward()
    return [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("every", [T, 3 * T])
def test_segment_at_least_t_is_plain_bptt_exactly(every):
    x, y = inputs()
    ref_loss, ref = plain_grads(model(dropout=0.3), x, objective(y))
    after_plain = torch.rand(3)
    loss, got, _ = tbptt_grads(model(dropout=0.3), x, objective(y), every)
    assert torch.equal(torch.rand(3), after_plain)  # the RNG ends where a plain step leaves it
    assert torch.equal(loss, ref_loss)
    for a, b in zip(got, ref, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name, options", [("mlp", {"dropout": 0.3}), ("rsnn", {"hidden": (8,)})])
@pytest.mark.parametrize("every", [1, 4, 5])  # 5 does not divide T
def test_short_segments_equal_a_hand_written_truncated_reference(name, options, every):
    x, y = inputs()
    fn = objective(y, reg=0.5)
    ref = truncated_reference(model(name, **options), x, fn, every)
    _, got, _ = tbptt_grads(model(name, **options), x, fn, every)
    _, full = plain_grads(model(name, **options), x, fn)
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b)
    assert any(not torch.allclose(a, b) for a, b in zip(got, full, strict=True))  # truncated


def test_bad_segment_length_and_batch_norm_are_user_errors():
    x, y = inputs()
    with pytest.raises(UserError, match="tbptt=0"):
        tbptt_step(model(), x, objective(y), 0)
    cnn = models.build("cnn", (1, 4, 4), 3, channels=(2,), hidden=())
    with pytest.raises(UserError, match="tbptt cannot be used with BatchNorm2d"):
        tbptt_step(cnn, x, objective(y), 4)


TINY = TrainConfig(
    limit_train=64, limit_test=40, hidden=(16,), num_steps=6, epochs=2, batch_size=32,
    lr=5e-3, threads=1, device="cpu", dropout=0.1, regularizer="l2", reg_weight=0.1,
)  # fmt: skip


def train(cfg, out, **kw):
    bundle = data.load(cfg.dataset, seed=cfg.seed, limit_train=cfg.limit_train, limit_test=40)
    trainer = Trainer(cfg, bundle, out, progress=False, **kw)
    return trainer, trainer.fit()


def test_trainer_modes_match_plain_training(tmp_path):
    plain, _ = train(TINY, tmp_path / "plain")
    for key, value in (("checkpoint_every", 4), ("tbptt", 6)):
        other, status = train(TrainConfig(**{**TINY.__dict__, key: value}), tmp_path / key)
        assert status == "finished"
        for name, p in plain.model.state_dict().items():
            torch.testing.assert_close(other.model.state_dict()[name], p, msg=f"{key}: {name}")


def test_trainer_tbptt_resume_is_exact(tmp_path):
    cfg = TrainConfig(**{**TINY.__dict__, "tbptt": 4})
    whole, _ = train(cfg, tmp_path / "whole")

    def stop(trainer, epoch, batch):
        if (epoch, batch) == (0, 2):
            trainer.request_stop()

    _, status = train(cfg, tmp_path / "part", on_batch_end=stop)
    assert status == "interrupted"
    bundle = data.load(cfg.dataset, seed=cfg.seed, limit_train=cfg.limit_train, limit_test=40)
    resumed = Trainer(cfg, bundle, tmp_path / "part", progress=False)
    resumed.restore(checkpoint.load(tmp_path / "part"), "part")
    assert resumed.fit() == "finished"
    for name, p in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], p), name


@pytest.mark.parametrize(
    "values, match",
    [
        ({"tbptt": -2}, "tbptt=-2"),
        ({"checkpoint_every": 1.5}, "checkpoint_every=1.5"),
        ({"tbptt": 4, "online": True}, "tbptt=4 and online=True cannot be combined"),
        ({"checkpoint_every": 4, "tbptt": 2}, "checkpoint_every=4 and tbptt=2"),
    ],
)
def test_config_refuses_bad_modes(values, match):
    with pytest.raises(UserError, match=match):
        TrainConfig(**values)


@pytest.mark.parametrize("mode", [{"checkpoint_every": 4}, {"tbptt": 4}, {"online": True}])
def test_trainer_refuses_batch_norm_before_training(tmp_path, mode):
    cfg = TrainConfig(model="cnn", channels=(2,), hidden=(), limit_train=40, threads=1, **mode)
    bundle = data.load(cfg.dataset, seed=0, limit_train=40, limit_test=10)
    with pytest.raises(UserError, match=f"{next(iter(mode))} cannot be used with BatchNorm2d"):
        Trainer(cfg, bundle, tmp_path, progress=False)
