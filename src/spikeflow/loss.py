"""Losses for spiking classifiers, their matching read-out, and spike-rate regularisers.

Every loss takes the output layer's spikes and membrane, both ``[T, B, C]``, and integer targets
``[B]``, and returns the batch mean. Each has a read-out (``scores``) that turns the same output
into class scores ``[B, C]`` whose argmax is the prediction the loss trains for.

- ``rate_ce``: cross-entropy on spike counts ``n_c = sum_t s[t, c]`` used as logits.
- ``membrane_ce``: cross-entropy on the maximum over time of the membrane ``max_t v[t, c]``.
- ``count_mse``: mean squared error between counts and target counts ``T * rate`` (``correct_rate``
  for the true class, ``incorrect_rate`` for the others).
- ``first_spike_ce``: cross-entropy on ``-t_c / tau``, ``t_c`` the (soft, differentiable) time of
  the first output spike of class ``c`` (``T`` when it never fires): the first neuron to fire wins.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

import torch
import torch.nn.functional as F
from torch import Tensor

from spikeflow.errors import UserError, check_range
from spikeflow.registry import Registry


def _check(spikes: Tensor, target: Tensor) -> None:
    if spikes.dim() != 3:
        raise UserError(f"spikes has shape {tuple(spikes.shape)}; expected [T, B, C]")
    if target.shape != spikes.shape[1:2]:
        raise UserError(
            f"target has shape {tuple(target.shape)}; expected [B] = [{spikes.shape[1]}]"
        )


def rate_ce(spikes: Tensor, v: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy with the spike counts ``[B, C]`` as logits.

    Arguments:
        spikes: output spikes ``[T, B, C]``.
        v: output membrane before reset ``[T, B, C]``.
        target: class indices ``[B]`` (int64).

    Returns:
        The batch mean, a scalar tensor.
    """
    _check(spikes, target)
    return F.cross_entropy(spikes.sum(0), target)


def membrane_ce(spikes: Tensor, v: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy with the maximum membrane over time ``[B, C]`` as logits.

    Arguments:
        spikes: output spikes ``[T, B, C]``.
        v: output membrane before reset ``[T, B, C]``.
        target: class indices ``[B]`` (int64).

    Returns:
        The batch mean, a scalar tensor.
    """
    _check(v, target)
    return F.cross_entropy(v.amax(0), target)


def count_mse(
    spikes: Tensor,
    v: Tensor,
    target: Tensor,
    *,
    correct_rate: float = 0.8,
    incorrect_rate: float = 0.2,
) -> Tensor:
    """Mean squared error between spike counts and ``T * rate`` targets.

    Arguments:
        spikes: output spikes ``[T, B, C]``.
        v: output membrane before reset ``[T, B, C]``.
        target: class indices ``[B]`` (int64).
        correct_rate: target rate of the true class, spikes per step in [0, 1].
        incorrect_rate: target rate of the other classes, spikes per step in [0, 1].

    Returns:
        The mean over batch and classes, a scalar tensor (spikes squared).
    """
    _check(spikes, target)
    check_range("correct_rate", correct_rate, 0, 1)
    check_range("incorrect_rate", incorrect_rate, 0, 1)
    steps, _, classes = spikes.shape
    one_hot = F.one_hot(target, classes).to(spikes.dtype)
    wanted = steps * (incorrect_rate + (correct_rate - incorrect_rate) * one_hot)
    return F.mse_loss(spikes.sum(0), wanted)


def first_spike_times(spikes: Tensor) -> Tensor:
    """Time step of the first spike of each neuron, ``[T, ...] -> [...]``, ``T`` where none fires.

    Written as ``sum_t t * s[t] * prod_{t' < t} (1 - s[t']) + T * prod_t (1 - s[t])``: equal to the
    integer first-spike time for binary spikes, and differentiable through surrogate gradients.

    Arguments:
        spikes: spikes ``[T, ...]``.

    Returns:
        First-spike times in steps ``[...]``.
    """
    steps = spikes.shape[0]
    silent = torch.cumprod(1 - spikes, dim=0)
    before = torch.cat([torch.ones_like(silent[:1]), silent[:-1]], dim=0)
    t = torch.arange(steps, dtype=spikes.dtype, device=spikes.device)
    t = t.reshape(steps, *([1] * (spikes.dim() - 1)))
    return (t * spikes * before).sum(0) + steps * silent[-1]


def first_spike_ce(spikes: Tensor, v: Tensor, target: Tensor, *, tau: float = 1.0) -> Tensor:
    """Cross-entropy on ``-first_spike_times / tau``: the true class should fire first.

    Arguments:
        spikes: output spikes ``[T, B, C]``.
        v: output membrane before reset ``[T, B, C]``.
        target: class indices ``[B]`` (int64).
        tau: temperature in steps (> 0).

    Returns:
        The batch mean, a scalar tensor.
    """
    _check(spikes, target)
    check_range("tau", tau, 1e-6)  # below, -times / tau overflows to -inf and the loss is NaN
    return F.cross_entropy(-first_spike_times(spikes) / tau, target)


def _tie_break(v: Tensor) -> Tensor:
    # In (0, 1): orders classes with equal integer scores by their peak membrane, never more.
    return torch.sigmoid(v.amax(0)) * 0.999


def count_scores(spikes: Tensor, v: Tensor) -> Tensor:
    """Spike counts, ties broken by the peak membrane.

    Arguments:
        spikes: output spikes ``[T, B, C]``. v: output membrane ``[T, B, C]``.

    Returns:
        Scores ``[B, C]``; the argmax is the prediction.
    """
    return spikes.sum(0) + _tie_break(v)


def membrane_scores(spikes: Tensor, v: Tensor) -> Tensor:
    """Peak membrane over time.

    Arguments:
        spikes: output spikes ``[T, B, C]``. v: output membrane ``[T, B, C]``.

    Returns:
        Scores ``[B, C]``; the argmax is the prediction.
    """
    return v.amax(0)


def first_spike_scores(spikes: Tensor, v: Tensor) -> Tensor:
    """Minus the first-spike time (earliest wins), ties broken by the peak membrane.

    Arguments:
        spikes: output spikes ``[T, B, C]``. v: output membrane ``[T, B, C]``.

    Returns:
        Scores ``[B, C]``; the argmax is the prediction.
    """
    return -first_spike_times(spikes) + _tie_break(v)


@dataclass(frozen=True)
class Loss:
    """A loss and its read-out: ``fn(spikes, v, target) -> []``, ``scores(spikes, v) -> [B, C]``."""

    name: str
    fn: Callable[[Tensor, Tensor, Tensor], Tensor]
    scores: Callable[[Tensor, Tensor], Tensor]


#: The losses by name.
LOSSES: Registry[Loss] = Registry("loss", Loss)


def register(loss: Loss) -> Loss:
    """Add ``loss`` under ``loss.name`` (lower-cased; a name already taken is rejected).

    Arguments:
        loss: the loss and its read-out.

    Returns:
        ``loss``.
    """
    if not isinstance(loss, Loss):
        raise UserError(f"loss={loss!r} is not valid; expected a spikeflow.loss.Loss")
    return LOSSES.register(loss.name, loss)


for _loss in (
    Loss("rate_ce", rate_ce, count_scores),
    Loss("membrane_ce", membrane_ce, membrane_scores),
    Loss("count_mse", count_mse, count_scores),
    Loss("first_spike_ce", first_spike_ce, first_spike_scores),
):
    register(_loss)


def get(name: str) -> Loss:
    """The loss called ``name``.

    Arguments:
        name: a registered loss name.

    Returns:
        The :class:`Loss`; an unknown name raises a UserError listing the valid ones.
    """
    return LOSSES.get(name)


def available() -> tuple[str, ...]:
    """Returns:
    The registered loss names, sorted.
    """
    return LOSSES.available()


def rate_l2(rates: Sequence[Tensor], target: float) -> Tensor:
    """Sum over layers of ``(rate - target)^2``: keeps layers near ``target`` spikes per step.

    Arguments:
        rates: one scalar firing rate per layer (spikes per neuron per step).
        target: the wanted rate in [0, 1].

    Returns:
        A scalar tensor.
    """
    check_range("target", target, 0, 1)
    if not rates:
        raise UserError("rates is empty; expected one firing rate per spiking layer")
    return reduce(operator.add, [(r - target) ** 2 for r in rates])


def rate_upper(rates: Sequence[Tensor], max_rate: float) -> Tensor:
    """Sum over layers of ``relu(rate - max_rate)^2``: penalises only layers that fire too much.

    Arguments:
        rates: one scalar firing rate per layer (spikes per neuron per step).
        max_rate: the highest rate without penalty, in [0, 1].

    Returns:
        A scalar tensor.
    """
    check_range("max_rate", max_rate, 0, 1)
    if not rates:
        raise UserError("rates is empty; expected one firing rate per spiking layer")
    return reduce(operator.add, [F.relu(r - max_rate) ** 2 for r in rates])
