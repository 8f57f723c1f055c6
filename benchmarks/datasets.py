"""Neuromorphic dataset readers: spikeflow against tonic on the same generated files, and a cached
epoch against parsing the files again.

The files are GENERATED (random events written byte for byte in each dataset's format by the test
writers in ``tests/data/formats.py``), not the real datasets, with sizes like the real ones:
N-MNIST 2,000-6,000 events per sample, DVS128 Gesture recordings of 500,000 events (AEDAT 3.1),
CIFAR10-DVS recordings of 150,000 events (AEDAT 2.0), SHD samples of 3,000-12,000 spikes (HDF5).

1. Readers: events per second reading a whole folder, spikeflow and tonic taking turns
   (``--rounds`` each, median; wall and CPU seconds and the 1-minute load average recorded).
   tonic reads file by file in one process with its own readers: ``tonic.io.read_mnist_file``,
   ``read_dvs_ibm``, ``read_dvs_128`` and ``tonic.datasets.SHD``. spikeflow reads through its
   sample iterators (DVS Gesture: the recordings cut into their labelled gestures), by default
   in one thread; DVS Gesture and CIFAR10-DVS also with ``--workers`` reading threads (default
   one per core, at most 4). The event counts must agree.
2. Cache: an N-MNIST-sized training set (``--samples`` files, default 60,000) in 10 time bins:
   parsing and binning every file once, against one epoch read from spikeflow's cache (every
   sample indexed once, as a DataLoader does). Both with the files in the page cache.

Run: ``.venv-bench/bin/python benchmarks/datasets.py [--samples 60000] [--rounds 3]``; results go
to ``benchmarks/results/datasets.json`` (``--only ROW`` times only the reader rows starting with
``ROW`` and writes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data import formats  # noqa: E402  (the format writers of the tests)

from spikeflow.data import cifar10_dvs, dvs_gesture, nmnist, shd  # noqa: E402
from spikeflow.data.cache import cached_split  # noqa: E402
from spikeflow.data.read_ahead import default_workers  # noqa: E402
from spikeflow.data.transforms import EventTransform, apply_transform  # noqa: E402


def _generate(work: Path, samples: int) -> None:
    done = work / f".generated-{samples}"
    if done.is_file():
        return
    rng = np.random.default_rng(0)
    for split, n in (("Train", samples), ("Test", 10_000)):
        for i in range(n):
            ev = formats.random_events(rng, int(rng.integers(2_000, 6_001)), (34, 34, 2))
            formats.write_nmnist(work / "nmnist" / split / str(i % 10) / f"{i:05d}.bin", ev)
    where = work / "gesture" / "DvsGesture"
    where.mkdir(parents=True, exist_ok=True)
    names = [f"user{k:02d}_led" for k in range(20)]
    (where / "trials_to_train.txt").write_text("".join(f"{n}.aedat\n" for n in names))
    for n in names:
        ev = formats.random_events(rng, 500_000, (128, 128, 2), t_max=6_000_000)
        (where / f"{n}.aedat").write_bytes(formats.aedat31_bytes(ev, packet_events=4096))
        (where / f"{n}_labels.csv").write_text(
            "class,startTime_usec,endTime_usec\r\n1,0,6000000\r\n"
        )
    for c in cifar10_dvs.CLASS_NAMES:
        (work / "cifar" / c).mkdir(parents=True, exist_ok=True)
        for i in range(10):
            ev = formats.random_events(rng, 150_000, (128, 128, 2), t_max=1_300_000)
            (work / "cifar" / c / f"cifar10_{c}_{i}.aedat").write_bytes(formats.aedat2_bytes(ev))
    audio = []
    for _ in range(4_000):
        k = int(rng.integers(3_000, 12_001))
        ev = np.empty(k, formats.AUDIO_DTYPE)
        ev["t"], ev["unit"] = np.sort(rng.integers(0, 1_000_000, k)), rng.integers(0, 700, k)
        audio.append((ev, int(rng.integers(0, 20))))
    (work / "shd" / "SHD").mkdir(parents=True, exist_ok=True)
    keys = [f"class {k}" for k in range(20)]
    formats.write_audio(work / "shd" / "SHD" / "shd_train.h5", audio, keys=keys)
    (work / "shd" / "SHD" / "shd_train.h5.zip").write_bytes(b"")  # tonic looks for its archive
    done.write_text("generated, not real data\n")


def _tonic_aedat(path: Path, x_shift: int, y_shift: int, p_shift: int, mask: int) -> np.ndarray:
    """tonic 1.7.0's ``read_dvs_ibm`` / ``read_dvs_128``, which fail there (they unpack two values
    from ``read_aedat_header_from_file``, which returns three): the same calls to tonic's header and
    event readers and the same bit decoding into tonic's structured array."""
    import tonic

    version, start, _ = tonic.io.read_aedat_header_from_file(str(path))
    events = tonic.io.get_aer_events_from_file(str(path), version, start)
    addr = events["address"]
    x, y, p = (addr >> x_shift) & mask, (addr >> y_shift) & mask, (addr >> p_shift) & 1
    return tonic.io.make_structured_array(x, y, events["timeStamp"], p)


def _readers(work: Path, workers: int):
    """``{row: (spikeflow_reader, tonic_reader)}``: each reads a whole folder and returns the
    number of events; spikeflow through its sample iterators (the gestures cut from their
    recordings; one thread, the default, and ``workers`` threads), tonic file by file."""
    import tonic

    bins = sorted((work / "nmnist" / "Test").rglob("*.bin"))
    gesture = work / "gesture"
    aedat3 = dvs_gesture.gesture_files(gesture, "train")
    cifar = work / "cifar"
    aedat2 = sorted(cifar.rglob("*.aedat"))
    h5 = work / "shd" / "SHD" / "shd_train.h5"
    mnist_dtype = tonic.datasets.NMNIST.dtype

    def tonic_shd() -> int:
        data = tonic.datasets.SHD(save_to=str(work / "shd"), train=True)
        return sum(len(data[i][0]) for i in range(len(data)))

    def gestures(threads: int) -> int:
        return sum(len(e) for e, _ in dvs_gesture.gesture_samples(gesture, "train", threads))

    def cifar_all(threads: int) -> int:
        return sum(
            len(e) for split in ("train", "test")
            for e, _ in cifar10_dvs.cifar_samples(cifar, split, threads)
        )  # fmt: skip

    def tonic_gesture() -> int:
        return sum(len(_tonic_aedat(f, 17, 2, 1, 0x1FFF)) for f in aedat3)

    def tonic_cifar() -> int:
        return sum(len(_tonic_aedat(f, 8, 1, 0, 0x7F)) for f in aedat2)

    return {
        "nmnist (10,000 .bin)": (
            lambda: sum(len(e) for e, _ in nmnist.nmnist_samples(work / "nmnist", "test")),
            lambda: sum(len(tonic.io.read_mnist_file(str(f), mnist_dtype)) for f in bins),
        ),
        "dvs_gesture (20 AEDAT 3.1), 1 thread (default)": (lambda: gestures(1), tonic_gesture),
        f"dvs_gesture (20 AEDAT 3.1), {workers} threads": (
            lambda: gestures(workers),
            tonic_gesture,
        ),
        "cifar10_dvs (100 AEDAT 2.0), 1 thread (default)": (lambda: cifar_all(1), tonic_cifar),
        f"cifar10_dvs (100 AEDAT 2.0), {workers} threads": (
            lambda: cifar_all(workers),
            tonic_cifar,
        ),
        "shd (4,000 samples, HDF5)": (
            lambda: sum(len(e) for e, _ in shd.read_audio_file(h5)),
            tonic_shd,
        ),
    }


def _timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def _timed_cpu(fn) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process (all its threads) and ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    n = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, n


def bench_readers(work: Path, rounds: int, workers: int, only: str | None) -> list[dict]:
    rows = []
    for name, (ours, theirs) in _readers(work, workers).items():
        if only is not None and not name.startswith(only):
            continue
        times: dict[str, list[float]] = {"spikeflow": [], "tonic": []}
        cpu: dict[str, list[float]] = {"spikeflow": [], "tonic": []}
        counts = {}
        load = [os.getloadavg()[0]]
        for _ in range(rounds):  # taking turns, so both see the same load
            for lib, fn in (("spikeflow", ours), ("tonic", theirs)):
                seconds, cpu_s, counts[lib] = _timed_cpu(fn)
                times[lib].append(seconds)
                cpu[lib].append(cpu_s)
        load.append(os.getloadavg()[0])
        if not 0 <= counts["tonic"] - counts["spikeflow"] <= 200:  # tonic keeps special events
            raise SystemExit(
                f"{name}: spikeflow read {counts['spikeflow']} events, tonic {counts['tonic']}"
            )
        med = {lib: statistics.median(t) for lib, t in times.items()}
        rows.append({"dataset": name, "events": counts, "times_s": times, "cpu_s": cpu,
                     "load_1min": load,
                     "events_per_s": {lib: counts["spikeflow"] / med[lib] for lib in med},
                     "speedup": med["tonic"] / med["spikeflow"]})  # fmt: skip
        print(f"{name}: {counts['spikeflow']:,} events; spikeflow {med['spikeflow']:.3f} s, "
              f"tonic {med['tonic']:.3f} s, {med['tonic'] / med['spikeflow']:.2f}x "
              f"(CPU s, median: spikeflow {statistics.median(cpu['spikeflow']):.3f}, tonic "
              f"{statistics.median(cpu['tonic']):.3f}; load {load[0]:.1f}-{load[1]:.1f})",
              flush=True)  # fmt: skip
    return rows


def bench_cache(work: Path, rounds: int) -> dict:
    settings = EventTransform(n_time_bins=10)
    root, cache = work / "nmnist", work / "cache"
    for old in cache.glob("*"):
        old.unlink()
    build, data = _timed(lambda: cached_split(nmnist.DATASET, root, "train", settings, cache))
    data = cached_split(nmnist.DATASET, root, "train", settings, cache)

    def parse() -> int:
        n = 0
        for events, _ in nmnist.nmnist_samples(root, "train"):
            apply_transform(settings, events, nmnist.SENSOR_SIZE)
            n += 1
        return n

    def epoch() -> int:
        for i in range(len(data)):
            data[i]
        return len(data)

    parse_s, n = _timed(parse)
    epochs = [_timed(epoch)[0] for _ in range(rounds)]
    cached_s = statistics.median(epochs)
    size = sum(f.stat().st_size for f in cache.glob("*"))
    print(f"cache: {n:,} samples [10, 2, 34, 34]; build {build:.1f} s, parse again {parse_s:.1f} "
          f"s, cached epoch {cached_s:.2f} s ({parse_s / cached_s:.1f}x), {size / 1e9:.2f} GB",
          flush=True)  # fmt: skip
    return {"samples": n, "build_s": build, "parse_s": parse_s, "cached_epoch_s": epochs,
            "speedup": parse_s / cached_s, "cache_bytes": size}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=60_000, help="N-MNIST training files")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="spikeflow's reading threads for DVS Gesture and CIFAR10-DVS")  # fmt: skip
    p.add_argument("--only", default=None,
                   help="only the reader rows whose name starts with this; no cache figure and "
                   "no results file written")  # fmt: skip
    p.add_argument("--work", default="/tmp/spikeflow-bench-datasets", help="generated files")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "datasets.json"))
    args = p.parse_args()
    work = Path(args.work)
    started = time.perf_counter()
    _generate(work, args.samples)
    print(
        f"generated files (not the real datasets) in {work} ({time.perf_counter() - started:.0f} s)"
    )
    readers = bench_readers(work, args.rounds, args.workers, args.only)
    if args.only is not None:
        return
    result = {"note": "generated files in each dataset's format, not the real data",
              "command": " ".join(sys.argv), "cores": os.cpu_count(), "workers": args.workers,
              "readers": readers, "cache": bench_cache(work, args.rounds)}  # fmt: skip
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
