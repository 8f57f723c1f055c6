"""Conversion refuses an ANN or a test batch that cannot fit in memory before allocating it,
naming the settings, the estimate and the memory available."""

import pytest

from spikeflow import data
from spikeflow.cli import main
from spikeflow.convert import pipeline
from spikeflow.convert.ann import build_ann
from spikeflow.convert.config import ConvertConfig
from spikeflow.errors import UserError
from spikeflow.memory import gib


@pytest.fixture
def bundle():
    return data.load("digits", seed=0, limit_train=32, limit_test=16)


def _refused_at(monkeypatch, cfg, bundle, available):
    monkeypatch.setattr(pipeline, "device_bytes", lambda device: available)
    with pytest.raises(UserError) as err:
        pipeline.check_fits(cfg, bundle, device=None)
    return str(err.value)


def test_ann_parameters_refused_naming_the_layers(monkeypatch, bundle):
    cfg = ConvertConfig(hidden=(512, 512))
    ann = build_ann("mlp", bundle.input_shape, bundle.num_classes, hidden=(512, 512))
    count = sum(p.numel() for p in ann.parameters())
    text = _refused_at(monkeypatch, cfg, bundle, 16 * count - 1)
    assert f"model=mlp with hidden=512,512, channels=32,64 has {count:.3g} parameters" in text
    assert f"need about {gib(16 * count)}" in text and "expected smaller layers" in text
    monkeypatch.setattr(pipeline, "device_bytes", lambda device: 16 * count)
    pipeline.check_fits(cfg, bundle, device=None)  # fits exactly (the test batch is smaller)


def test_test_batch_refused_naming_the_longest_num_steps(monkeypatch, bundle):
    cfg = ConvertConfig(num_steps=(8, 10**6), eval_batch_size=256, ann="given.pt")
    text = _refused_at(monkeypatch, cfg, bundle, 10**9)
    # 16 test samples (the batch is capped at the test set) x 64 inputs x 10^6 steps x 4 bytes
    assert "eval_batch_size=256 and num_steps up to 1000000" in text
    assert f"need about {gib(4 * 16 * 64 * 10**6)}" in text


def test_cli_refuses_an_ann_no_machine_holds_in_one_line(tmp_path, capsys):
    argv = ["convert", "--hidden", str(10**12), "--out", str(tmp_path), "--limit-train", "32"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "hidden=1000000000000" in err and "GiB" in err
    assert not (tmp_path / "ann.pt").exists()
