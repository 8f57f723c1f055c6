"""Run a converted network: encode static inputs, read class scores at many time steps at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from spikeflow.encode import rate
from spikeflow.errors import UserError, check_choice, check_positive_int
from spikeflow.nn import Neuron, Sequential

INPUT_MODES = ("analog", "rate")


def encode_input(
    x: Tensor, timesteps: int, mode: str = "analog", generator: torch.Generator | None = None
) -> Tensor:
    """Static inputs ``[B, ...]`` as ``[T, B, ...]`` SNN input.

    ``"analog"``: the value itself as a constant input current at every step (the default).
    ``"rate"``: Bernoulli spikes with probability ``x`` per step (``x`` must lie in ``[0, 1]``).
    """
    check_positive_int("timesteps", timesteps)
    check_choice("input", mode, INPUT_MODES)
    if mode == "analog":
        return x.unsqueeze(0).expand(timesteps, *x.shape)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise UserError(
            f"input='rate' needs values in [0, 1]; got [{float(x.min()):g}, {float(x.max()):g}]"
        )
    return rate(x, timesteps, generator=generator)


@torch.no_grad()
def snn_outputs(
    snn: Sequential,
    x: Tensor,
    timesteps: int,
    mode: str = "analog",
    generator: torch.Generator | None = None,
) -> Tensor:
    """The converted network's output currents ``[T, B, classes]`` for static inputs ``[B, ...]``.

    With analog input the layers before the first neuron see the same input at every step, so
    they run once and their result is repeated in time (the same numbers, T times less work).
    """
    encoded = encode_input(x, timesteps, mode, generator)
    first = next((i for i, layer in enumerate(snn.layers) if isinstance(layer, Neuron)), len(snn))
    if mode == "analog" and first > 0:
        h = encoded[:1]
        for layer in snn.layers[:first]:
            h = layer(h)
        encoded = h.expand(timesteps, *h.shape[1:])
        rest = snn.layers[first:]
    else:
        rest = snn.layers
    out = encoded
    for layer in rest:
        out = layer(out)[0] if isinstance(layer, Neuron | Sequential) else layer(out)
    return out


@torch.no_grad()
def accuracy_vs_timesteps(
    snn: Sequential,
    batches: Iterable[tuple[Tensor, Tensor]],
    timesteps: Sequence[int],
    mode: str = "analog",
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict[int, float]:
    """Test accuracy of ``snn`` at every ``T`` in ``timesteps`` from one run of ``max(timesteps)``.

    The network is causal, so its output over the first ``T`` steps of a long run is its output
    for a run of ``T`` steps: the class score at ``T`` is the mean output current of steps
    ``0 .. T-1``. ``batches`` yields ``(x [B, ...], labels [B])``.
    """
    if not timesteps:
        raise UserError("timesteps=() is not valid; expected at least one number of steps")
    for t in timesteps:
        check_positive_int("timesteps", t)
    t_max = max(timesteps)
    generator = torch.Generator(device=device).manual_seed(seed)
    correct = dict.fromkeys(timesteps, 0)
    total = 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        cumulative = snn_outputs(snn, x, t_max, mode, generator).cumsum(dim=0)
        for t in timesteps:
            correct[t] += int((cumulative[t - 1].argmax(dim=-1) == y).sum())
        total += len(y)
    if total == 0:
        raise UserError("the evaluation data is empty; expected at least one sample")
    return {t: correct[t] / total for t in timesteps}
