"""The readers of the neuromorphic datasets return exactly the events written in each format, and
name the file (and byte offset) of every bad file."""

from __future__ import annotations

import numpy as np
import pytest

from spikeflow.data import cifar10_dvs, dvs_gesture, nmnist, shd
from spikeflow.data.events import EVENT_DTYPE
from spikeflow.errors import UserError

from .formats import (
    aedat2_bytes,
    aedat31_bytes,
    random_audio,
    random_events,
    write_audio,
    write_cifar_folder,
    write_gesture_folder,
    write_nmnist,
    write_nmnist_folder,
)


def _same(a, b):
    assert len(a) == len(b)
    for field in b.dtype.names:
        np.testing.assert_array_equal(a[field], b[field])


# N-MNIST
def test_nmnist_file_round_trip_full_ranges(tmp_path):
    rng = np.random.default_rng(0)
    ev = random_events(rng, 1000, (34, 34, 2), t_max=(1 << 23) - 1)
    ev["x"][0], ev["y"][0], ev["t"][-1] = 33, 33, (1 << 23) - 1  # the largest values fit
    write_nmnist(tmp_path / "a.bin", ev)
    assert (tmp_path / "a.bin").stat().st_size == 5 * len(ev)
    _same(nmnist.read_nmnist_file(tmp_path / "a.bin"), ev)


def test_nmnist_known_bytes(tmp_path):
    # x=3, y=30, on, t=0x012345: bytes 03 1e (80|01) 23 45
    (tmp_path / "k.bin").write_bytes(bytes([3, 30, 0x81, 0x23, 0x45, 33, 0, 0x7F, 0xFF, 0xFF]))
    ev = nmnist.read_nmnist_file(tmp_path / "k.bin")
    assert ev.tolist() == [(3, 30, 0x012345, 1), (33, 0, (1 << 23) - 1, 0)]


def test_nmnist_folder_labels_and_order(tmp_path):
    written = write_nmnist_folder(tmp_path, np.random.default_rng(1))
    for split, key in (("train", "Train"), ("test", "Test")):
        got = list(nmnist.nmnist_samples(tmp_path, split))
        assert [lab for _, lab in got] == [lab for _, lab in written[key]]
        for (a, _), (b, _) in zip(got, written[key], strict=True):
            _same(a, b)


def test_nmnist_bad_files(tmp_path):
    with pytest.raises(UserError, match=r"folder Train/ not found.*Train/0/\*\.bin"):
        nmnist.nmnist_files(tmp_path, "train")
    (tmp_path / "Train" / "0").mkdir(parents=True)
    with pytest.raises(UserError, match=r"Train/1/, .*Train/9/ not found"):
        nmnist.nmnist_files(tmp_path, "train")
    (tmp_path / "t.bin").write_bytes(bytes(12))
    with pytest.raises(UserError, match=r"t\.bin: 2 bytes left over .* at byte offset 10"):
        nmnist.read_nmnist_file(tmp_path / "t.bin")
    (tmp_path / "c.bin").write_bytes(bytes(5) + bytes([40, 0, 0, 0, 0]))
    with pytest.raises(
        UserError, match=r"c\.bin: event 1 has x=40, expected < 34 at byte offset 5"
    ):
        nmnist.read_nmnist_file(tmp_path / "c.bin")
    with pytest.raises(UserError, match=r"none\.bin: cannot be read"):
        nmnist.read_nmnist_file(tmp_path / "none.bin")


# DVS128 Gesture (AEDAT 3.1)
def test_aedat31_round_trip_with_overflow_invalid_and_special_events(tmp_path):
    rng = np.random.default_rng(2)
    ev = random_events(rng, 700, (128, 128, 2), t_max=4_000_000, t0=(1 << 31) - 2_000_000)
    (tmp_path / "r.aedat").write_bytes(aedat31_bytes(ev, packet_events=64, invalid=(5, 300)))
    got = dvs_gesture.read_aedat31(tmp_path / "r.aedat")
    _same(got, np.delete(ev, [5, 300]))
    assert got["t"].max() > 1 << 31  # the overflow counter extends the 31-bit timestamps


def test_gesture_folder_cuts_recordings_into_labelled_gestures(tmp_path):
    trials = {"train": ["user01_fluorescent", "user02_lab"], "test": ["user24_led"]}
    written = write_gesture_folder(tmp_path, np.random.default_rng(3), trials)
    for split in trials:
        got = list(dvs_gesture.gesture_samples(tmp_path, split))
        assert [lab for _, lab in got] == [lab for _, lab in written[split]]
        for (a, _), (b, _) in zip(got, written[split], strict=True):
            _same(a, b)


def test_gesture_bad_files(tmp_path):
    with pytest.raises(UserError, match=r"DvsGesture/trials_to_train\.txt not found.*_labels\.csv"):
        dvs_gesture.gesture_files(tmp_path, "train")
    write_gesture_folder(tmp_path, np.random.default_rng(4), {"train": ["user01_led"]})
    where = tmp_path / "DvsGesture"
    (where / "trials_to_train.txt").write_text("user01_led.aedat\nuser02_led.aedat\n")
    with pytest.raises(UserError, match=r"user02_led\.aedat, DvsGesture/user02_led_labels\.csv"):
        dvs_gesture.gesture_files(tmp_path, "train")
    full = (where / "user01_led.aedat").read_bytes()
    (where / "t.aedat").write_bytes(full[:-3])
    with pytest.raises(
        UserError,
        match=r"t\.aedat: packet of 800 bytes of events, only 797 left at byte offset \d+",
    ):
        dvs_gesture.read_aedat31(where / "t.aedat")
    (where / "w.aedat").write_bytes(
        aedat2_bytes(random_events(np.random.default_rng(0), 3, (128, 128, 2)))
    )
    with pytest.raises(
        UserError, match=r"w\.aedat: starts with b'#!AER-DAT2'; expected .*#!AER-DAT3"
    ):
        dvs_gesture.read_aedat31(where / "w.aedat")
    (where / "user01_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n12,0,5\n")
    with pytest.raises(
        UserError, match=r"user01_led_labels\.csv: line 2 is '12,0,5'; expected a class in 1\.\.11"
    ):
        dvs_gesture.read_gesture_labels(where / "user01_led_labels.csv")


def test_aedat31_corrupt_packet_header_names_offset(tmp_path):
    from .formats import AEDAT31_HEADER

    ev = random_events(np.random.default_rng(5), 10, (128, 128, 2))
    data = bytearray(aedat31_bytes(ev))
    first = len(AEDAT31_HEADER) + 28 + 8  # the polarity packet after the special one
    data[first + 4 : first + 8] = (-8).to_bytes(4, "little", signed=True)  # eventSize
    (tmp_path / "h.aedat").write_bytes(bytes(data))
    with pytest.raises(
        UserError, match=rf"h\.aedat: packet header with eventSize=-8.* at byte offset {first}"
    ):
        dvs_gesture.read_aedat31(tmp_path / "h.aedat")


# CIFAR10-DVS (AEDAT 2.0, DVS128 addresses)
def test_aedat2_known_address_and_external_events(tmp_path):
    ev = random_events(np.random.default_rng(6), 500, (128, 128, 2), t_max=2_000_000)
    (tmp_path / "a.aedat").write_bytes(aedat2_bytes(ev, external=(0, 17, 499)))
    _same(cifar10_dvs.read_aedat2_dvs128(tmp_path / "a.aedat"), ev)
    one = np.array([(0x0000_7F_FF, 123)], dtype=[("a", ">u4"), ("t", ">i4")])  # y=127, x=127, on
    (tmp_path / "k.aedat").write_bytes(b"#!AER-DAT2.0\r\n" + one.tobytes())
    assert cifar10_dvs.read_aedat2_dvs128(tmp_path / "k.aedat").tolist() == [(127, 127, 123, 1)]


def test_cifar_folder_split_and_labels(tmp_path):
    written = write_cifar_folder(tmp_path, np.random.default_rng(7), per_class=10)
    for split, picks in (("train", range(9)), ("test", range(9, 10))):
        want = [(ev, c) for path, ev, c in written if int(path.stem.split("_")[-1]) in picks]
        got = list(cifar10_dvs.cifar_samples(tmp_path, split))
        assert [c for _, c in got] == [c for _, c in want]
        for (a, _), (b, _) in zip(got, want, strict=True):
            _same(a, b)


def test_cifar_bad_files(tmp_path):
    with pytest.raises(UserError, match=r"airplane/, automobile/.*truck/ not found.*figshare"):
        cifar10_dvs.cifar_files(tmp_path, "train")
    ev = random_events(np.random.default_rng(8), 20, (128, 128, 2))
    data = aedat2_bytes(ev)
    (tmp_path / "t.aedat").write_bytes(data[:-5])
    start = len(data) - 8 * 20
    with pytest.raises(
        UserError, match=rf"t\.aedat: 3 bytes left over .* at byte offset {start + 8 * 19}"
    ):
        cifar10_dvs.read_aedat2_dvs128(tmp_path / "t.aedat")
    bad = bytearray(data)
    bad[start + 8 * 4] = 0x01  # event 4 gets address bit 24: not a DVS128 address
    (tmp_path / "c.aedat").write_bytes(bytes(bad))
    with pytest.raises(UserError, match=rf"c\.aedat: address 0x01.* at byte offset {start + 32}"):
        cifar10_dvs.read_aedat2_dvs128(tmp_path / "c.aedat")
    (tmp_path / "n.aedat").write_bytes(b"\x00" * 16)
    with pytest.raises(UserError, match=r"n\.aedat: starts with .*expected an AEDAT file"):
        cifar10_dvs.read_aedat2_dvs128(tmp_path / "n.aedat")


# SHD / SSC (HDF5)
@pytest.mark.parametrize("time_dtype", [np.float16, np.float32, np.float64])
def test_audio_round_trip(tmp_path, time_dtype):
    rng = np.random.default_rng(9)
    samples = random_audio(rng, 12)
    if time_dtype == np.float16:  # float16 holds only a coarse grid: write times it can hold
        for ev, _ in samples:
            ev["t"] = np.round((ev["t"] / 1e6).astype(np.float16).astype(np.float64) * 1e6)
            ev.sort(order="t", kind="stable")
    write_audio(
        tmp_path / "shd_train.h5", samples, keys=[f"k{i}" for i in range(20)], time_dtype=time_dtype
    )
    got = list(shd.read_audio_file(tmp_path / "shd_train.h5"))
    assert [lab for _, lab in got] == [lab for _, lab in samples]
    for (a, _), (b, _) in zip(got, samples, strict=True):
        _same(a, b)
    assert shd.read_class_names(tmp_path / "shd_train.h5") == tuple(f"k{i}" for i in range(20))


def test_audio_bad_files(tmp_path):
    with pytest.raises(UserError, match=r"shd_train\.h5 not found.*zenkelab"):
        shd.SHD.files(tmp_path, "train")
    (tmp_path / "shd_train.h5").write_bytes(b"\x1f\x8b" + bytes(100))
    with pytest.raises(UserError, match=r"shd_train\.h5: not an HDF5 file.*gunzip"):
        list(shd.read_audio_file(tmp_path / "shd_train.h5"))
    samples = random_audio(np.random.default_rng(10), 3)
    samples[2][0]["unit"][0] = 700
    write_audio(tmp_path / "u.h5", samples)
    with pytest.raises(UserError, match=r"u\.h5: sample 2 has unit 700; expected 0\.\.699"):
        list(shd.read_audio_file(tmp_path / "u.h5"))


def test_aedat31_known_bytes(tmp_path):
    from .formats import AEDAT31_HEADER

    # one polarity packet (type 1, source 1, size 8, ts offset 4, overflow 1, 1 event)
    head = b"".join(v.to_bytes(w, "little") for v, w in ((1, 2), (1, 2), (8, 4), (4, 4), (1, 4),
                                                        (1, 4), (1, 4), (1, 4)))  # fmt: skip
    data = (100 << 17) | (27 << 2) | (1 << 1) | 1  # x=100, y=27, on, valid
    body = data.to_bytes(4, "little") + (5).to_bytes(4, "little")
    (tmp_path / "k.aedat").write_bytes(AEDAT31_HEADER + head + body)
    assert dvs_gesture.read_aedat31(tmp_path / "k.aedat").tolist() == [(100, 27, (1 << 31) + 5, 1)]


def test_nmnist_out_of_order_timestamps_come_back_sorted(tmp_path):
    ev = random_events(np.random.default_rng(11), 50, (34, 34, 2))
    shuffled = ev[::-1].copy()
    write_nmnist(tmp_path / "s.bin", shuffled)
    got = nmnist.read_nmnist_file(tmp_path / "s.bin")
    _same(got, shuffled[np.argsort(shuffled["t"], kind="stable")])


def test_nmnist_listing_takes_bin_files_only_in_name_order(tmp_path):
    ev = np.zeros(2, EVENT_DTYPE)
    for d in range(10):
        (tmp_path / "Train" / str(d)).mkdir(parents=True)
    folder = tmp_path / "Train" / "3"
    for name in ("b.bin", "a.bin", "10.bin", ".hidden.bin", "notes.txt"):
        write_nmnist(folder / name, ev)
    (folder / "dir.bin").mkdir()
    assert nmnist.nmnist_files(tmp_path, "train") == [
        folder / n for n in ("10.bin", "a.bin", "b.bin")
    ]
    assert [lab for _, lab in nmnist.nmnist_samples(tmp_path, "train")] == [3, 3, 3]
