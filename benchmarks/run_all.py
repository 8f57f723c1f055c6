"""Run every benchmark script in this folder and write ``benchmarks/results.md``.

A benchmark script is any ``*.py`` here except this one, helper modules (names starting with
``_``), fixture generators (names starting with ``make_``) and tools run by hand that compare
spikeflow with itself (names starting with ``compare_``); ``cuba.py`` is included when present.
Each script prints its own markdown tables; this runner echoes them, and saves them under a header
naming the machine, its copy bandwidth and the date.

Run: ``make bench`` (creates ``.venv-bench``), or ``.venv-bench/bin/python benchmarks/run_all.py
[--only lif_layer,mlp_train] [-- extra args for every script]``.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import machine, memory_bandwidth  # noqa: E402  (needs the path insert)


def scripts(only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name (optionally only those named)."""
    found = [
        p
        for p in sorted(HERE.glob("*.py"))
        if p.name != Path(__file__).name and not p.name.startswith(("_", "make_", "compare_"))
    ]
    if only:
        found = [p for p in found if p.stem in only]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated script names (no .py)")
    parser.add_argument("--out", default=str(HERE / "results.md"))
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    only = [s for s in args.only.split(",") if s] or None
    bandwidth = memory_bandwidth()
    header = [
        "# spikeflow benchmarks\n",
        f"Run {datetime.datetime.now():%Y-%m-%d %H:%M} by `benchmarks/run_all.py`.\n",
        f"Machine: {machine()}. Copy bandwidth (512 MiB on all cores, read + write): "
        f"{bandwidth / 1e9:.1f} GB/s.\n",
        "Times are medians over all timed runs of several rounds, the libraries taking turns, each "
        "turn in a fresh process; peak memory is the rise of the resident set during one step (see "
        "`benchmarks/README.md`).\n",
    ]
    print("\n".join(header))
    sections, failed = [], 0
    for script in scripts(only):
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script), *extra], capture_output=True, text=True, cwd=HERE.parent
        )
        took = time.perf_counter() - t0
        body = proc.stdout.strip()
        if proc.returncode != 0:
            failed += 1
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            body += f"\n\n`{script.name}` failed (exit {proc.returncode}):\n\n```\n{tail}\n```"
        section = f"{body}\n\n_{script.name}: {took:.0f} s_\n"
        print(section, flush=True)
        sections.append(section)
    Path(args.out).write_text("\n".join(header) + "\n" + "\n".join(sections))
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
