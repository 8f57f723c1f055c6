"""``spikeflow convert``: train (or load) a ReLU/QCFS ANN, convert it to an SNN, test it at many T."""

from __future__ import annotations

import argparse
from typing import Any

from spikeflow.commands.flags import add_config_flags, given, int_list
from spikeflow.convert.ann import ACTIVATIONS, ANN_MODELS, POOLS
from spikeflow.convert.config import ConvertConfig, from_toml, with_overrides
from spikeflow.convert.normalize import NORMALIZATIONS
from spikeflow.convert.pipeline import run_conversion
from spikeflow.convert.run import ENCODERS, RENAMED_ENCODERS
from spikeflow.data import available as datasets
from spikeflow.device import DEVICES
from spikeflow.kernels import BACKENDS

#: The config flags of ``convert`` (defaults: :class:`ConvertConfig`'s; None = not given).
FLAGS: dict[str, dict[str, Any]] = {
    "dataset": {"choices": datasets()},
    "data_dir": {"metavar": "DIR", "help": "where the dataset files are"},
    "limit_train": {"type": int, "metavar": "N", "help": "use only N training samples"},
    "limit_test": {"type": int, "metavar": "N", "help": "use only N test samples"},
    "num_steps": {"type": int_list, "metavar": "T,T", "help": "numbers of time steps to test"},
    "encoder": {
        "choices": (*ENCODERS, *RENAMED_ENCODERS),
        "help": "SNN input: direct = the value as a constant current",
    },
    "model": {"choices": ANN_MODELS},
    "activation": {"choices": ACTIVATIONS},
    "levels": {"type": int, "help": "QCFS quantisation levels L"},
    "pool": {"choices": POOLS, "help": "CNN pooling"},
    "hidden": {"type": int_list, "metavar": "N,N", "help": "MLP hidden widths"},
    "channels": {"type": int_list, "metavar": "C,C", "help": "CNN channels per block"},
    "ann": {"metavar": "CHECKPOINT", "help": "an ann.pt from an earlier run: no training"},
    "epochs": {"type": int, "help": "ANN training epochs"},
    "batch_size": {"type": int, "help": "ANN training batch"},
    "lr": {"type": float, "help": "ANN learning rate"},
    "normalization": {"choices": NORMALIZATIONS, "help": "ReLU scales from calibration data"},
    "percentile": {"type": float, "help": "percentile of the activations"},
    "channel_wise": {"flag": True, "help": "one scale per channel"},
    "v_init": {"type": float, "help": "initial membrane / threshold"},
    "calibration": {"type": int, "help": "calibration samples"},
    "energy_samples": {"type": int, "help": "test samples for energy"},
    "eval_batch_size": {"type": int},
    "device": {"choices": DEVICES, "help": "auto: cuda if available"},
    "backend": {"choices": BACKENDS, "help": "IF neuron kernels"},
    "seed": {"type": int},
}

#: Flags renamed in this release; they still work, with a FutureWarning.
RENAMED_FLAGS = {
    "--timesteps": "num_steps",
    "--norm": "normalization",
    "--input": "encoder",
    "--eval-batch": "eval_batch_size",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the sub-command ``convert``.

    Arguments:
        subparsers: the ``spikeflow`` parser's sub-parsers.
    """
    p = subparsers.add_parser(
        "convert",
        help="ANN-to-SNN conversion: train an ANN, convert, test the SNN at many time steps",
        description="Train a ReLU (or QCFS) ANN, convert it into an integrate-and-fire SNN, and "
        "report SNN accuracy and energy at each number of time steps. Writes config.toml, "
        "ann.pt, metrics.json and accuracy_vs_T.png into --out; flags override --config.",
    )
    p.add_argument("--config", metavar="TOML", help="a config file ([data], [ann], [snn])")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_flags(p, ConvertConfig, FLAGS, renamed=RENAMED_FLAGS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the conversion experiment and print the accuracy and energy table.

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code (0: done).
    """
    base = from_toml(args.config) if args.config else ConvertConfig()
    cfg = with_overrides(base, given(args, ConvertConfig))
    metrics = run_conversion(cfg, args.out, progress=not args.quiet)
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
