"""Trainer callbacks: hook order and arguments, resume, refusal of non-callbacks, and training that
stays bit-identical whatever a callback does with the global RNG or evaluation."""

import pytest
import torch

from spikeflow import data
from spikeflow.errors import UserError
from spikeflow.train import Callback, checkpoint
from spikeflow.train.config import TrainConfig
from spikeflow.train.trainer import Trainer

# 100 samples in batches of 25: 4 batches per epoch
CFG = TrainConfig(
    limit_train=100, limit_test=40, hidden=(12,), num_steps=4, epochs=2, batch_size=25,
    threads=1, device="cpu", dropout=0.2, val_fraction=0.0, seed=4,
)  # fmt: skip


@pytest.fixture(scope="module")
def bundle():
    return data.load(CFG.dataset, seed=CFG.seed, val_fraction=0.0, limit_train=100, limit_test=40)


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_train_start(self, trainer):
        self.events.append(("start", trainer.epoch, trainer.batch))

    def on_batch_end(self, trainer, epoch, batch):
        self.events.append(("batch", epoch, batch))

    def on_epoch_end(self, trainer, record):
        assert record is trainer.history[-1]
        self.events.append(("epoch", record["epoch"], trainer.epoch))

    def on_train_end(self, trainer, status):
        self.events.append(("end", status))


def batches(epoch):
    return [("batch", epoch, b) for b in range(1, 5)]


def test_hooks_run_in_order_with_their_arguments(bundle, tmp_path):
    rec = Recorder()
    trainer = Trainer(CFG, bundle, tmp_path, progress=False, callbacks=[rec])
    assert trainer.fit() == "finished"
    expected = [
        ("start", 0, 0), *batches(0), ("epoch", 1, 1), *batches(1), ("epoch", 2, 2),
        ("end", "finished"),
    ]  # fmt: skip
    assert rec.events == expected


def test_interrupted_then_resumed_run_reports_where_it_is(bundle, tmp_path):
    class StopAfter(Callback):
        def __init__(self, steps):
            self.steps = steps

        def on_batch_end(self, trainer, epoch, batch):
            self.steps -= 1
            if self.steps == 0:
                trainer.request_stop()

    first = Recorder()
    trainer = Trainer(CFG, bundle, tmp_path, progress=False, callbacks=[StopAfter(6), first])
    assert trainer.fit() == "interrupted"
    assert first.events == [
        ("start", 0, 0), *batches(0), ("epoch", 1, 1), *batches(1)[:2], ("end", "interrupted"),
    ]  # fmt: skip

    second = Recorder()
    resumed = Trainer(CFG, bundle, tmp_path, progress=False, callbacks=[second])
    resumed.restore(checkpoint.load(tmp_path), "test")
    assert resumed.fit() == "finished"
    assert second.events == [
        ("start", 1, 2), ("batch", 1, 3), ("batch", 1, 4), ("epoch", 2, 2), ("end", "finished"),
    ]  # fmt: skip


def test_interrupted_status_reaches_on_train_end(bundle, tmp_path):
    rec = Recorder()

    def stop(trainer, epoch, batch):
        trainer.request_stop()

    trainer = Trainer(CFG, bundle, tmp_path, progress=False, callbacks=[rec], on_batch_end=stop)
    assert trainer.fit() == "interrupted"
    assert rec.events == [("start", 0, 0), ("batch", 0, 1), ("end", "interrupted")]


def test_the_on_batch_end_function_still_runs_after_the_callbacks(bundle, tmp_path):
    order = []

    class First(Callback):
        def on_batch_end(self, trainer, epoch, batch):
            order.append(("callback", epoch, batch))

    def fn(trainer, epoch, batch):
        order.append(("function", epoch, batch))

    Trainer(CFG, bundle, tmp_path, progress=False, callbacks=[First()], on_batch_end=fn).fit()
    assert len(order) == 16
    assert order[:2] == [("callback", 0, 1), ("function", 0, 1)]


def test_a_callback_must_be_a_callback(bundle, tmp_path):
    with pytest.raises(UserError, match=r"callbacks\[1\]=.*expected a spikeflow.train.Callback"):
        Trainer(CFG, bundle, tmp_path, progress=False, callbacks=[Callback(), print])


def test_callbacks_that_draw_random_numbers_and_evaluate_do_not_change_training(bundle, tmp_path):
    class Busy(Callback):
        def __init__(self):
            self.accuracies = []

        def on_batch_end(self, trainer, epoch, batch):
            torch.rand(7)  # the global RNG, which dropout uses

        def on_epoch_end(self, trainer, record):
            torch.rand(3)
            self.accuracies.append(trainer.evaluate(trainer.bundle.test).accuracy)

    plain = Trainer(CFG, bundle, tmp_path / "plain", progress=False)
    plain.fit()
    busy_cb = Busy()
    busy = Trainer(CFG, bundle, tmp_path / "busy", progress=False, callbacks=[busy_cb])
    busy.fit()
    assert len(busy_cb.accuracies) == 2
    assert busy.model.training  # evaluate() leaves the model in training mode
    for (key, a), b in zip(
        plain.model.state_dict().items(), busy.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), key
    drop = lambda hs: [{k: v for k, v in h.items() if k != "epoch_time_s"} for h in hs]  # noqa: E731
    assert drop(plain.history) == drop(busy.history)
