"""Shared benchmark plumbing: timing, peak memory, the machine, child processes, tables.

Every measurement of one library runs in its own child process (``python SCRIPT --child JSON``),
so imports, thread pools and allocator state of one library never touch another's figures.
Peak memory is the rise of the child's resident set (``VmHWM`` after the workload minus ``VmRSS``
before it, with the high-water mark reset through ``/proc/self/clear_refs``); the child runs with a
fixed glibc mmap threshold so that freed large buffers go back to the OS and the peak is honest;
times come from another child with the default allocator.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def _status(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def layer_step(layer: Callable, x, train: bool) -> Callable[[], None]:
    """One timed step of ``layer`` (input ``x`` -> spikes): forward and backward of
    ``spikes.sum()`` with ``x.grad`` cleared after, or (``train`` false) forward under no_grad."""
    import torch

    def run() -> None:
        if train:
            layer(x).sum().backward()
            x.grad = None
        else:
            with torch.no_grad():
                layer(x)

    return run


def peak_memory(fn: Callable[[], object]) -> int:
    """Bytes by which ``fn()`` raises this process's resident set at its peak."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS")
    fn()
    return _status("VmHWM") - base


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 2) -> tuple[float, list]:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs, after ``warmup`` runs."""
    return _medians(fn, repeats, warmup)[:2]  # type: ignore[return-value]


def time_and_cpu(fn: Callable[[], object], repeats: int, warmup: int = 2) -> dict:
    """Median wall time, all wall times and median CPU time (all threads) of ``fn()``, seconds.

    CPU time is the work done; on a machine shared with other jobs it is steadier than wall time.
    """
    wall, times, cpu, cpus = _medians(fn, repeats, warmup)
    return {"time": wall, "times": times, "cpu": cpu, "cpus": cpus}


def _medians(
    fn: Callable[[], object], repeats: int, warmup: int
) -> tuple[float, list, float, list]:
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, statistics.median(cpu), cpu


def memory_bandwidth(mib: int = 512, repeats: int = 5) -> float:
    """Copy bandwidth in bytes/s, counting bytes read plus bytes written: a ``mib`` MiB copy split
    over every core (one numpy copy per core, in threads; numpy releases the GIL, and glibc's
    ``memcpy`` writes copies this large past the caches, as spikeflow's kernels write large
    outputs)."""
    from concurrent.futures import ThreadPoolExecutor

    src = np.ones(mib * 2**20 // 8)
    dst = np.empty_like(src)
    cores = os.cpu_count() or 1
    edges = [len(src) * i // cores for i in range(cores + 1)]
    parts = [(dst[a:b], src[a:b]) for a, b in itertools.pairwise(edges)]
    with ThreadPoolExecutor(cores) as pool:

        def copy() -> None:
            list(pool.map(lambda part: np.copyto(*part), parts))

        best = median_time(copy, repeats, warmup=1)[0]
    return 2 * src.nbytes / best


def machine() -> str:
    """One paragraph naming the CPU, cores, memory, OS and library versions."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)"
    )


def run_child(script: str, spec: dict, timeout: float = 900, memory: bool = False) -> dict:
    """Run ``script --child spec`` in a fresh process and return its JSON result (or an error).

    ``memory``: run with a fixed glibc mmap threshold, for an honest peak (see module docstring).
    """
    env = {**os.environ, **(MEMORY_ENV if memory else {})}
    cmd = [sys.executable, script, "--child", json.dumps(spec)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last[:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_interleaved(script: str, specs: dict[str, dict], rounds: int) -> dict[str, dict]:
    """Time every library ``rounds`` times in turn (A, B, C, A, B, C, ...), each time in a fresh
    process, then measure each one's peak memory once.

    Medians are taken over the repeats of all rounds together, so a slow spell of a shared machine
    falls on every library alike instead of on whichever ran during it.
    """
    results: dict[str, dict] = {}
    for _ in range(rounds):
        for lib, spec in specs.items():
            if "error" in results.get(lib, {}):
                continue
            r = run_child(script, {**spec, "what": "time"})
            if "error" in r or lib not in results:
                results[lib] = r
            else:
                results[lib]["times"] += r["times"]
                results[lib]["cpus"] += r["cpus"]
    for lib, r in results.items():
        if "error" not in r:
            r["time"], r["cpu"] = statistics.median(r["times"]), statistics.median(r["cpus"])
            r["rounds"] = rounds
            r.update(run_child(script, {**specs[lib], "what": "memory"}, memory=True))
    return results


def child_main(handler: Callable[[dict], dict]) -> bool:
    """If this process is a child (``--child JSON``), run ``handler`` and print its result."""
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(handler(json.loads(sys.argv[2]))))
        return True
    return False


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def comparison_table(results: dict[str, dict], time_header: str, *, spikes: bool) -> str:
    """One row per library: median time, CPU time and peak memory, each also as a ratio to the
    ``spikeflow`` row, and the total spike count when ``spikes``."""
    base = results.get("spikeflow", {})
    columns = 8 if spikes else 7
    rows = []
    for lib, r in results.items():
        if "error" in r:
            rows.append([lib, "error: " + r["error"], *[""] * (columns - 2)])
            continue
        row = [
            f"{lib} {r['version']}",
            f"{r['time'] * 1e3:.1f}",
            fmt_ratio(r["time"] / base["time"] if "time" in base else None),
            f"{r['cpu'] * 1e3:.1f}",
            fmt_ratio(r["cpu"] / base["cpu"] if "cpu" in base else None),
            f"{r['peak'] / 2**20:.0f}",
            fmt_ratio(r["peak"] / base["peak"] if base.get("peak") else None),
        ]
        rows.append([*row, f"{r['spikes']:.0f}"] if spikes else row)
    headers = [
        "library",
        time_header,
        "time / spikeflow",
        "CPU ms",
        "CPU / spikeflow",
        "peak MiB",
        "mem / spikeflow",
    ]
    return table([*headers, "spikes"] if spikes else headers, rows)
