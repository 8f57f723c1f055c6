"""``spikeflow sweep --config sweep.toml``: a hyperparameter search over train options."""

from __future__ import annotations

import argparse
from typing import Any

from spikeflow import sweep
from spikeflow.sweep.results import best

#: Flags that override keys of the file's [sweep] table.
_OVERRIDES: dict[str, dict[str, Any]] = {
    "n_trials": {"type": int, "metavar": "N", "help": "finished trials the study should hold"},
    "processes": {"type": int, "metavar": "P", "help": "trials run at once"},
    "out": {"metavar": "DIR", "help": "sweep directory (default sweeps/FILE_STEM)"},
    "storage": {"metavar": "URL", "help": "Optuna storage URL (default sqlite:///OUT/study.db)"},
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the sub-command ``sweep``.

    Arguments:
        subparsers: the ``spikeflow`` parser's sub-parsers.
    """
    p = subparsers.add_parser(
        "sweep",
        help="search train options with Optuna",
        description="Run a hyperparameter search described by a TOML file ([sweep], "
        "[objective], [space] and the base train options). Each trial is a spikeflow train run "
        "in OUT/trials/trial-NNNN, run in its own process; results.csv, results.md and "
        "sweep.png are written to OUT. Running the command again continues the study from its "
        "storage. Needs pip install 'spikeflow[sweep]'.",
    )
    p.add_argument("--config", metavar="TOML", required=True, help="the sweep file")
    for name, spec in _OVERRIDES.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, **spec)
    p.set_defaults(func=run_sweep)


def run_sweep(args: argparse.Namespace) -> int:
    """Run or continue a sweep and print its best trial and files.

    Arguments:
        args: the parsed command line.

    Returns:
        The exit code: 0 done, 130 stopped by a signal (run again to continue).
    """
    overrides = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None}
    cfg = sweep.load(args.config, overrides)
    outcome = sweep.run(cfg)
    top = best(outcome.rows, cfg.direction)
    if top is not None:
        params = ", ".join(f"{k}={v}" for k, v in top.params.items())
        print(f"best: trial {top.number}, {cfg.metric} {top.value:.6g} ({params}) in {top.run_dir}")
    for f in outcome.files:
        print(f"  {f}")
    if outcome.interrupted:
        print(f"sweep stopped; continue with: spikeflow sweep --config {args.config}")
        return 130
    return 0
