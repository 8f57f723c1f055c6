"""The training loop: plain PyTorch, seeded, resumable at any batch.

Determinism: the model is initialised from ``seed``; the sample order of an epoch comes from a
generator seeded by ``(seed, epoch)``, the spike encoding of each sample from one seeded by
``(seed, epoch, sample index)`` (evaluation: ``(seed, sample index)``), and the dropout masks from
one seeded by ``(seed, epoch, batch, rank)``. So a run stopped after any batch and resumed from its
checkpoint computes exactly what an uninterrupted run computes (bit for bit on CPU).

Data parallelism (see :mod:`spikeflow.train.distributed`): ``batch_size`` is the *global* batch.
Every step, each of the ``world_size`` ranks takes its share (``rank::world_size``) of the same
global batch, and its loss is weighted by ``world_size * share / batch`` so that the gradients
DDP averages over ranks are those of the whole batch. Together with the per-sample encoding this
makes an N-process run compute what the one-process run computes (same batches, same spikes, same
steps), up to the order of float sums and the dropout masks; metrics are summed over ranks.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from spikeflow import loss as losses
from spikeflow import models
from spikeflow.data.bundle import DataBundle, num_samples
from spikeflow.device import resolve_device
from spikeflow.errors import UserError
from spikeflow.nn.delay import sharpen_delays
from spikeflow.nn.segments import refuse_time_coupled
from spikeflow.train import checkpoint
from spikeflow.train.batches import derive_seed, epoch_order, num_batches, take, to_device
from spikeflow.train.callbacks import Callback, check_callbacks
from spikeflow.train.config import TrainConfig, to_dict
from spikeflow.train.encoding import encode_batch
from spikeflow.train.memory import check_activations_fit, check_parameters_fit
from spikeflow.train.metrics import Meter
from spikeflow.train.online import online_step
from spikeflow.train.optim import make_optimizer, make_scheduler
from spikeflow.train.parallel import SingleProcess
from spikeflow.train.tbptt import tbptt_step

_EVAL_TAG = 0xE7A1
_TRAIN_TAG = 0x7A1


def set_threads(threads: int, processes: int = 1) -> None:
    """Intra-op threads: ``threads`` if > 0, else this process's share of the CPUs it may use
    when ``processes`` run on the machine (at least 1, at most 8)."""
    if threads <= 0:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        threads = min(max(cpus // max(processes, 1), 1), 8)
    torch.set_num_threads(threads)


class Trainer:
    """Train a spiking classifier on a :class:`~spikeflow.data.bundle.DataBundle`.

    Arguments:
        cfg: the run's configuration. bundle: the data. out_dir: where checkpoints go.
        parallel: the process group (default: one process; see
            :func:`spikeflow.train.distributed.from_env`). ``cfg.batch_size`` is the global batch.
        progress: show tqdm bars.
        callbacks: :class:`~spikeflow.train.callbacks.Callback` objects whose hooks run at the
            start and end of training, after every batch and after every epoch.
        on_batch_end: called as ``fn(trainer, epoch, batch)`` after every training batch
            (``batch`` counts from 1), after the callbacks; e.g. to stop after k batches.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        bundle: DataBundle,
        out_dir: str | Path,
        *,
        parallel: SingleProcess | None = None,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
        on_batch_end: Callable[[Trainer, int, int], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.bundle = bundle
        self.out_dir = Path(out_dir)
        self.parallel = parallel or SingleProcess()
        self.progress = progress and self.parallel.is_main
        self.callbacks = check_callbacks(callbacks)
        self.on_batch_end = on_batch_end
        self.device = resolve_device(cfg.device)
        set_threads(cfg.threads, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        check_parameters_fit(cfg, bundle.input_shape, bundle.num_classes)
        torch.manual_seed(cfg.seed)
        self.model = models.build(
            cfg.model, bundle.input_shape, bundle.num_classes, **cfg.model_options()
        ).to(self.device)
        check_activations_fit(cfg, bundle, self.model, self.parallel.world_size)
        if cfg.checkpoint_every:
            self.model.body.checkpoint_every = cfg.checkpoint_every
        for mode in ("checkpoint_every", "tbptt", "online"):
            if getattr(cfg, mode):  # refused before training rather than at the first batch
                refuse_time_coupled(self.model, mode)
        if (cfg.tbptt or cfg.online) and self.parallel.world_size > 1:
            raise UserError(
                f"tbptt={cfg.tbptt} / online={cfg.online} run several backward passes per step, "
                f"which data parallelism (world size {self.parallel.world_size}) does not "
                "support yet; expected one process"
            )
        self.train_model = self.parallel.wrap(self.model)
        self.loss = losses.get(cfg.loss)
        self.optimizer = make_optimizer(self.model, cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg)
        self.layer_names = self.model.spiking_layer_names()
        self.train_set = to_device(bundle.train, self.device)
        self.epoch = 0
        self.batch = 0
        self.meter = self._meter()
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {"score": None, "epoch": None, "model": None}
        self._stop = False

    def _meter(self) -> Meter:
        return Meter(self.layer_names, self.bundle.num_classes)

    def request_stop(self) -> None:
        """Stop after the current batch and write a checkpoint (what SIGINT/SIGTERM call)."""
        self._stop = True

    # -- one batch -----------------------------------------------------------------------------

    def inputs(self, x: Tensor, *parts: int, index: Tensor | None = None) -> Tensor:
        """Network input ``[T, B, ...]`` for the samples ``x`` ``[B, ...]`` (encoded unless the
        data is temporal). The spikes of sample ``index[b]`` (default ``b``) are seeded by
        ``(seed, *parts, index[b])``: the same whichever batch or rank the sample is in."""
        x = x.to(self.device, non_blocking=True)
        if self.bundle.temporal:
            return x.float()
        key = derive_seed(self.cfg.seed, *parts)
        return encode_batch(
            x, self.cfg.encoder, self.cfg.num_steps, gain=self.cfg.gain, key=key, index=index
        )

    def _objective(self, out: models.ClassifierOutput, y: Tensor) -> Tensor:
        loss = self.loss.fn(out.spikes.float(), out.v.float(), y)
        if self.cfg.regularizer != "none":
            hidden = out.rates[:-1] or out.rates
            reg = losses.rate_l2 if self.cfg.regularizer == "l2" else losses.rate_upper
            loss = loss + self.cfg.reg_weight * reg(hidden, self.cfg.reg_rate)
        if not bool(torch.isfinite(loss.detach())):
            raise UserError(
                f"training diverged at epoch {self.epoch + 1}, batch {self.batch + 1}: the loss is "
                f"{float(loss.detach()):g}; lower --lr (now {self.cfg.lr:g}) or limit the gradient with "
                "--clip-grad (the last checkpoint is kept)"
            )
        return loss

    def _train_batch(self, batch: Tensor) -> None:
        """One optimiser step on the global batch ``batch`` ``[B]`` (sample indices)."""
        share = self.parallel.shard(batch)
        weight = self.parallel.world_size * len(share) / len(batch)
        if len(share) == 0:  # fewer samples than ranks: step in time with the others, weight 0
            share = batch[:1]
        # Dropout and any other use of the global RNG: seeded per batch, so resuming replays it.
        torch.manual_seed(derive_seed(self.cfg.seed, self.epoch, self.batch, 1, self.parallel.rank))
        x, y = take(self.train_set, share, self.bundle.collate)
        y = y.to(self.device)
        inp = self.inputs(x, self.epoch, _TRAIN_TAG, index=share)
        self.optimizer.zero_grad(set_to_none=True)
        loss, out = self._forward_backward(inp, y, weight)
        if self.cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.optimizer.step()
        if weight > 0:
            scores = self.loss.scores(out.spikes.detach().float(), out.v.detach().float())
            self.meter.update(loss.detach(), scores, y, tuple(r.detach() for r in out.rates))

    def _forward_backward(
        self, inp: Tensor, y: Tensor, weight: float
    ) -> tuple[Tensor, models.ClassifierOutput]:
        """Loss and output for ``inp``; the gradient of ``loss * weight`` accumulated, by plain
        BPTT (checkpointed when ``checkpoint_every``), ``tbptt`` or ``online`` training."""
        autocast = partial(torch.autocast, self.device.type, torch.bfloat16, enabled=self.cfg.amp)
        objective = partial(self._objective, y=y)
        if self.cfg.tbptt:
            return tbptt_step(
                self.model, inp, objective, self.cfg.tbptt, weight=weight, autocast=autocast
            )
        if self.cfg.online:
            return online_step(self.model, inp, objective, weight=weight, autocast=autocast)
        with autocast():
            out = self.train_model(inp)
        loss = objective(out)
        (loss * weight).backward()
        return loss, out

    def _should_stop(self) -> bool:
        """Whether a stop was requested on any rank (a collective call: every rank makes it at
        the same point, so all stop after the same batch)."""
        if self.parallel.world_size > 1:
            self._stop = bool(self.parallel.sum(torch.tensor([float(self._stop)])) > 0)
        return self._stop

    # -- epochs ----------------------------------------------------------------------------------

    def _run_epoch(self) -> bool:
        """Train the rest of epoch ``self.epoch``; False when stopped before its end."""
        self.model.train()
        sharpen_delays(self.model, self.epoch, self.cfg.epochs)
        order = epoch_order(num_samples(self.train_set), self.cfg.seed, self.epoch)
        size = self.cfg.batch_size
        total = num_batches(len(order), size)
        bar = tqdm(
            total=total,
            initial=self.batch,
            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
        )
        while self.batch < total:
            self._train_batch(order[self.batch * size : (self.batch + 1) * size])
            self.batch += 1
            bar.update(1)
            if self.batch % 10 == 0 or self.batch == total:
                m = self.meter
                rate = sum(m.rate_sums) / max(len(m.rate_sums), 1) / max(m.count, 1)
                bar.set_postfix(
                    loss=f"{m.loss_sum / m.count:.3f}", acc=f"{m.accuracy:.3f}", rate=f"{rate:.3f}"
                )
            for cb in self.callbacks:
                cb.on_batch_end(self, self.epoch, self.batch)
            if self.on_batch_end is not None:
                self.on_batch_end(self, self.epoch, self.batch)
            if self._should_stop() and self.batch < total:
                bar.close()
                return False
        bar.close()
        return True

    def _end_epoch(self, seconds: float) -> None:
        self.meter.reduce(self.parallel)
        record: dict[str, Any] = {"epoch": self.epoch + 1, **self.meter.summary("train_")}
        if self.bundle.val is not None:
            record.update(self.evaluate(self.bundle.val).summary("val_"))
            score = record["val_accuracy"]
            if self.best["score"] is None or score > self.best["score"]:
                state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
                self.best = {"score": score, "epoch": self.epoch + 1, "model": state}
        record["lr"] = self.optimizer.param_groups[0]["lr"]
        record["epoch_time_s"] = seconds
        self.history.append(record)
        self.scheduler.step()
        self.epoch += 1
        self.batch = 0
        self.meter = self._meter()

    def early_stop_due(self) -> bool:
        """Whether validation accuracy has not improved for ``patience`` epochs."""
        if not self.cfg.patience or self.best["epoch"] is None:
            return False
        return self.epoch - self.best["epoch"] >= self.cfg.patience

    def fit(self) -> str:
        """Train until ``epochs`` are done, early stopping, or a stop request.

        Returns ``"finished"``, ``"early_stopped"`` or ``"interrupted"``; a checkpoint is written
        after every epoch and when interrupted. The callbacks' ``on_train_start`` and
        ``on_train_end`` run at the start and end, ``on_epoch_end`` after each full epoch.
        """
        for cb in self.callbacks:
            cb.on_train_start(self)
        status = self._fit()
        for cb in self.callbacks:
            cb.on_train_end(self, status)
        return status

    def _fit(self) -> str:
        while self.epoch < self.cfg.epochs:
            if self.early_stop_due():
                return "early_stopped"
            start = time.perf_counter()
            done = self._run_epoch()
            if done:
                self._end_epoch(time.perf_counter() - start)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, self.history[-1])
            self.save_checkpoint()
            if not done or (self._should_stop() and self.epoch < self.cfg.epochs):
                return "interrupted"
            if self.parallel.is_main:
                tqdm.write(_epoch_line(self.history[-1], self.cfg.epochs))
        return "finished"

    def use_best(self) -> None:
        """Load the weights of the best validation epoch (if validation ran)."""
        if self.best["model"] is not None:
            self.model.load_state_dict(self.best["model"])

    # -- evaluation ------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, dataset: Any) -> Meter:
        """Loss, accuracy, rates and confusion on ``dataset``, each sample counted once over all
        ranks (each rank evaluates its share; the sums are reduced). The encodings are seeded by
        sample index, so the result does not depend on the number of ranks or the batch size
        (up to the order of float sums)."""
        self.model.eval()
        dataset = to_device(dataset, self.device)
        meter = self._meter()
        order = self.parallel.shard(torch.arange(len(dataset)))
        size = self.cfg.eval_batch_size
        for lo in range(0, len(order), size):
            idx = order[lo : lo + size]
            x, y = take(dataset, idx, self.bundle.collate)
            y = y.to(self.device)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.cfg.amp):
                out = self.model(self.inputs(x, _EVAL_TAG, index=idx))
            spikes, v = out.spikes.float(), out.v.float()
            loss = self.loss.fn(spikes, v, y)
            meter.update(loss, self.loss.scores(spikes, v), y, out.rates)
        meter.reduce(self.parallel)
        self.model.train()
        return meter

    # -- checkpoints -----------------------------------------------------------------------------

    def save_checkpoint(self) -> Path | None:
        """Write ``out_dir/checkpoint.pt`` (main rank only; every rank must call this, as the
        partial training metrics of an unfinished epoch are summed over ranks first)."""
        partial = self._meter()
        partial.load_state_dict(self.meter.state_dict())
        partial.reduce(self.parallel)
        if not self.parallel.is_main:
            return None
        return checkpoint.save(
            self.out_dir / checkpoint.FILENAME,
            {
                "config": to_dict(self.cfg),
                "input_shape": list(self.bundle.input_shape),
                "num_classes": self.bundle.num_classes,
                "class_names": list(self.bundle.class_names),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch,
                "batch": self.batch,
                "partial": partial.state_dict(),
                "history": copy.deepcopy(self.history),
                "best": self.best,
            },
        )

    def restore(self, payload: dict[str, Any], source: str) -> None:
        """Continue from a checkpoint of the same configuration (see :func:`checkpoint.load`)."""
        checkpoint.load_model_state(self.model, payload["model"], source)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.epoch, self.batch = int(payload["epoch"]), int(payload["batch"])
        if self.parallel.rank == 0:  # the saved sums are those of all ranks: count them once
            self.meter.load_state_dict(payload["partial"])
        self.history = list(payload["history"])
        self.best = dict(payload["best"])


def _epoch_line(record: dict[str, Any], epochs: int) -> str:
    line = (
        f"epoch {record['epoch']}/{epochs}: loss {record['train_loss']:.4f} "
        f"acc {record['train_accuracy']:.4f}"
    )
    if "val_accuracy" in record:
        line += f" | val loss {record['val_loss']:.4f} acc {record['val_accuracy']:.4f}"
    return line + f" | {record['epoch_time_s']:.1f} s"
