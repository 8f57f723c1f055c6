"""The memory a training run needs, estimated and checked before it is allocated.

Two checks, each naming the settings that set the size, the estimate and the memory the device
has free (swap excluded, see :mod:`spikeflow.memory`):

- :func:`check_parameters_fit`, before the model is built: its parameters, counted on the
  ``meta`` device (no memory), with their gradients and optimizer state;
- :func:`check_activations_fit`, once it is built: what backpropagation through time keeps per
  sample and step (every layer's output, measured by one forward step of one sample) times the
  steps kept and the batch, plus the encoded input batch.

Both estimates are lower bounds (the temporaries of the kernels and the allocator's slack come on
top), so a run they refuse could not have fit; a run they accept close to the limit may still fail
at allocation (the command's one-line out-of-memory error) or, where the system overcommits
memory, be stopped by it (the last checkpoint written is kept).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from spikeflow import models
from spikeflow.data.bundle import DataBundle, num_samples
from spikeflow.device import resolve_device
from spikeflow.errors import UserError
from spikeflow.memory import check_fits, device_bytes, is_out_of_memory
from spikeflow.memory import parameter_count as count_parameters
from spikeflow.train.config import TrainConfig

#: Bytes of one number of the weights, gradients, optimizer state and activations (float32).
FLOAT_BYTES = 4
#: Numbers each optimizer keeps per parameter besides the weight and its gradient.
OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1}
#: Bytes per input number while a static batch is encoded, where more than the spikes kept:
#: rate coding holds its uniform draws (float32), their comparison (bool, made contiguous) and the
#: spikes at once.
ENCODING_BYTES = {"rate": 9}
#: Model options that set the number of parameters, in the order the message names them.
SIZE_OPTIONS = ("hidden", "channels", "delays")


def parameter_count(cfg: TrainConfig, input_shape: tuple[int, ...], num_classes: int) -> int | None:
    """The number of parameters of the config's model, counted without allocating them.

    Arguments:
        cfg: the run's config (``model`` and its options).
        input_shape: shape of one sample at one step, e.g. ``(1, 28, 28)``.
        num_classes: output neurons.

    Returns:
        The count, or ``None`` for a (user-registered) model that cannot be built on the ``meta``
        device (its count is then not checked).
    """
    return count_parameters(
        lambda: models.build(cfg.model, input_shape, num_classes, **cfg.model_options())
    )


def check_parameters_fit(
    cfg: TrainConfig,
    input_shape: tuple[int, ...],
    num_classes: int,
    available: int | None = None,
) -> None:
    """Raise :class:`~spikeflow.errors.UserError` when the model's parameters, gradients and
    optimizer state cannot fit in memory.

    Arguments:
        cfg: the run's config.
        input_shape: shape of one sample at one step.
        num_classes: output neurons.
        available: bytes to compare with (default: free memory of ``cfg.device``).
    """
    count = parameter_count(cfg, input_shape, num_classes)
    if count is None:
        return
    needed = count * FLOAT_BYTES * (2 + OPTIMIZER_STATES[cfg.optimizer])
    check_fits(
        f"{_model_text(cfg)} has {count:.3g} parameters, which with "
        f"their gradients and the {cfg.optimizer} state",
        needed,
        _available(cfg, available),
        expected="smaller layers",
    )


def _model_text(cfg: TrainConfig) -> str:
    """``model=NAME with hidden=..., delays=...``: the model and its size options that are set."""
    options = models.registry.options(cfg.model)
    sizes = ", ".join(
        f"{k}={_value(getattr(cfg, k))}" for k in SIZE_OPTIONS if k in options and getattr(cfg, k)
    )
    return f"model={cfg.model} with {sizes or 'its layers'}"


def activations_per_step(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Numbers in the outputs of the model's leaf modules for one sample and one time step.

    One forward step of one zero sample, in evaluation mode, without gradients and without
    drawing from the random generators (so a seeded run is unchanged).

    Arguments:
        model: a spiking model taking ``[T, B, *input_shape]``.
        input_shape: shape of one sample at one step.

    Returns:
        The number of output elements of every leaf module, summed.
    """
    total = 0

    def count(_module: nn.Module, _inputs: object, output: object) -> None:
        nonlocal total
        outputs = output if isinstance(output, tuple | list) else (output,)
        total += sum(o.numel() for o in outputs if isinstance(o, Tensor))

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    hooks = [m.register_forward_hook(count) for m in leaves]
    device = next(model.parameters()).device
    training = model.training
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model.eval()
            model(torch.zeros((1, 1, *input_shape), device=device))
    finally:
        model.train(training)
        for hook in hooks:
            hook.remove()
    return total


def steps_kept(cfg: TrainConfig, num_steps: int) -> int:
    """Time steps whose activations backpropagation keeps at once.

    Arguments:
        cfg: the run's config (``checkpoint_every``, ``tbptt``, ``online``).
        num_steps: steps ``T`` of one sample.

    Returns:
        ``T`` for plain BPTT, one segment for checkpointing and truncated BPTT, 1 online.
    """
    if cfg.online:
        return 1
    segment = cfg.checkpoint_every or cfg.tbptt
    return min(segment, num_steps) if segment else num_steps


def check_activations_fit(
    cfg: TrainConfig,
    bundle: DataBundle,
    model: nn.Module,
    world_size: int = 1,
    available: int | None = None,
) -> None:
    """Raise :class:`~spikeflow.errors.UserError` when one training batch's activations (or one
    evaluation batch's input) cannot fit in memory.

    Arguments:
        cfg: the run's config.
        bundle: the data (its sample shape, and the length of temporal samples).
        model: the built model, on its device.
        world_size: processes sharing each batch (each keeps its share).
        available: bytes to compare with (default: free memory of ``cfg.device``).
    """
    if bundle.temporal:
        num_steps = int(bundle.train[0][0].shape[0])
        steps_text = f"the data's {num_steps} steps"
    else:
        num_steps = cfg.num_steps
        steps_text = f"num_steps={num_steps}"
    inputs = math.prod(bundle.input_shape)
    # a batch larger than a split is that split
    batch_size = min(cfg.batch_size, num_samples(bundle.train))
    eval_batch_size = min(
        cfg.eval_batch_size,
        max(num_samples(s) for s in (bundle.test, bundle.val, bundle.train) if s is not None),
    )
    try:
        per_step = activations_per_step(model, bundle.input_shape)
    except (MemoryError, RuntimeError) as err:
        if not is_out_of_memory(err):
            raise
        raise UserError(
            f"one time step of one sample of {_model_text(cfg)} cannot be allocated "
            f"({str(err).splitlines()[0][:160]}); expected smaller layers"
        ) from None
    batch = math.ceil(batch_size / world_size)
    kept = steps_kept(cfg, num_steps)
    encoding = 0 if bundle.temporal else ENCODING_BYTES.get(cfg.encoder, FLOAT_BYTES)
    steps_inputs = num_steps * inputs
    training = max(
        FLOAT_BYTES * batch * (kept * per_step + steps_inputs), encoding * batch * steps_inputs
    )
    evaluation = max(FLOAT_BYTES, encoding) * eval_batch_size * steps_inputs
    if evaluation > training:
        what = f"eval_batch_size={cfg.eval_batch_size} and {steps_text} (the input of one batch)"
        expected = "a smaller eval_batch_size" + ("" if bundle.temporal else " or num_steps")
    else:
        what = (
            f"batch_size={cfg.batch_size} and {steps_text} ({per_step} numbers per sample and "
            f"step kept over {kept} steps for backpropagation)"
        )
        expected = "a smaller batch_size or num_steps, or checkpoint_every, tbptt or online"
    check_fits(what, max(training, evaluation), _available(cfg, available), expected=expected)


def _available(cfg: TrainConfig, available: int | None) -> int:
    return device_bytes(resolve_device(cfg.device)) if available is None else available


def _value(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
