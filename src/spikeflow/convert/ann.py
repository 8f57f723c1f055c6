"""The ANNs to convert (an MLP and a small CNN) and a plain PyTorch loop to train and test them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from spikeflow.convert.qcfs import QCFS
from spikeflow.errors import UserError, check_choice, check_positive_int

ANN_MODELS = ("mlp", "cnn")
ACTIVATIONS = ("relu", "qcfs")
POOLS = ("avg", "max")


def _activation(kind: str, levels: int, threshold: float) -> nn.Module:
    return QCFS(levels, threshold) if kind == "qcfs" else nn.ReLU()


def build_ann(
    model: str,
    input_shape: Sequence[int],
    num_classes: int,
    *,
    activation: str = "relu",
    levels: int = 8,
    qcfs_threshold: float = 4.0,
    hidden: Sequence[int] = (256, 128),
    channels: Sequence[int] = (32, 64),
    pool: str = "avg",
    dropout: float = 0.1,
) -> nn.Sequential:
    """A convertible ANN for inputs ``[B, *input_shape]`` (e.g. ``(1, 28, 28)``).

    ``"mlp"``: Flatten, then ``Linear -> act -> Dropout`` per entry of ``hidden``, then a Linear
    read-out. ``"cnn"``: per entry of ``channels`` a block ``Conv3x3 (padding 1) -> BatchNorm ->
    act -> Pool2x2``, then ``Flatten -> Linear(128) -> act -> Dropout -> Linear`` read-out.
    ``act`` is ReLU or :class:`~spikeflow.convert.QCFS` with ``levels`` steps.

    Arguments:
        model: ``"mlp"`` or ``"cnn"``.
        input_shape: one sample's shape, e.g. ``(1, 28, 28)``.
        num_classes: outputs of the read-out.
        activation: ``"relu"`` or ``"qcfs"``.
        levels: QCFS quantisation levels ``L``.
        qcfs_threshold: initial QCFS clip, in activation units.
        hidden: MLP hidden widths. channels: CNN channels per block.
        pool: CNN pooling, ``"avg"`` or ``"max"``. dropout: dropout probability in [0, 1).

    Returns:
        The ANN, mapping ``[B, *input_shape]`` to logits ``[B, num_classes]``.
    """
    check_choice("model", model, ANN_MODELS)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("pool", pool, POOLS)
    check_positive_int("num_classes", num_classes)
    layers: list[nn.Module] = []
    if model == "mlp":
        width = math.prod(input_shape)
        layers.append(nn.Flatten())
        for h in hidden:
            check_positive_int("hidden", h)
            layers += [nn.Linear(width, h), _activation(activation, levels, qcfs_threshold)]
            layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        return nn.Sequential(*layers)
    if len(input_shape) != 3:
        raise UserError(
            f"input_shape={tuple(input_shape)} is not valid for a CNN; expected (C, H, W)"
        )
    c, h, w = input_shape
    for out in channels:
        check_positive_int("channels", out)
        if h < 2 or w < 2:
            raise UserError(
                f"input of {input_shape} is too small for {len(channels)} pooling blocks"
            )
        layers += [nn.Conv2d(c, out, 3, padding=1), nn.BatchNorm2d(out)]
        layers.append(_activation(activation, levels, qcfs_threshold))
        layers.append(nn.AvgPool2d(2) if pool == "avg" else nn.MaxPool2d(2))
        c, h, w = out, h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(c * h * w, 128)]
    layers += [_activation(activation, levels, qcfs_threshold), nn.Dropout(dropout)]
    layers.append(nn.Linear(128, num_classes))
    return nn.Sequential(*layers)


def train_ann(
    model: nn.Module,
    loader: DataLoader,
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> list[float]:
    """Train with Adam, cosine learning-rate decay and cross-entropy.

    Arguments:
        model: the ANN (moved to ``device``).
        loader: batches ``(x [B, ...], labels [B])``.
        epochs: passes over the data. lr: learning rate. weight_decay: Adam's L2 weight.
        device: where to train. progress: show a progress bar.

    Returns:
        The mean training loss of every epoch.
    """
    check_positive_int("epochs", epochs)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    losses = []
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        bar = tqdm(
            loader, desc=f"ANN epoch {epoch + 1}/{epochs}", disable=not progress, leave=False
        )
        for x, y in bar:
            x, y = x.to(device), y.to(device)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
            bar.set_postfix(loss=f"{total / count:.4f}")
        losses.append(total / max(count, 1))
    return losses


@torch.no_grad()
def evaluate_ann(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: str | torch.device = "cpu",
) -> float:
    """Test accuracy of ``model``.

    Arguments:
        model: the ANN. batches: ``(x [B, ...], labels [B])``. device: where to run.

    Returns:
        The accuracy, a fraction in [0, 1].
    """
    model.eval().to(device)
    correct = total = 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        correct += int((model(x).argmax(dim=-1) == y).sum())
        total += len(y)
    if total == 0:
        raise UserError("the evaluation data is empty; expected at least one sample")
    return correct / total
