"""The whole conversion experiment: train (or load) the ANN, convert, test at many T, energy, plot."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from spikeflow import data as datasets
from spikeflow.atomic import write_atomic, write_json
from spikeflow.convert.ann import build_ann, evaluate_ann, train_ann
from spikeflow.convert.convert import convert
from spikeflow.convert.normalise import NORMALISATIONS
from spikeflow.convert.run import INPUT_MODES, accuracy_vs_timesteps, encode_input
from spikeflow.energy import estimate
from spikeflow.errors import UserError, check_choice, check_positive_int, check_range

#: ANN settings a checkpoint must share with the run that loads it.
ARCH_KEYS = ("dataset", "model", "activation", "levels", "pool", "hidden", "channels")


@dataclass
class ConvertConfig:
    """Settings of one ``spikeflow convert`` run (the CLI flags)."""

    out: str
    dataset: str = "digits"
    data_dir: str | None = None
    model: str = "mlp"
    timesteps: list[int] = field(default_factory=lambda: [8, 16, 32, 64, 128])
    ann: str | None = None
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    activation: str = "relu"
    levels: int = 8
    pool: str = "avg"
    hidden: list[int] = field(default_factory=lambda: [256, 128])
    channels: list[int] = field(default_factory=lambda: [32, 64])
    normalisation: str = "percentile"
    percentile: float = 99.9
    channel_wise: bool = False
    v_init: float = 0.5
    input: str = "analog"
    calibration: int = 1000
    energy_samples: int = 16
    eval_batch: int = 256
    limit_train: int | None = None
    limit_test: int | None = None
    device: str = "cpu"
    backend: str = "auto"
    seed: int = 0
    progress: bool = True


def _device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device='cuda' is not available here (torch sees no GPU); use --device cpu")
    return torch.device(name)


def _ann_for(cfg: ConvertConfig, bundle: datasets.DataBundle) -> torch.nn.Module:
    return build_ann(
        cfg.model,
        bundle.input_shape,
        bundle.num_classes,
        activation=cfg.activation,
        levels=cfg.levels,
        hidden=cfg.hidden,
        channels=cfg.channels,
        pool=cfg.pool,
    )


def load_ann(path: str, cfg: ConvertConfig, bundle: datasets.DataBundle) -> torch.nn.Module:
    """An ANN saved by an earlier run (``ann.pt``); its architecture must match ``cfg``."""
    file = Path(path)
    if file.is_dir():
        file = file / "ann.pt"
    if not file.is_file():
        raise UserError(
            f"ann={path!r} is not a file; expected an ann.pt written by spikeflow convert"
        )
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
        saved = payload["config"]
        state = payload["state_dict"]
    except Exception as err:  # corrupt or foreign file: one clear line
        raise UserError(f"ann={path!r} could not be read as an ANN checkpoint ({err})") from err
    for key in ARCH_KEYS:
        if saved.get(key) != getattr(cfg, key):
            raise UserError(
                f"ann={path!r} has {key}={saved.get(key)!r} but this run has {key}="
                f"{getattr(cfg, key)!r}; expected the same (pass --{key.replace('_', '-')})"
            )
    model = _ann_for(cfg, bundle)
    model.load_state_dict(state)
    return model


def _save_ann(model: torch.nn.Module, cfg: ConvertConfig, path: Path) -> None:
    payload = {
        "config": {key: getattr(cfg, key) for key in ARCH_KEYS},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    write_atomic(path, lambda h: torch.save(payload, h))


def _calibration(bundle: datasets.DataBundle, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(bundle.train), generator=g)[:n]
    return torch.stack([bundle.train[int(i)][0] for i in idx])


def run_conversion(cfg: ConvertConfig) -> dict[str, Any]:
    """Run the experiment of ``cfg``; write ``ann.pt``, ``metrics.json``, ``accuracy_vs_T.png``.

    Returns the metrics (also written to ``OUT/metrics.json``).
    """
    for t in cfg.timesteps:
        check_positive_int("timesteps", t)
    check_choice("normalisation", cfg.normalisation, NORMALISATIONS)
    check_range("percentile", cfg.percentile, 0, 100, low_open=True)
    check_range("v_init", cfg.v_init, 0, 1, high_open=True)
    check_choice("input", cfg.input, INPUT_MODES)
    check_positive_int("calibration", cfg.calibration)
    check_positive_int("energy_samples", cfg.energy_samples)
    device = _device(cfg.device)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = datasets.load(
        cfg.dataset,
        data_dir=cfg.data_dir,
        seed=cfg.seed,
        limit_train=cfg.limit_train,
        limit_test=cfg.limit_test,
    )
    start = time.perf_counter()
    if cfg.ann:
        model, losses = load_ann(cfg.ann, cfg, bundle), []
    else:
        model = _ann_for(cfg, bundle)
        loader = DataLoader(
            bundle.train,
            batch_size=cfg.batch_size,
            shuffle=True,
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        losses = train_ann(
            model, loader, epochs=cfg.epochs, lr=cfg.lr, device=device, progress=cfg.progress
        )
        _save_ann(model, cfg, out / "ann.pt")
    ann_train_s = time.perf_counter() - start
    test = DataLoader(bundle.test, batch_size=cfg.eval_batch)
    ann_acc = evaluate_ann(model, test, device)
    start = time.perf_counter()
    snn = convert(
        model,
        _calibration(bundle, cfg.calibration, cfg.seed).to(device),
        normalisation=cfg.normalisation,
        percentile=cfg.percentile,
        channel_wise=cfg.channel_wise,
        v_init=cfg.v_init,
        backend=cfg.backend,
    ).to(device)
    snn_acc = accuracy_vs_timesteps(snn, test, cfg.timesteps, cfg.input, cfg.seed, device)
    snn_s = time.perf_counter() - start
    x_energy = torch.stack(
        [bundle.test[i][0] for i in range(min(cfg.energy_samples, len(bundle.test)))]
    )
    g = torch.Generator(device=device).manual_seed(cfg.seed)
    energy = {
        t: estimate(snn, encode_input(x_energy.to(device), t, cfg.input, g)).as_dict()
        for t in cfg.timesteps
    }
    metrics = {
        "config": asdict(cfg),
        "ann": {"test_accuracy": ann_acc, "train_loss": losses, "wall_s": ann_train_s},
        "snn": {
            "test_accuracy": {str(t): a for t, a in snn_acc.items()},
            "gap_points": {str(t): 100 * (ann_acc - a) for t, a in snn_acc.items()},
            "wall_s": snn_s,
        },
        "energy": {str(t): e for t, e in energy.items()},
        "test_samples": len(bundle.test),
        "device": str(device),
    }
    write_json(out / "metrics.json", metrics)
    plot_accuracy(snn_acc, ann_acc, out / "accuracy_vs_T.png", title=_title(cfg))
    return metrics


def _title(cfg: ConvertConfig) -> str:
    norm = "QCFS" if cfg.activation == "qcfs" else f"{cfg.normalisation} norm"
    return f"{cfg.dataset} {cfg.model}, {norm}, {cfg.input} input"


def plot_accuracy(acc: dict[int, float], ann_acc: float, path: Path, title: str) -> None:
    """SNN test accuracy versus time steps (log axis) against the ANN's accuracy line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = sorted(acc)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ts, [100 * acc[t] for t in ts], "o-", label="SNN")
    ax.axhline(100 * ann_acc, color="k", ls="--", label=f"ANN {100 * ann_acc:.2f}%")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ts, [str(t) for t in ts])
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    write_atomic(path, lambda h: fig.savefig(h, format="png", dpi=150))
    plt.close(fig)
