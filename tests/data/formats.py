"""Writers of the neuromorphic datasets' files, byte for byte as distributed (from the format
specs, not from any reader), and random event streams to write with them."""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np

from spikeflow.data.events import EVENT_DTYPE
from spikeflow.data.recordings import AUDIO_DTYPE


def random_events(rng, n, sensor, t_max=300_000, t0=0):
    """``n`` events on ``sensor = (W, H, P)`` sorted by time, ``t`` in ``[t0, t0 + t_max)``."""
    events = np.empty(n, EVENT_DTYPE)
    events["x"] = rng.integers(0, sensor[0], n)
    events["y"] = rng.integers(0, sensor[1], n)
    events["p"] = rng.integers(0, 2, n)
    events["t"] = np.sort(rng.integers(t0, t0 + t_max, n))
    return events


def write_nmnist(path, events):
    """One N-MNIST ``.bin``: 5 bytes per event, x, y, then polarity (bit 23) and 23-bit time."""
    t = events["t"].astype(np.int64)
    out = np.empty((len(events), 5), np.uint8)
    out[:, 0], out[:, 1] = events["x"], events["y"]
    out[:, 2] = (events["p"].astype(np.int64) << 7) | ((t >> 16) & 0x7F)
    out[:, 3], out[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.tofile(path)


def write_nmnist_folder(
    root, rng, per_class=2, events_per_sample=(50, 200), splits=("Train", "Test")
):
    """A miniature N-MNIST folder; returns ``{split: [(events, digit), ...]}`` in file order."""
    written = {}
    for split in splits:
        written[split] = []
        for digit in range(10):
            for k in range(per_class):
                ev = random_events(rng, int(rng.integers(*events_per_sample)), (34, 34, 2))
                write_nmnist(Path(root) / split / str(digit) / f"{k:05d}.bin", ev)
                written[split].append((ev, digit))
    return written


AEDAT31_HEADER = (
    b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n"
    b"#Start-Time: 2016-05-06 12:00:00 (TZ+0200)\r\n#!END-HEADER\r\n"
)


def aedat31_packet(kind, size, overflow, payload, number, capacity=None):
    """One AEDAT 3.1 packet: the 28-byte header (source 1, timestamp offset 4, ``capacity``
    default ``number``, all ``number`` events counted valid) followed by ``payload``, which must
    hold ``capacity * size`` bytes."""
    capacity = number if capacity is None else capacity
    head = np.array(
        [(kind, 1, size, 4, overflow, capacity, number, number)],
        dtype=[
            ("a", "<i2"),
            ("b", "<i2"),
            ("c", "<i4"),
            ("d", "<i4"),
            ("e", "<i4"),
            ("f", "<i4"),
            ("g", "<i4"),
            ("h", "<i4"),
        ],
    )
    return head.tobytes() + payload


def polarity_words(events, invalid=()):
    """The AEDAT 3.1 polarity events of ``events`` (timestamps within one overflow period):
    8 bytes each, uint32 data (x, y, polarity, valid bit) and int32 31-bit timestamp; events
    whose index is in ``invalid`` have the valid bit clear."""
    body = np.empty(len(events), dtype=[("d", "<u4"), ("t", "<i4")])
    body["d"] = (
        (events["x"].astype(np.uint32) << 17)
        | (events["y"].astype(np.uint32) << 2)
        | (events["p"].astype(np.uint32) << 1)
        | np.uint32(1)
    )
    body["d"][list(invalid)] &= np.uint32(0xFFFFFFFE)
    body["t"] = events["t"].astype(np.int64) & 0x7FFFFFFF
    return body.tobytes()


def aedat31_bytes(events, packet_events=100, invalid=()):
    """An AEDAT 3.1 recording of polarity ``events`` (cut into packets, a new packet whenever the
    timestamp overflow changes), with a special-event packet first; events whose index is in
    ``invalid`` are written with the valid bit clear."""
    t = events["t"].astype(np.int64)
    special = np.array(
        [(0x01 << 1 | 1, int(t[0] & 0x7FFFFFFF) if len(t) else 0)],
        dtype=[("d", "<u4"), ("t", "<i4")],
    )
    out = [AEDAT31_HEADER, aedat31_packet(0, 8, 0, special.tobytes(), 1)]
    overflow = t >> 31
    cuts = sorted(
        {0, len(t), *np.flatnonzero(np.diff(overflow)) + 1, *range(0, len(t), packet_events)}
    )
    invalid = np.asarray(sorted(invalid), np.int64)
    for a, b in itertools.pairwise(cuts):
        mine = invalid[(invalid >= a) & (invalid < b)] - a
        body = polarity_words(events[a:b], mine)
        out.append(aedat31_packet(1, 8, int(overflow[a]), body, b - a))
    return b"".join(out)


def write_gesture_folder(root, rng, trials, gestures=3):
    """A miniature DvsGesture folder: ``trials = {"train": [...names], "test": [...]}``; returns
    ``{split: [(events, class), ...]}`` in reading order."""
    where = Path(root) / "DvsGesture"
    where.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, names in trials.items():
        (where / f"trials_to_{split}.txt").write_text("".join(f"{n}.aedat\n" for n in names))
        written[split] = []
        for name in names:
            events = random_events(rng, 3000, (128, 128, 2), t_max=6_000_000, t0=5_000_000)
            rows = ["class,startTime_usec,endTime_usec"]
            for g in range(gestures):
                label = int(rng.integers(0, 11))
                start, end = 5_500_000 + g * 1_800_000, 6_500_000 + g * 1_800_000
                rows.append(f"{label + 1},{start},{end}")
                keep = (events["t"] >= start) & (events["t"] < end)
                written[split].append((events[keep], label))
            (where / f"{name}.aedat").write_bytes(aedat31_bytes(events))
            (where / f"{name}_labels.csv").write_text("\r\n".join(rows) + "\r\n")
    return written


AEDAT2_HEADER = (
    b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n"
    b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n"
    b"# Timestamps tick is 1 us\r\n# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128\r\n"
)


def aedat2_bytes(events, external=()):
    """A jAER AEDAT 2.0 DVS128 recording (big-endian address, timestamp); external events (bit 15)
    are inserted before the event indices in ``external``."""
    address = (
        (events["y"].astype(np.uint32) << 8)
        | (events["x"].astype(np.uint32) << 1)
        | events["p"].astype(np.uint32)
    )
    body = np.empty(len(events), dtype=[("a", ">u4"), ("t", ">i4")])
    body["a"], body["t"] = address, events["t"]
    for i in sorted(external, reverse=True):
        extra = np.array([(0x8000, int(events["t"][i]))], dtype=body.dtype)
        body = np.concatenate([body[:i], extra, body[i:]]).astype(extra.dtype)  # keeps big-endian
    return AEDAT2_HEADER + body.tobytes()


def write_cifar_folder(root, rng, per_class=10):
    """A miniature CIFAR10-DVS folder; returns the written ``[(path, events, class)]``."""
    from spikeflow.data.cifar10_dvs import CLASS_NAMES

    written = []
    for c, name in enumerate(CLASS_NAMES):
        (Path(root) / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            ev = random_events(rng, int(rng.integers(100, 400)), (128, 128, 2), t_max=1_000_000)
            path = Path(root) / name / f"cifar10_{name}_{i}.aedat"
            path.write_bytes(aedat2_bytes(ev))
            written.append((path, ev, c))
    return written


def write_audio(path, samples, keys=None, time_dtype=np.float32):
    """An SHD/SSC HDF5 file from ``[(events (t us, unit), label)]``: ragged ``spikes/times``
    (seconds) and ``spikes/units``, ``labels`` and ``extra/keys``, ``extra/speaker``."""
    vlen = h5py.vlen_dtype
    times = np.empty(len(samples), object)
    units = np.empty(len(samples), object)
    for i, (ev, _) in enumerate(samples):
        times[i] = (ev["t"] / 1e6).astype(time_dtype)
        units[i] = ev["unit"].astype(np.uint16)
    with h5py.File(path, "w") as f:
        f.create_dataset("spikes/times", data=times, dtype=vlen(np.dtype(time_dtype)))
        f.create_dataset("spikes/units", data=units, dtype=vlen(np.dtype(np.uint16)))
        f.create_dataset("labels", data=np.asarray([lab for _, lab in samples], np.uint16))
        if keys is not None:
            f.create_dataset("extra/keys", data=np.asarray([k.encode() for k in keys]))
        f.create_dataset("extra/speaker", data=np.zeros(len(samples), np.uint16))


def random_audio(rng, n, classes=20, units=700):
    """``n`` audio samples ``(events, label)`` with times on a 1 ms grid (exact in float32)."""
    out = []
    for _ in range(n):
        k = int(rng.integers(5, 60))
        ev = np.empty(k, AUDIO_DTYPE)
        ev["t"] = np.sort(rng.integers(0, 1000, k)) * 1000
        ev["unit"] = rng.integers(0, units, k)
        out.append((ev, int(rng.integers(0, classes))))
    return out
