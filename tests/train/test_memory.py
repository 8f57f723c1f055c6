"""Training memory estimates: parameters counted without allocating them, activations a lower
bound of what backpropagation really keeps, and refusals that name the settings, the estimate
and the machine's memory."""

import pytest
import torch

from spikeflow import data, models
from spikeflow.cli import main
from spikeflow.errors import UserError
from spikeflow.memory import GIB, gib
from spikeflow.train import memory
from spikeflow.train.config import TrainConfig
from spikeflow.train.trainer import Trainer

MODELS = [
    ("mlp", (1, 8, 8), {}),
    ("mlp", (1, 8, 8), {"neuron": "adlif"}),
    ("mlp", (1, 8, 8), {"neuron": "synaptic"}),
    ("mlp", (1, 8, 8), {"delays": 3}),
    ("cnn", (2, 16, 16), {}),
    ("rsnn", (12,), {}),
    ("rsnn", (12,), {"neuron": "adlif"}),
    ("rsnn", (12,), {"connectivity": "one_to_one"}),
]


@pytest.mark.parametrize(("model", "shape", "extra"), MODELS)
def test_parameters_counted_on_meta_equal_the_built_models(model, shape, extra):
    cfg = TrainConfig(model=model, **extra)
    built = models.build(model, shape, 10, **cfg.model_options())
    assert memory.parameter_count(cfg, shape, 10) == sum(p.numel() for p in built.parameters())


def _saved_bytes(model, x):
    """Bytes of the distinct storages autograd saves for the backward of ``model(x)``."""
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return sum(storages.values())


@pytest.mark.parametrize(("model", "shape", "extra"), MODELS)
def test_activation_estimate_is_a_lower_bound_of_what_backprop_saves(model, shape, extra):
    cfg = TrainConfig(model=model, **extra)
    torch.manual_seed(0)
    net = models.build(model, shape, 10, **cfg.model_options())
    steps, batch = 8, 4
    estimate = memory.FLOAT_BYTES * steps * batch * memory.activations_per_step(net, shape)
    saved = _saved_bytes(net, (torch.rand(steps, batch, *shape) < 0.3).float())
    assert estimate <= saved
    if model != "rsnn" and "delays" not in extra:  # no constant-size buffers saved besides
        assert saved < 3 * estimate, (saved, estimate)


def test_activation_probe_leaves_the_model_and_the_random_stream_as_they_were():
    cfg = TrainConfig(dropout=0.5)
    net = models.build("mlp", (1, 8, 8), 10, **cfg.model_options())
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    # flatten 64, linear 256, LIF 256, dropout 256, linear 10 (the head's scan is not a forward)
    assert memory.activations_per_step(net, (1, 8, 8)) == 64 + 256 + 256 + 256 + 10
    assert net.training
    assert torch.equal(torch.rand(4), expected)


@pytest.mark.parametrize(
    ("changes", "kept"),
    [({}, 100), ({"checkpoint_every": 10}, 10), ({"tbptt": 300}, 100), ({"online": True}, 1)],
)
def test_steps_kept_for_backpropagation(changes, kept):
    assert memory.steps_kept(TrainConfig(num_steps=100, **changes), 100) == kept


def test_parameters_refused_naming_the_layer_sizes_and_the_memory():
    cfg = TrainConfig(hidden=(4096, 4096))
    needed = memory.parameter_count(cfg, (1, 8, 8), 10) * memory.FLOAT_BYTES * 4
    with pytest.raises(UserError) as err:
        memory.check_parameters_fit(cfg, (1, 8, 8), 10, available=int(needed) - 1)
    text = str(err.value)
    assert "model=mlp with hidden=4096,4096 has 1.71e+07 parameters" in text
    assert f"need about {gib(needed)}" in text and "adam state" in text
    assert "expected smaller layers" in text
    memory.check_parameters_fit(cfg, (1, 8, 8), 10, available=int(needed))


def _digits(limit=64):
    return data.load("digits", seed=0, val_fraction=0, limit_train=limit, limit_test=limit)


def test_activations_refused_naming_batch_and_steps_and_fit_online():
    cfg = TrainConfig(num_steps=10**5, batch_size=64, eval_batch_size=1, device="cpu")
    bundle = _digits()
    net = models.build("mlp", bundle.input_shape, bundle.num_classes, **cfg.model_options())
    per_step = memory.activations_per_step(net, bundle.input_shape)
    with pytest.raises(UserError) as err:
        memory.check_activations_fit(cfg, bundle, net, available=4 * GIB)
    text = str(err.value)
    assert f"batch_size=64 and num_steps=100000 ({per_step} numbers per sample" in text
    assert "over 100000 steps" in text and "checkpoint_every, tbptt or online" in text
    online = TrainConfig(**{**cfg.__dict__, "online": True})
    memory.check_activations_fit(online, bundle, net, available=4 * GIB)  # keeps one step
    # two processes each keep half the batch (and its input, 64 numbers per step)
    half = memory.FLOAT_BYTES * 32 * 10**5 * (per_step + 64)
    memory.check_activations_fit(cfg, bundle, net, world_size=2, available=half)
    with pytest.raises(UserError):
        memory.check_activations_fit(cfg, bundle, net, world_size=2, available=half - 1)


def test_evaluation_batch_refused_naming_eval_batch_size():
    cfg = TrainConfig(num_steps=10**5, batch_size=1, eval_batch_size=10**4, online=True)
    bundle = _digits()
    net = models.build("mlp", bundle.input_shape, bundle.num_classes, **cfg.model_options())
    with pytest.raises(UserError, match=r"eval_batch_size=10000 and num_steps=100000 \(the input"):
        memory.check_activations_fit(cfg, bundle, net, available=GIB)


def test_trainer_refuses_before_building_the_model(monkeypatch):
    build, devices = models.build, []

    def recording_build(*args, **kwargs):
        devices.append(torch.get_default_device().type)
        return build(*args, **kwargs)

    monkeypatch.setattr(models, "build", recording_build)
    monkeypatch.setattr(memory, "device_bytes", lambda device: 10**6)
    with pytest.raises(UserError, match="expected smaller layers"):
        Trainer(TrainConfig(hidden=(1024,), device="cpu"), _digits(), "unused", progress=False)
    assert devices == ["meta"]  # counted, never allocated


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--num-steps", str(10**12), "and num_steps=1000000000000 ("),
        ("--hidden", str(10**12), "with hidden=1000000000000 has 7.5e+13 parameters"),
        ("--delays", str(10**18), "with hidden=256, delays=1000000000000000000 cannot be"),
    ],
)
def test_cli_refuses_sizes_that_cannot_fit_in_one_line(tmp_path, capsys, flag, value, words):
    code = main(["train", flag, value, "--out", str(tmp_path / "run"), "--limit-train", "32"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert words in err and ("GiB of memory available" in err or "expected smaller layers" in err)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
