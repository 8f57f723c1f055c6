"""spikeflow's LIF layer at another git revision against the working tree, side by side.

On a shared machine absolute times drift by tens of percent between runs; a change is judged by
running both versions in turn, many times, in one session. This script checks ``REV`` out into a
temporary git worktree and alternates fresh processes, one per (workload, version, round), each
importing spikeflow from its own ``src/`` (numba caches stay per checkout), then prints the medians.

Run: ``python benchmarks/compare_revisions.py HEAD~1 [--rounds 5] [--repeats 15]`` from the
repository root with the project's environment (``.venv/bin/python``). It is not part of
``run_all.py`` (it compares spikeflow with itself, not with the peers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = (("100,64,1024", "train"), ("25,128,512", "train"), ("100,64,1024", "infer"))


def child(src: str, shape_text: str, mode: str, repeats: int) -> None:
    """Time one workload with the spikeflow found under ``src``; print the median seconds."""
    sys.path.insert(0, src)
    import torch
    from _common import layer_step

    import spikeflow as sf

    if not sf.__file__.startswith(src):
        raise SystemExit(f"imported spikeflow from {sf.__file__}, not from {src}")
    shape = tuple(int(v) for v in shape_text.split(","))
    torch.manual_seed(0)
    lif = sf.nn.LIF(beta=0.9, threshold=1.0, reset="subtract")
    x = torch.rand(shape) * 0.3
    train = mode == "train"
    x.requires_grad_(train)

    run = layer_step(lambda inp: lif(inp)[0], x, train)
    for _ in range(3):  # compilation (or the disk cache) and allocator warm-up
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps(statistics.median(times)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", help="the git revision to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=5, help="turns each version gets")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per turn")
    parser.add_argument(
        "--child", nargs=3, metavar=("SRC", "SHAPE", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.repeats)
        return
    if not args.rev:
        parser.error("rev is required (a git revision, e.g. HEAD~1)")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "rev"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.rev],
            check=True,
            capture_output=True,
        )
        try:
            versions = {args.rev: str(tree / "src"), "working tree": str(ROOT / "src")}
            results: dict[tuple[str, tuple[str, str]], list[float]] = {}
            for _ in range(args.rounds):
                for work in WORKLOADS:
                    for name, src in versions.items():
                        out = subprocess.run(
                            [sys.executable, __file__, "--repeats", str(args.repeats),
                             "--child", src, *work],
                            capture_output=True, text=True, check=True,
                        )  # fmt: skip
                        seconds = json.loads(out.stdout.strip().splitlines()[-1])
                        results.setdefault((name, work), []).append(seconds)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )
    print(f"| workload | {args.rev} ms | working tree ms | ratio |")
    print("|---|---|---|---|")
    for work in WORKLOADS:
        old, new = (statistics.median(results[(name, work)]) * 1e3 for name in versions)
        print(f"| [{work[0]}] {work[1]} | {old:.2f} | {new:.2f} | {old / new:.2f}x |")


if __name__ == "__main__":
    main()
