"""The whole conversion experiment: train (or load) the ANN, convert, test at many T, energy, plot."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from spikeflow import data as datasets
from spikeflow import plot
from spikeflow.atomic import write_atomic, write_json
from spikeflow.config import to_dict
from spikeflow.convert.ann import build_ann, evaluate_ann, train_ann
from spikeflow.convert.config import ARCH_KEYS, ConvertConfig, to_toml
from spikeflow.convert.convert import convert
from spikeflow.convert.run import accuracy_vs_num_steps, encode_input
from spikeflow.data.bundle import num_samples
from spikeflow.device import resolve_device
from spikeflow.energy import estimate
from spikeflow.errors import UserError
from spikeflow.memory import check_fits as check_fits_memory
from spikeflow.memory import device_bytes, parameter_count


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


def check_fits(cfg: ConvertConfig, bundle: datasets.DataBundle, device: torch.device) -> None:
    """Raise :class:`UserError` when the ANN (its weights, gradients and Adam state; counted
    without allocating them) or one test batch of the SNN's input at the longest ``T`` cannot fit
    in the memory ``device`` has free. Both estimates are lower bounds.

    Arguments:
        cfg: the experiment.
        bundle: the data (the sample shape and classes).
        device: where the ANN trains and the SNN runs.
    """
    available = device_bytes(device)
    if not cfg.ann:
        count = parameter_count(lambda: _ann_for(cfg, bundle))
        sizes = ", ".join(
            f"{k}={','.join(map(str, getattr(cfg, k)))}" for k in ("hidden", "channels")
        )
        if count is not None:
            check_fits_memory(
                f"model={cfg.model} with {sizes} has {count:.3g} parameters, which with their "
                "gradients and the Adam state",
                4 * 4 * count,
                available,
                expected="smaller layers",
            )
    steps, batch = max(cfg.num_steps), min(cfg.eval_batch_size, num_samples(bundle.test))
    check_fits_memory(
        f"eval_batch_size={cfg.eval_batch_size} and num_steps up to {steps} (the SNN's input of one "
        "test batch)",
        4 * steps * batch * math.prod(bundle.input_shape),
        available,
        expected="a smaller eval_batch_size or num_steps",
    )


def load_ann(path: str, cfg: ConvertConfig, bundle: datasets.DataBundle) -> torch.nn.Module:
    """An ANN saved by an earlier run.

    Arguments:
        path: an ``ann.pt`` or the run directory holding it.
        cfg: the run's config; the checkpoint's architecture (:data:`ARCH_KEYS`) must match it.
        bundle: the data (input shape and classes).

    Returns:
        The ANN with the saved weights.
    """
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
    wanted = cfg.architecture()
    for key in ARCH_KEYS:
        if saved.get(key) != wanted[key]:
            raise UserError(
                f"ann={path!r} has {key}={saved.get(key)!r} but this run has {key}="
                f"{wanted[key]!r}; expected the same (pass --{key.replace('_', '-')})"
            )
    model = _ann_for(cfg, bundle)
    model.load_state_dict(state)
    return model


def _save_ann(model: torch.nn.Module, cfg: ConvertConfig, path: Path) -> None:
    payload = {
        "config": cfg.architecture(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    write_atomic(path, lambda h: torch.save(payload, h))


def _calibration(bundle: datasets.DataBundle, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(num_samples(bundle.train), generator=g)[:n]
    return torch.stack([bundle.train[int(i)][0] for i in idx])


def run_conversion(cfg: ConvertConfig, out: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Run the experiment of ``cfg``: train (or load) the ANN, convert it, test the SNN at every
    ``T`` of ``cfg.num_steps``, estimate its energy, and write the results.

    Arguments:
        cfg: the experiment.
        out: the run directory; gets ``config.toml``, ``ann.pt`` (when trained),
            ``metrics.json`` and ``accuracy_vs_T.png``.
        progress: show progress bars.

    Returns:
        The metrics (as written to ``OUT/metrics.json``).
    """
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bundle = datasets.load(
        cfg.dataset,
        data_dir=cfg.data_dir,
        seed=cfg.seed,
        limit_train=cfg.limit_train,
        limit_test=cfg.limit_test,
    )
    check_fits(cfg, bundle, device)
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
            model, loader, epochs=cfg.epochs, lr=cfg.lr, device=device, progress=progress
        )
        _save_ann(model, cfg, out / "ann.pt")
    ann_train_s = time.perf_counter() - start
    test = DataLoader(bundle.test, batch_size=cfg.eval_batch_size)
    ann_acc = evaluate_ann(model, test, device)
    start = time.perf_counter()
    snn = convert(
        model,
        _calibration(bundle, cfg.calibration, cfg.seed).to(device),
        normalization=cfg.normalization,
        percentile=cfg.percentile,
        channel_wise=cfg.channel_wise,
        v_init=cfg.v_init,
        backend=cfg.backend,
    ).to(device)
    snn_acc = accuracy_vs_num_steps(snn, test, cfg.num_steps, cfg.encoder, cfg.seed, device)
    snn_s = time.perf_counter() - start
    x_energy = torch.stack(
        [bundle.test[i][0] for i in range(min(cfg.energy_samples, num_samples(bundle.test)))]
    )
    g = torch.Generator(device=device).manual_seed(cfg.seed)
    energy = {
        t: estimate(snn, encode_input(x_energy.to(device), t, cfg.encoder, g)).as_dict()
        for t in cfg.num_steps
    }
    metrics = {
        "config": to_dict(cfg),
        "ann": {"test_accuracy": ann_acc, "train_loss": losses, "wall_s": ann_train_s},
        "snn": {
            "test_accuracy": {str(t): a for t, a in snn_acc.items()},
            "gap_points": {str(t): 100 * (ann_acc - a) for t, a in snn_acc.items()},
            "wall_s": snn_s,
        },
        "energy": {str(t): e for t, e in energy.items()},
        "test_samples": num_samples(bundle.test),
        "device": str(device),
    }
    write_json(out / "metrics.json", metrics)
    to_toml(cfg, out / "config.toml")
    fig = plot.accuracy_vs_steps(snn_acc, ann_acc, title=_title(cfg))
    plot.save(fig, out / "accuracy_vs_T.png", dpi=150)
    return metrics


def _title(cfg: ConvertConfig) -> str:
    norm = "QCFS" if cfg.activation == "qcfs" else f"{cfg.normalization} norm"
    return f"{cfg.dataset} {cfg.model}, {norm}, {cfg.encoder} input"
