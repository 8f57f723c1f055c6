"""Run a converted network: encode static inputs, read class scores at many time steps at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from spikeflow.deprecation import renamed_kwargs, renamed_value
from spikeflow.encode import rate
from spikeflow.errors import UserError, check_choice, check_positive_int
from spikeflow.nn import Neuron, Sequential

#: How a converted network takes static inputs (``"direct"``: the value as a constant current).
ENCODERS = ("direct", "rate")
#: Old encoder names that still work for one release (with a ``FutureWarning``).
RENAMED_ENCODERS = {"analog": "direct"}


@renamed_kwargs(timesteps="num_steps", mode="encoder")
def encode_input(
    x: Tensor,
    num_steps: int,
    encoder: str = "direct",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Static inputs as SNN input over ``T`` steps.

    Arguments:
        x: inputs ``[B, ...]``, in the units the ANN takes.
        num_steps: ``T``, the number of time steps.
        encoder: ``"direct"``: the value itself as a constant input current at every step (the
            default); ``"rate"``: Bernoulli spikes with probability ``x`` per step (``x`` must lie
            in ``[0, 1]``).
        generator: the random generator of ``"rate"``.

    Returns:
        ``[T, B, ...]``.
    """
    check_positive_int("num_steps", num_steps)
    encoder = renamed_value("encoder", encoder, RENAMED_ENCODERS)
    check_choice("encoder", encoder, ENCODERS)
    if encoder == "direct":
        return x.unsqueeze(0).expand(num_steps, *x.shape)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise UserError(
            f"encoder='rate' needs values in [0, 1]; got [{float(x.min()):g}, {float(x.max()):g}]"
        )
    return rate(x, num_steps, generator=generator)


@renamed_kwargs(timesteps="num_steps", mode="encoder")
@torch.no_grad()
def snn_outputs(
    snn: Sequential,
    x: Tensor,
    num_steps: int,
    encoder: str = "direct",
    generator: torch.Generator | None = None,
) -> Tensor:
    """The converted network's output currents for static inputs.

    With direct input the layers before the first neuron see the same input at every step, so
    they run once and their result is repeated in time (the same numbers, T times less work).

    Arguments:
        snn: a network from :func:`spikeflow.convert.convert`.
        x: inputs ``[B, ...]``.
        num_steps: ``T``. encoder: ``"direct"`` or ``"rate"`` (see :func:`encode_input`).
        generator: the random generator of ``"rate"``.

    Returns:
        Output currents ``[T, B, classes]``.
    """
    encoder = renamed_value("encoder", encoder, RENAMED_ENCODERS)
    encoded = encode_input(x, num_steps, encoder, generator)
    first = next((i for i, layer in enumerate(snn.layers) if isinstance(layer, Neuron)), len(snn))
    if encoder == "direct" and first > 0:
        h = encoded[:1]
        for layer in snn.layers[:first]:
            h = layer(h)
        encoded = h.expand(num_steps, *h.shape[1:])
        rest = snn.layers[first:]
    else:
        rest = snn.layers
    out = encoded
    for layer in rest:
        out = layer(out)[0] if isinstance(layer, Neuron | Sequential) else layer(out)
    return out


@renamed_kwargs(timesteps="num_steps", mode="encoder")
@torch.no_grad()
def accuracy_vs_num_steps(
    snn: Sequential,
    batches: Iterable[tuple[Tensor, Tensor]],
    num_steps: Sequence[int],
    encoder: str = "direct",
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict[int, float]:
    """Test accuracy of ``snn`` at every ``T`` in ``num_steps`` from one run of ``max(num_steps)``.

    The network is causal, so its output over the first ``T`` steps of a long run is its output
    for a run of ``T`` steps: the class score at ``T`` is the mean output current of steps
    ``0 .. T-1``.

    Arguments:
        snn: a network from :func:`spikeflow.convert.convert`.
        batches: yields ``(x [B, ...], labels [B])``.
        num_steps: the numbers of time steps to score, e.g. ``[8, 16, 32]``.
        encoder: ``"direct"`` or ``"rate"`` (see :func:`encode_input`).
        seed: seed of the rate encoder.
        device: where to run.

    Returns:
        ``{T: accuracy}`` (fractions).
    """
    if not num_steps:
        raise UserError("num_steps=() is not valid; expected at least one number of steps")
    for t in num_steps:
        check_positive_int("num_steps", t)
    t_max = max(num_steps)
    generator = torch.Generator(device=device).manual_seed(seed)
    correct = dict.fromkeys(num_steps, 0)
    total = 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        cumulative = snn_outputs(snn, x, t_max, encoder, generator).cumsum(dim=0)
        for t in num_steps:
            correct[t] += int((cumulative[t - 1].argmax(dim=-1) == y).sum())
        total += len(y)
    if total == 0:
        raise UserError("the evaluation data is empty; expected at least one sample")
    return {t: correct[t] / total for t in num_steps}
