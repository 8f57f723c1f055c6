"""``spikeflow convert``: train (or load) a ReLU/QCFS ANN, convert it to an SNN, test it at many T."""

from __future__ import annotations

import argparse

from spikeflow.convert.ann import ACTIVATIONS, ANN_MODELS, POOLS
from spikeflow.convert.normalise import NORMALISATIONS
from spikeflow.convert.pipeline import ConvertConfig, run_conversion
from spikeflow.convert.run import INPUT_MODES
from spikeflow.errors import UserError

DEVICES = ("cpu", "cuda")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise UserError(f"{text!r} is not valid; expected positive integers separated by commas")
    return values


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert",
        help="ANN-to-SNN conversion: train an ANN, convert, test the SNN at many time steps",
        description="Train a ReLU (or QCFS) ANN, convert it into an integrate-and-fire SNN, and "
        "report SNN accuracy and energy at each number of time steps.",
    )
    p.add_argument("--dataset", default="digits", help="dataset name (default digits)")
    p.add_argument("--data-dir", metavar="DIR", help="where the dataset files are")
    p.add_argument("--model", default="mlp", choices=ANN_MODELS)
    p.add_argument("--timesteps", default="8,16,32,64,128", help="comma-separated T values")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory")
    p.add_argument("--ann", metavar="CHECKPOINT", help="an ann.pt from an earlier run: no training")
    p.add_argument("--epochs", type=int, default=30, help="ANN training epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    p.add_argument("--levels", type=int, default=8, help="QCFS quantisation levels L")
    p.add_argument("--pool", default="avg", choices=POOLS, help="CNN pooling")
    p.add_argument("--hidden", default="256,128", help="MLP hidden widths")
    p.add_argument("--channels", default="32,64", help="CNN channels per block")
    p.add_argument("--norm", default="percentile", choices=NORMALISATIONS)
    p.add_argument("--percentile", type=float, default=99.9)
    p.add_argument("--channel-wise", action="store_true", help="one scale per channel")
    p.add_argument("--v-init", type=float, default=0.5, help="initial membrane / threshold")
    p.add_argument("--input", default="analog", choices=INPUT_MODES)
    p.add_argument("--calibration", type=int, default=1000, help="calibration samples")
    p.add_argument("--energy-samples", type=int, default=16, help="test samples for energy")
    p.add_argument("--eval-batch", type=int, default=256)
    p.add_argument("--limit-train", type=int, metavar="N")
    p.add_argument("--limit-test", type=int, metavar="N")
    p.add_argument("--device", default="cpu", choices=DEVICES)
    p.add_argument("--backend", default="auto", help="IF kernel: auto, reference, cpu, triton")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = ConvertConfig(
        out=args.out,
        dataset=args.dataset,
        data_dir=args.data_dir,
        model=args.model,
        timesteps=_int_list(args.timesteps),
        ann=args.ann,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        activation=args.activation,
        levels=args.levels,
        pool=args.pool,
        hidden=_int_list(args.hidden),
        channels=_int_list(args.channels),
        normalisation=args.norm,
        percentile=args.percentile,
        channel_wise=args.channel_wise,
        v_init=args.v_init,
        input=args.input,
        calibration=args.calibration,
        energy_samples=args.energy_samples,
        eval_batch=args.eval_batch,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        device=args.device,
        backend=args.backend,
        seed=args.seed,
        progress=not args.quiet,
    )
    metrics = run_conversion(cfg)
    ann = metrics["ann"]["test_accuracy"]
    print(f"ANN test accuracy: {100 * ann:.2f}%  ({metrics['test_samples']} test samples)")
    print(f"{'T':>6}  {'SNN acc':>8}  {'gap (pt)':>8}  {'SOPs':>10}  {'E (nJ)':>9}")
    for t, acc in metrics["snn"]["test_accuracy"].items():
        totals = metrics["energy"][t]["totals"]
        print(
            f"{t:>6}  {100 * acc:>7.2f}%  {metrics['snn']['gap_points'][t]:>8.2f}  "
            f"{totals['sops']:>10.4g}  {totals['energy_pj'] / 1e3:>9.3f}"
        )
    first = next(iter(metrics["energy"].values()))["totals"]
    print(f"equivalent ANN: {first['ann_macs']:.4g} MACs, {first['ann_energy_pj'] / 1e3:.3f} nJ")
    print(f"results: {args.out}/metrics.json, {args.out}/accuracy_vs_T.png")
    return 0
