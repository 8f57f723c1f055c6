"""``spikeflow train``: the model and optimisation options reach the run they describe."""

from __future__ import annotations

import json
import math

import torch

from spikeflow.cli import main
from spikeflow.train import checkpoint

# the reference backend: no numba kernel is compiled for the options below
TINY = [
    "--limit-train", "64", "--limit-test", "32", "--hidden", "8", "--num-steps", "3",
    "--epochs", "1", "--batch-size", "32", "--threads", "1", "--device", "cpu", "--quiet",
    "--backend", "reference",
]  # fmt: skip


def test_neuron_loss_and_optimiser_options_reach_the_checkpoint(tmp_path):
    argv = [
        "train", *TINY, "--out", str(tmp_path), "--surrogate", "fast_sigmoid",
        "--reset", "zero", "--learn-beta", "--loss", "count_mse", "--regularizer", "l2",
        "--reg-weight", "0.01", "--optimizer", "sgd", "--dist-backend", "gloo",
        "--ddp-timeout", "30",
    ]  # fmt: skip
    assert main(argv) == 0
    payload = checkpoint.load(tmp_path)
    config = payload["config"]
    assert (config["surrogate"], config["reset"], config["loss"]) == (
        "fast_sigmoid",
        "zero",
        "count_mse",
    )
    assert (config["regularizer"], config["optimizer"], config["backend"]) == (
        "l2",
        "sgd",
        "reference",
    )
    assert config["learn_beta"] is True
    betas = [v for k, v in payload["model"].items() if k.endswith("beta")]
    assert betas and any(not torch.allclose(b, torch.tensor(0.9)) for b in betas)  # learnt
    state = payload["optimizer"]["state"]
    assert state and all("momentum_buffer" in s and "exp_avg" not in s for s in state.values())
    assert math.isfinite(json.loads((tmp_path / "metrics.json").read_text())["test"]["loss"])


def test_rsnn_one_to_one_connectivity_has_one_recurrent_weight_per_neuron(tmp_path):
    argv = [
        "train",
        *TINY,
        "--model",
        "rsnn",
        "--connectivity",
        "one_to_one",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    payload = checkpoint.load(tmp_path)
    assert payload["config"]["connectivity"] == "one_to_one"
    weights = {k: tuple(v.shape) for k, v in payload["model"].items() if k.endswith("weight")}
    assert (8,) in weights.values() and (8, 8) not in weights.values(), weights  # a diagonal


def test_online_training_runs_and_is_recorded(tmp_path):
    assert main(["train", *TINY, "--online", "--out", str(tmp_path)]) == 0
    payload = checkpoint.load(tmp_path)
    assert payload["config"]["online"] is True
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 1 and math.isfinite(metrics["epochs"][0]["train_loss"])


def test_optimisation_options_reach_the_optimizer_and_config(tmp_path):
    argv = [
        "train", *TINY, "--out", str(tmp_path), "--encoder", "direct", "--gain", "0.5",
        "--beta", "0.8", "--threshold", "0.7", "--dropout", "0.2", "--regularizer", "upper",
        "--reg-rate", "0.2", "--weight-decay", "0.001", "--clip-grad", "0.5", "--patience", "3",
        "--lr", "0.01", "--schedule", "none", "--eval-batch-size", "16", "--seed", "3",
    ]  # fmt: skip
    assert main(argv) == 0
    payload = checkpoint.load(tmp_path)
    config = payload["config"]
    expected = {"encoder": "direct", "gain": 0.5, "beta": 0.8, "threshold": 0.7, "dropout": 0.2,
                "regularizer": "upper", "reg_rate": 0.2, "clip_grad": 0.5, "patience": 3,
                "eval_batch_size": 16, "seed": 3}  # fmt: skip
    assert {k: config[k] for k in expected} == expected
    group = payload["optimizer"]["param_groups"][0]
    assert (group["lr"], group["weight_decay"]) == (0.01, 0.001)  # no schedule: lr as given


def test_checkpointed_segments_repeat_the_plain_run_and_tbptt_does_not(tmp_path):
    def run(name, *extra):
        assert (
            main(["train", *TINY, "--num-steps", "4", *extra, "--out", str(tmp_path / name)]) == 0
        )
        return json.loads((tmp_path / name / "metrics.json").read_text())

    run("plain")
    segmented = run("segmented", "--checkpoint-every", "2")
    truncated, amp = run("tbptt", "--tbptt", "2"), run("amp", "--amp")
    assert segmented["config"]["checkpoint_every"] == 2 and truncated["config"]["tbptt"] == 2
    weights = {
        name: checkpoint.load(tmp_path / name)["model"] for name in ("plain", "segmented", "tbptt")
    }
    same = {
        name: all(torch.allclose(weights["plain"][k], w[k], atol=1e-6) for k in w)
        for name, w in weights.items()
    }
    assert same["segmented"]  # exact gradients, recomputed segment by segment
    assert not same["tbptt"]  # gradients cut every 2 steps
    assert amp["config"]["amp"] is True and math.isfinite(amp["epochs"][0]["train_loss"])


def test_evaluate_options_pick_the_samples_and_device(tmp_path):
    assert main(["train", *TINY, "--out", str(tmp_path / "run")]) == 0
    argv = ["evaluate", str(tmp_path / "run"), "--limit-test", "16", "--device", "cpu",
            "--data-dir", str(tmp_path), "--out", str(tmp_path / "ev")]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["test"]["samples"] == 16
