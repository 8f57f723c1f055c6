"""Every training feature the user guide (docs/guide/training.md) lists, end to end on a few
samples: one epoch lowers the training loss; runs with checkpoints resume exactly; the model
registry and a user-defined neuron plug in."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import Tensor, nn

import spikeflow as sf
from spikeflow import data, models
from spikeflow.models.mlp import SpikingMLP
from spikeflow.train import checkpoint
from spikeflow.train.config import TrainConfig
from spikeflow.train.trainer import Trainer
from tests.data.test_idx import idx_bytes

BASE = {
    "limit_train": 96, "limit_test": 32, "hidden": (32,), "epochs": 1, "batch_size": 16,
    "lr": 1e-2, "threads": 1, "device": "cpu",
}  # fmt: skip


def make_trainer(cfg: TrainConfig, out, **kw) -> Trainer:
    bundle = data.load(
        cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed, val_fraction=cfg.val_fraction,
        limit_train=cfg.limit_train, limit_test=cfg.limit_test,
    )  # fmt: skip
    return Trainer(cfg, bundle, out, progress=False, **kw)


def train_loss(trainer: Trainer) -> float:
    """Mean loss of the model over the training samples, in evaluation mode."""
    meter = trainer.evaluate(trainer.bundle.train)
    return meter.loss_sum / meter.count


def write_tiny_mnist(directory) -> None:
    """The four MNIST IDX files, holding 8x8 scikit-learn digits as uint8 images."""
    digits = load_digits()
    images = (digits.images * (255 / 16)).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    directory.mkdir()
    parts = {
        "train-images-idx3-ubyte": images[:200], "train-labels-idx1-ubyte": labels[:200],
        "t10k-images-idx3-ubyte": images[200:260], "t10k-labels-idx1-ubyte": labels[200:260],
    }  # fmt: skip
    for name, array in parts.items():
        (directory / name).write_bytes(idx_bytes(array))


FEATURES = {
    "event_digits": {"dataset": "event_digits"},
    "japanese_vowels": {"dataset": "japanese_vowels", "encoder": "direct"},
    "amp": {"amp": True},
    "adamw": {"optimizer": "adamw", "weight_decay": 1e-2},
    "sgd_step_schedule": {"optimizer": "sgd", "lr": 0.2, "schedule": "step", "step_size": 1},
    "cnn": {"model": "cnn", "channels": (8, 16), "encoder": "direct", "lr": 2e-3},
    "rsnn": {"model": "rsnn"},
    "mnist": {"dataset": "mnist"},
}


@pytest.mark.parametrize("name", list(FEATURES))
def test_one_epoch_lowers_the_training_loss(tmp_path, name):
    options = dict(FEATURES[name])
    if name == "mnist":
        write_tiny_mnist(tmp_path / "mnist")
        options["data_dir"] = str(tmp_path / "mnist")
    cfg = TrainConfig(**{**BASE, **options})
    trainer = make_trainer(cfg, tmp_path / "run")
    before = train_loss(trainer)
    assert trainer.fit() == "finished"
    after = train_loss(trainer)
    assert after < before, (before, after)
    if name == "sgd_step_schedule":  # one StepLR step (step_size 1) multiplied the rate by gamma
        assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * cfg.gamma)
        assert isinstance(trainer.optimizer, torch.optim.SGD)
    if name == "adamw":
        assert isinstance(trainer.optimizer, torch.optim.AdamW)


@pytest.mark.parametrize(
    "options",
    [{"model": "cnn", "channels": (4, 8), "encoder": "direct"}, {"model": "rsnn"}],
    ids=["cnn", "rsnn"],
)
def test_stop_checkpoint_and_resume_is_exact(tmp_path, options):
    cfg = TrainConfig(**{**BASE, **options, "epochs": 2})
    whole = make_trainer(cfg, tmp_path / "whole")
    assert whole.fit() == "finished"

    def stop_after_4(trainer, epoch, batch):  # 6 batches per epoch: stop inside the first
        if (epoch, batch) == (0, 4):
            trainer.request_stop()

    part = make_trainer(cfg, tmp_path / "part", on_batch_end=stop_after_4)
    assert part.fit() == "interrupted"
    payload = checkpoint.load(tmp_path / "part")
    assert (payload["epoch"], payload["batch"]) == (0, 4)
    resumed = make_trainer(cfg, tmp_path / "part")
    resumed.restore(payload, "part")
    assert resumed.fit() == "finished"
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_registered_model_is_built_and_trained_by_name(tmp_path):
    built = []

    def half_width_mlp(input_shape, num_classes, *, neuron, hidden):
        built.append((hidden, torch.get_default_device().type))
        return SpikingMLP(input_shape, num_classes, hidden=(hidden[0] // 2,), neuron=neuron)

    models.register("Test_Half_MLP", half_width_mlp, options=("hidden",))
    try:
        assert "test_half_mlp" in models.available()
        with pytest.raises(sf.errors.UserError, match="already registered"):
            models.register("TEST_HALF_MLP", half_width_mlp, options=())
        cfg = TrainConfig(**{**BASE, "model": "test_half_mlp", "neuron": "if"})
        trainer = make_trainer(cfg, tmp_path / "run")
        assert built == [((32,), "meta"), ((32,), "cpu")]  # counted first, then built
        assert any(isinstance(m, sf.nn.IF) for m in trainer.model.modules())
        assert [m.out_features for m in trainer.model.modules() if isinstance(m, nn.Linear)] == [
            16,
            10,
        ]
        before = train_loss(trainer)
        assert trainer.fit() == "finished"
        assert train_loss(trainer) < before
    finally:
        models.registry.MODELS.unregister("test_half_mlp")


class GainState(NamedTuple):
    v: Tensor


class GainParams(NamedTuple):
    beta: Tensor
    gain: Tensor


def gain_step(x: Tensor, state: GainState, p: GainParams) -> tuple[Tensor, GainState, Tensor]:
    """A user's own model: v = beta v + gain x, spike at 1 (atan surrogate), reset to zero."""
    v = p.beta * state.v + p.gain * x
    s = sf.surrogate.spike(v - 1.0, sf.surrogate.ATan())
    return s, GainState(v * (1 - s.detach())), v


class GainNeuron(sf.nn.Neuron):
    step_fn = staticmethod(gain_step)
    state_cls = GainState

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("beta", torch.tensor(0.8))
        self.gain = nn.Parameter(torch.tensor(0.5))

    def params(self) -> GainParams:
        return GainParams(self.beta, self.gain)

    def initial_state(self, x_t: Tensor) -> GainState:
        return GainState(torch.zeros_like(x_t))


def test_user_defined_neuron_runs_the_generic_loop_and_learns():
    neuron = GainNeuron()
    x = torch.rand(12, 4, 5) * 2
    spikes, state = neuron(x)
    v, expected = torch.zeros(4, 5), []
    for x_t in x:  # the same model written out
        v = 0.8 * v + 0.5 * x_t
        s = (v >= 1.0).float()
        v = v * (1 - s)
        expected.append(s)
    assert spikes.sum() > 0
    assert torch.equal(spikes, torch.stack(expected))
    torch.testing.assert_close(state.v, v)
    step_s, _ = neuron.step(x[0])
    assert torch.equal(step_s, spikes[0])
    # BPTT through the surrogate reaches the user's parameter: a rate target is learnt
    opt = torch.optim.SGD(neuron.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = (neuron(x)[0].mean() - 0.6) ** 2
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert neuron.gain.grad is not None and losses[-1] < losses[0], losses
