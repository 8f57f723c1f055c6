"""``spikeflow train`` with ``--neuron adlif`` and ``--delays MAX``: runs, the delays are sharpened
every epoch, and a resumed run continues."""

import json

from spikeflow.cli import main
from spikeflow.train import checkpoint

TINY = [
    "--limit-train", "96", "--limit-test", "32", "--hidden", "8", "--num-steps", "4",
    "--batch-size", "32", "--threads", "1", "--device", "cpu", "--quiet",
]  # fmt: skip


def test_mlp_with_delays_trains_sharpens_and_resumes(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--delays", "3", "--epochs", "1", "--out", str(out)]) == 0
    assert "delays = 3" in (out / "config.toml").read_text()

    def sigmas():
        model = checkpoint.load(out)["model"]
        return [float(v) for k, v in model.items() if k.endswith("sigma")]

    assert sigmas() == [1.5, 1.5]  # the hidden and the output DelayedLinear: max_delay / 2
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2
    assert sigmas() == [0.5, 0.5]  # the last epoch of the resumed run is sharpened to sigma_end


def test_rsnn_with_adlif_trains(tmp_path):
    out = tmp_path / "run"
    argv = ["train", *TINY, "--model", "rsnn", "--neuron", "adlif", "--epochs", "1"]
    assert main([*argv, "--out", str(out)]) == 0
    saved = (out / "config.toml").read_text()
    assert 'neuron = "adlif"' in saved and 'model = "rsnn"' in saved
    model = checkpoint.load(out)["model"]
    assert any(k.endswith("neuron.a") for k in model)


def test_delays_on_a_model_without_them_is_one_line(tmp_path, capsys):
    assert main(["train", *TINY, "--model", "cnn", "--delays", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "delays=2 is not valid for model 'cnn'" in err[0]
